package host

import (
	"path"
	"strings"
)

// Code signatures: files in the system and application directories of
// Windows and macOS are signed by their vendor; Linux binaries are not
// code-signed.

const (
	microsoftIssuer = "C=US, S=Washington, L=Redmond, O=Microsoft Corporation, CN=Microsoft Windows Production PCA 2011"
	microsoftCodeCA = "C=US, S=Washington, L=Redmond, O=Microsoft Corporation, CN=Microsoft Code Signing PCA 2011"
	digicertCodeCA  = "C=US, O=DigiCert, Inc., CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"
	appleIssuer     = "CN=Apple Code Signing Certification Authority, OU=Apple Certification Authority, O=Apple Inc., C=US"
)

// signer is who signed a file: the subject and issuer of the certificate.
type signer struct{ subject, issuer string }

// signerOf returns the signer of the file at p, or false when the file
// carries no valid signature.
func (m *image) signerOf(p string) (signer, bool) {
	k := m.fileKey(strings.ReplaceAll(p, `\`, "/"))
	switch m.platform {
	case Windows:
		switch {
		case strings.HasPrefix(k, "c:/windows/"):
			return signer{"C=US, S=Washington, L=Redmond, O=Microsoft Corporation, CN=Microsoft Windows", microsoftIssuer}, true
		case strings.HasPrefix(k, "c:/program files/google/"):
			return signer{"C=US, S=California, L=Mountain View, O=Google LLC, CN=Google LLC", digicertCodeCA}, true
		case strings.HasPrefix(k, "c:/program files/"), strings.HasPrefix(k, "c:/program files (x86)/"):
			return signer{"C=US, S=Washington, L=Redmond, O=Microsoft Corporation, CN=Microsoft Corporation", microsoftCodeCA}, true
		}
	case MacOS:
		for _, root := range []string{"/system/", "/usr/", "/bin/", "/sbin/", "/applications/", "/library/"} {
			if strings.HasPrefix(k, root) {
				return signer{"CN=Software Signing, OU=Apple Software, O=Apple Inc., C=US", appleIssuer}, true
			}
		}
	}
	return signer{}, false
}

// signed reports whether the file at p carries a valid code signature.
func (m *image) signed(p string) bool {
	_, ok := m.signerOf(p)
	return ok
}

// isSigned is FILE_IS_SIGNED: 1 or 0.
func (m *image) isSigned(p string) int {
	if m.signed(p) {
		return 1
	}
	return 0
}

// signature is FILE_HASH_REP's SIGNATURE: the file, whether it is signed
// and, when it is, by whom.
func (m *image) signature(p string) map[string]any {
	sig := map[string]any{"FILE_PATH": p, "FILE_IS_SIGNED": m.isSigned(p)}
	if s, ok := m.signerOf(p); ok {
		sig["CERT_SUBJECT"] = s.subject
		sig["CERT_ISSUER"] = s.issuer
		sig["FILE_CERT_IS_VERIFIED_LOCAL"] = 1
	}
	return sig
}

// attributes is a file's ATTRIBUTES: on Windows, FILE_ATTRIBUTE_ARCHIVE
// (32) for the files users wrote and 0 for the system's; 0 elsewhere.
func (m *image) attributes(p string) int {
	if m.platform == Windows && !m.signed(p) {
		return 32
	}
	return 0
}

// streams is a Windows file's STREAMS: its data, and the
// Zone.Identifier a browser adds to what it downloads. Other platforms
// report none.
func (m *image) streams(p string) []map[string]any {
	if m.platform != Windows {
		return nil
	}
	out := []map[string]any{{"FILE_NAME": "::$DATA", "SIZE": len(m.fileContent(p))}}
	dir := path.Dir(m.fileKey(strings.ReplaceAll(p, `\`, "/")))
	if path.Base(dir) == "downloads" {
		out = append(out, map[string]any{"FILE_NAME": ":Zone.Identifier:$DATA", "SIZE": 26})
	}
	return out
}

// samePath reports whether two paths name the same file on the host.
func (m *image) samePath(a, b string) bool {
	return m.fileKey(strings.ReplaceAll(a, `\`, "/")) == m.fileKey(strings.ReplaceAll(b, `\`, "/"))
}

// baseName returns the last element of p.
func baseName(p string) string {
	return p[strings.LastIndexAny(p, `\/`)+1:]
}

// expandWindows resolves the %SystemRoot% and %windir% a registry value
// may start with.
func expandWindows(p string) string {
	for _, v := range []string{"%SystemRoot%", "%systemroot%", "%windir%"} {
		if rest, ok := strings.CutPrefix(p, v); ok {
			return `C:\Windows` + rest
		}
	}
	return p
}
