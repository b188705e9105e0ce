package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lcsvc/lcservice/lctest"
	"github.com/lcsvc/lcservice/service"
)

// etypeAliases keeps the short action names of the reference simulator.
var etypeAliases = map[string]string{"install": "org_install", "uninstall": "org_uninstall"}

// sendConfig is what `lcsim send` needs to build one webhook.
type sendConfig struct {
	url, etype     string
	oid, jwt       string
	secret         string
	insecure       bool
	data, dataFile string
	timeout        time.Duration
	protocol       lctest.Protocol
	action         string // an extension request's action
}

func runSend(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c sendConfig
	fs.StringVar(&c.oid, "oid", "", "organization id (default $LC_OID)")
	fs.StringVar(&c.jwt, "jwt", "", "organization JWT sent in the envelope (default $LC_JWT)")
	fs.StringVar(&c.secret, "secret", "", "shared secret that signs the body (default $LC_SHARED_SECRET)")
	fs.BoolVar(&c.insecure, "insecure", false, "send without a signature (for services started with WithInsecureNoSecret)")
	fs.StringVar(&c.data, "data", "", "event data as a JSON object")
	fs.StringVar(&c.dataFile, "data-file", "", "read event data from this file ('-' for standard input)")
	fs.DurationVar(&c.timeout, "timeout", 600*time.Second, "how long to wait for the answer")
	fs.Var(protocolFlag{&c.protocol}, "protocol", "webhook protocol: service or extension")
	fs.StringVar(&c.action, "action", "request", "with -protocol extension, the action of a request")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: lcsim send [flags] URL ETYPE

Signs one webhook event as the LimaCharlie cloud does and prints the answer.
ETYPE is any event type (install and uninstall stand for org_install and
org_uninstall). Events about an organization need its id and JWT (-oid and
-jwt, or LC_OID and LC_JWT); health and once_per_* carry neither. Exits
non-zero on a transport failure or success=false.

With -protocol extension, ETYPE is heartbeat, schema_request, request (with
-action and -data), error_report, or an event: subscribe, unsubscribe or
update (install and uninstall stand for subscribe and unsubscribe). The
message is signed in lc-ext-sig and sent uncompressed; exits non-zero
unless the answer is HTTP 200.

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if err := flagsFromEnv(fs, map[string]string{"oid": "LC_OID", "jwt": "LC_JWT", "secret": "LC_SHARED_SECRET"}); err != nil {
		fmt.Fprintln(stderr, "lcsim send:", err)
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	c.url, c.etype = fs.Arg(0), fs.Arg(1)
	if c.protocol == lctest.Extension {
		return c.sendExtension(ctx, stdin, stdout, stderr)
	}
	if alias, ok := etypeAliases[c.etype]; ok {
		c.etype = alias
	}
	body, err := c.envelope(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "lcsim send:", err)
		return 2
	}
	out, err := c.post(ctx, body)
	if err != nil {
		fmt.Fprintln(stderr, "lcsim send:", err)
		return 1
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Write(out)
	}
	fmt.Fprintln(stdout, pretty.String())
	var res struct {
		Success bool `json:"success"`
	}
	if json.Unmarshal(out, &res) != nil || !res.Success {
		return 1
	}
	return 0
}

// extensionAliases maps send's short names to extension events.
var extensionAliases = map[string]string{"install": "subscribe", "uninstall": "unsubscribe"}

// sendExtension is send for -protocol extension.
func (c *sendConfig) sendExtension(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	if alias, ok := extensionAliases[c.etype]; ok {
		c.etype = alias
	}
	body, err := c.extensionMessage(stdin)
	if err != nil {
		fmt.Fprintln(stderr, "lcsim send:", err)
		return 2
	}
	status, out, err := c.postWith(ctx, body, lctest.ExtensionSignatureHeader)
	if err != nil {
		fmt.Fprintln(stderr, "lcsim send:", err)
		return 1
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Write(out)
	}
	fmt.Fprintln(stdout, pretty.String())
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "lcsim send: HTTP %d (%s)\n", status, http.StatusText(status))
		return 1
	}
	return 0
}

