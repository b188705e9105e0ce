package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lcsvc/lcservice/service"
)

// Waits for a service to answer health: between attempts, and for one
// attempt (a service that accepts the connection but never answers).
const (
	healthRetryEvery = 500 * time.Millisecond
	healthAttempt    = 10 * time.Second
)

// statusError is an answer other than HTTP 200.
type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("HTTP %d (%s)", e.code, http.StatusText(e.code))
	if e.body != "" {
		msg += ": " + e.body
	}
	return msg
}

// refusedSignature reports whether err is the service refusing the
// webhook's signature.
func refusedSignature(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == http.StatusUnauthorized
}

// postHealth posts one health webhook to serviceURL, signed with secret,
// as the cloud does when a service is registered. It returns nil when the
// service answers HTTP 200, a *statusError for another status, or what
// kept the webhook from being answered.
func postHealth(ctx context.Context, serviceURL, secret string) error {
	body, err := newEnvelope("health", "", "", nil)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, serviceURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(service.SignatureHeader, service.Sign([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err // the URL is in every message already
		}
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return &statusError{code: resp.StatusCode, body: strings.TrimSpace(string(out))}
	}
	return nil
}

// waitHealth posts signed health webhooks to serviceURL until one is
// answered with HTTP 200, for at most limit. It gives up at once when the
// service refuses the signature: trying again cannot help. notYet is told
// each failure while it waits. The error says what to check.
func waitHealth(ctx context.Context, serviceURL, secret string, limit time.Duration, notYet func(error)) error {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	retry := time.NewTicker(healthRetryEvery)
	defer retry.Stop()
	for {
		actx, acancel := context.WithTimeout(wctx, healthAttempt)
		err := postHealth(actx, serviceURL, secret)
		acancel()
		switch {
		case err == nil:
			return nil
		case refusedSignature(err):
			return fmt.Errorf("the service at %s refused the signature (HTTP 401): check that LC_SHARED_SECRET (or -secret) is the secret the service was started with", serviceURL)
		case ctx.Err() != nil:
			return ctx.Err()
		case wctx.Err() != nil:
			return healthTimeout(serviceURL, limit, err)
		}
		notYet(err)
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return healthTimeout(serviceURL, limit, err)
		case <-retry.C:
		}
	}
}

// healthTimeout explains why no health answer came within limit, last
// being the last attempt's failure.
func healthTimeout(serviceURL string, limit time.Duration, last error) error {
	var se *statusError
	if errors.As(last, &se) {
		return fmt.Errorf("the service at %s did not answer health with HTTP 200 within %s (last answer: %v): is -service the service's webhook URL?", serviceURL, limit, last)
	}
	return fmt.Errorf("no answer from %s within %s: is the service running? (last error: %v)", serviceURL, limit, last)
}
