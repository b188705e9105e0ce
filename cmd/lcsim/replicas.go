package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lcsvc/lcservice/lctest"
)

// serviceFlag is the -service flag of `lcsim emulate`: the service's
// webhook URL, or the URLs of its replicas separated by commas. A second
// -service is refused rather than replacing the first, so that no replica
// is dropped unnoticed.
type serviceFlag struct{ urls *[]string }

func (f serviceFlag) String() string {
	if f.urls == nil {
		return ""
	}
	return strings.Join(*f.urls, ",")
}

func (f serviceFlag) Set(v string) error {
	if len(*f.urls) > 0 {
		return errors.New("-service given twice: list every replica's URL in one -service, separated by commas")
	}
	if v == "" {
		return nil
	}
	for _, u := range strings.Split(v, ",") {
		*f.urls = append(*f.urls, strings.TrimSpace(u))
	}
	return nil
}

// checkServiceURLs reports the first URL of -service that is not an
// http(s) URL, or that is listed twice.
func checkServiceURLs(urls []string) error {
	if len(urls) == 1 {
		if !isHTTPURL(urls[0]) {
			return fmt.Errorf("-service %q: give the service's http(s) URL, e.g. http://127.0.0.1:8080/", urls[0])
		}
		return nil
	}
	seen := map[string]bool{}
	for i, u := range urls {
		switch {
		case u == "":
			return fmt.Errorf("-service: URL %d of %d is empty: give each replica's http(s) URL, separated by commas", i+1, len(urls))
		case !isHTTPURL(u):
			return fmt.Errorf("-service: %q (replica %d) is not an http(s) URL: give each replica's URL, separated by commas, e.g. http://127.0.0.1:8080/,http://127.0.0.1:8081/", u, i+1)
		case seen[u]:
			return fmt.Errorf("-service lists %q twice: give each replica's URL once", u)
		}
		seen[u] = true
	}
	return nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// balanceFlag is the -balance flag: roundrobin (the default) or random.
type balanceFlag struct{ b *lctest.Balance }

func (f balanceFlag) String() string {
	if f.b != nil && *f.b == lctest.Random {
		return "random"
	}
	return "roundrobin"
}

func (f balanceFlag) Set(v string) error {
	switch v {
	case "roundrobin", "round-robin":
		*f.b = lctest.RoundRobin
	case "random":
		*f.b = lctest.Random
	default:
		return fmt.Errorf("%q: use roundrobin or random", v)
	}
	return nil
}

// replicaName names replica i (from 0) as emulate prints it: r1 for the
// first URL of -service; "no replica" when every replica was stopped (-1).
func replicaName(i int) string {
	if i < 0 {
		return "no replica"
	}
	return "r" + strconv.Itoa(i+1)
}

// replicaList is "r1 URL1, r2 URL2".
func replicaList(urls []string) string {
	parts := make([]string, len(urls))
	for i, u := range urls {
		parts[i] = replicaName(i) + " " + u
	}
	return strings.Join(parts, ", ")
}

// maxReplicaAnswer bounds the body of a replica's answer that is passed
// on: the cloud reads no more of it.
const maxReplicaAnswer = 32 << 20

// replicaProxy is one replica of a service as the emulated cloud's load
// balancer sees it: an in-process handler that forwards each webhook to
// the replica's URL — the body and headers as sent, the signature and
// Content-Encoding among them — and answers with the replica's status,
// headers and body. When the replica cannot be reached it answers
// 502 Bad Gateway, as a load balancer does, so the delivery fails.
type replicaProxy struct {
	n      int // the replica's number, from 1, for messages
	url    string
	client *http.Client
}

func (p *replicaProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		p.fail(w, fmt.Errorf("reading the webhook: %w", err))
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.url, bytes.NewReader(body))
	if err != nil {
		p.fail(w, err)
		return
	}
	req.Header = r.Header.Clone()
	res, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		p.fail(w, err)
		return
	}
	defer res.Body.Close()
	// Read the whole answer before passing on the status: a replica that
	// breaks off mid-answer is a failed delivery, not a 200 with half a body.
	answer, err := io.ReadAll(io.LimitReader(res.Body, maxReplicaAnswer))
	if err != nil {
		p.fail(w, fmt.Errorf("reading its answer: %w", err))
		return
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(res.StatusCode)
	w.Write(answer)
}

// fail answers as a load balancer whose backend did not answer.
func (p *replicaProxy) fail(w http.ResponseWriter, err error) {
	http.Error(w, fmt.Sprintf("the load balancer got no answer from replica %d at %s: %v", p.n, p.url, err), http.StatusBadGateway)
}