// extensionMessage builds an extension message: version, a fresh
// idempotency_key and one kind of content.
func (c *sendConfig) extensionMessage(stdin io.Reader) ([]byte, error) {
	if c.secret == "" && !c.insecure {
		return nil, errors.New("no secret to sign with: pass -secret or export LC_SHARED_SECRET (the secret the service was started with), or -insecure for a service that skips verification")
	}
	data, err := c.readData(stdin)
	if err != nil {
		return nil, err
	}
	org := func() (map[string]string, error) {
		if c.oid == "" || c.jwt == "" {
			return nil, fmt.Errorf("%s carries an organization and its JWT: pass -oid and -jwt or export LC_OID and LC_JWT (lcsim emulate prints them)", c.etype)
		}
		return map[string]string{"oid": c.oid, "jwt": c.jwt, "ident": "lcsim"}, nil
	}
	var kind string
	var content any
	switch c.etype {
	case "heartbeat", "schema_request":
		kind, content = c.etype, map[string]any{}
	case "error_report":
		kind, content = c.etype, data
	case "request":
		o, err := org()
		if err != nil {
			return nil, err
		}
		kind, content = "request", map[string]any{"org": o, "action": c.action, "data": data, "config": map[string]any{}}
	case "subscribe", "unsubscribe", "update":
		o, err := org()
		if err != nil {
			return nil, err
		}
		kind, content = "event", map[string]any{"org": o, "event_name": c.etype, "data": data, "config": map[string]any{}}
	default:
		return nil, fmt.Errorf("%q is not an extension message: give heartbeat, schema_request, request, error_report, subscribe, unsubscribe or update", c.etype)
	}
	return json.Marshal(map[string]any{"version": lctest.ExtensionVersion, "idempotency_key": uuid.NewString(), kind: content})
}

// envelope builds the webhook body: version, a fresh mid, a deadline,
// etype and data, plus oid and jwt for the etypes that carry an organization.
func (c *sendConfig) envelope(stdin io.Reader, stderr io.Writer) ([]byte, error) {
	if c.secret == "" && !c.insecure {
		return nil, errors.New("no secret to sign with: pass -secret or export LC_SHARED_SECRET (the secret the service was started with), or -insecure for a service that skips verification")
	}
	if !service.EventType(c.etype).Known() {
		fmt.Fprintf(stderr, "lcsim send: note: %q is not an event type of the protocol; sending it anyway\n", c.etype)
	}
	data, err := c.readData(stdin)
	if err != nil {
		return nil, err
	}
	if service.EventType(c.etype).Global() {
		return newEnvelope(c.etype, "", "", data)
	}
	if c.oid == "" {
		return nil, fmt.Errorf("%s events carry an organization: pass -oid or export LC_OID", c.etype)
	}
	if c.jwt == "" {
		return nil, fmt.Errorf("%s events carry the organization's JWT, which the service calls the API with: pass -jwt or export LC_JWT (lcsim emulate prints one)", c.etype)
	}
	return newEnvelope(c.etype, c.oid, c.jwt, data)
}

// readData reads the event data given by -data or -data-file: a JSON
// object, {} when none is given.
func (c *sendConfig) readData(stdin io.Reader) (map[string]any, error) {
	raw := []byte(c.data)
	switch {
	case c.data != "" && c.dataFile != "":
		return nil, errors.New("give -data or -data-file, not both")
	case c.dataFile == "-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading data from standard input: %w", err)
		}
		raw = b
	case c.dataFile != "":
		b, err := os.ReadFile(c.dataFile)
		if err != nil {
			return nil, fmt.Errorf("reading data: %w", err)
		}
		raw = b
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil || data == nil {
		return nil, fmt.Errorf("event data must be a JSON object: %v", err)
	}
	return data, nil
}

// webhookDeadline is how long the cloud gives a service to answer a
// webhook; the envelope's deadline says so.
const webhookDeadline = 590 * time.Second

// newEnvelope encodes a webhook body: the protocol version, a fresh mid,
// the deadline, etype and data, plus oid and jwt when oid is not empty.
func newEnvelope(etype, oid, jwt string, data map[string]any) ([]byte, error) {
	if data == nil {
		data = map[string]any{}
	}
	env := map[string]any{
		"version":  service.ProtocolVersion,
		"mid":      uuid.NewString(),
		"deadline": time.Now().Add(webhookDeadline).Unix(),
		"etype":    etype,
		"data":     data,
	}
	if oid != "" {
		env["oid"] = oid
		env["jwt"] = jwt
	}
	return json.Marshal(env)
}

// post signs and sends body, explaining refusals.
func (c *sendConfig) post(ctx context.Context, body []byte) ([]byte, error) {
	status, out, err := c.postWith(ctx, body, service.SignatureHeader)
	if err != nil {
		return nil, err
	}
	if status == http.StatusOK {
		return out, nil
	}
	return nil, fmt.Errorf("HTTP %d from %s: %s", status, c.url, strings.TrimSpace(string(out)))
}

// postWith signs body in header and sends it. A refused signature is an
// error; any other answer is returned with its status.
func (c *sendConfig) postWith(ctx context.Context, body []byte, header string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("bad URL %q: %w", c.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.secret != "" {
		req.Header.Set(header, service.Sign([]byte(c.secret), body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("posting to %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		hint := "the service refused the signature: the secret given (-secret or LC_SHARED_SECRET) is not the one the service was started with"
		if c.secret == "" {
			hint = "the service verifies signatures: pass the shared secret with -secret or LC_SHARED_SECRET"
		}
		return 0, nil, fmt.Errorf("401 Unauthorized: %s (service said: %s)", hint, strings.TrimSpace(string(out)))
	}
	return resp.StatusCode, out, nil
}
