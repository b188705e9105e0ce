package extension

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// bodyError is a body refused before verification, with the status to answer.
type bodyError struct {
	status int
	msg    string
}

func (e *bodyError) Error() string { return e.msg }

// readBody reads the webhook body: at most maxBody bytes on the wire, and,
// when gzip-compressed (Content-Encoding: gzip, or the gzip magic number), at
// most maxPlain bytes once decompressed. Decompression streams through the
// limit, so a small body that inflates to gigabytes costs maxPlain bytes and
// the time to inflate them, never more.
func readBody(w http.ResponseWriter, r *http.Request, maxBody, maxPlain int64) ([]byte, error) {
	in := io.Reader(http.MaxBytesReader(w, r.Body, maxBody))
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity", "gzip", "x-gzip":
	default:
		return nil, &bodyError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %q is not supported: send JSON, plain or gzip-compressed", enc)}
	}
	br := newPeekReader(in)
	compressed := enc == "gzip" || enc == "x-gzip" || br.startsWith(0x1f, 0x8b)
	if !compressed {
		body, err := io.ReadAll(io.LimitReader(br, maxPlain+1))
		if err != nil {
			return nil, readError(err)
		}
		if int64(len(body)) > maxPlain {
			return nil, &bodyError{http.StatusRequestEntityTooLarge, "request body over the limit"}
		}
		return body, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, readError(err)
	}
	defer zr.Close()
	body, err := io.ReadAll(io.LimitReader(zr, maxPlain+1))
	if err != nil {
		return nil, readError(err)
	}
	if int64(len(body)) > maxPlain {
		return nil, &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("decompressed body over the limit of %d bytes", maxPlain)}
	}
	return body, nil
}

func readError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &bodyError{http.StatusRequestEntityTooLarge, "request body over the limit"}
	}
	return &bodyError{http.StatusBadRequest, "reading the request body failed: " + err.Error()}
}

// peekReader lets readBody look at the first bytes without consuming them.
type peekReader struct {
	r    io.Reader
	head []byte
	err  error
}

func newPeekReader(r io.Reader) *peekReader {
	p := &peekReader{r: r}
	buf := make([]byte, 2)
	n, err := io.ReadFull(r, buf)
	p.head = buf[:n]
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		p.err = err
	}
	return p
}

func (p *peekReader) startsWith(b ...byte) bool { return bytes.HasPrefix(p.head, b) }

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	return p.r.Read(b)
}
