package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// The legacy rules API keeps every namespace under /v1/rules/{oid} and
// names the rule in the form — for DELETE, in the form body.

type legacyRecord struct {
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Detect    json.RawMessage `json:"detect"`
	Respond   json.RawMessage `json:"respond"`
	IsEnabled bool            `json:"is_enabled"`
}

// legacyList is GET /v1/rules/{oid}?namespace=.
func (s *server) legacyList(w http.ResponseWriter, r *http.Request) {
	ns := r.URL.Query().Get("namespace")
	if ns == "" {
		ns = dr.DefaultNamespace
	}
	out := map[string]legacyRecord{}
	for _, rule := range s.b.Rules(callerOrg(r)).List(ns) {
		out[rule.Name] = legacyRecord{
			Name: rule.Name, Namespace: rule.Namespace,
			Detect: nullIfEmpty(rule.Detect), Respond: nullIfEmpty(rule.Respond),
			IsEnabled: rule.Enabled,
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// legacyPut is POST /v1/rules/{oid}: name, namespace, detection,
// response, is_replace, is_enabled.
func (s *server) legacyPut(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	ns, name, err := legacyRuleKey(form)
	if err != nil {
		badRequest(w, err)
		return
	}
	detect, err := jsonFormValue(form.Get("detection"), "detection")
	if err != nil {
		badRequest(w, err)
		return
	}
	respond, err := jsonFormValue(form.Get("response"), "response")
	if err != nil {
		badRequest(w, err)
		return
	}
	replace, err := formBool(form, "is_replace", false)
	if err != nil {
		badRequest(w, err)
		return
	}
	// Before is_enabled existed every rule ran: absent means enabled.
	enabled, err := formBool(form, "is_enabled", true)
	if err != nil {
		badRequest(w, err)
		return
	}
	rules := s.b.Rules(callerOrg(r))
	if _, exists := rules.Get(ns, name); exists && !replace {
		writeError(w, http.StatusConflict, fmt.Sprintf("rule %s/%s already exists: send is_replace=true to replace it", ns, name))
		return
	}
	rules.Put(dr.Rule{Namespace: ns, Name: name, Detect: detect, Respond: respond, Enabled: enabled, Author: Author})
	writeOK(w)
}

// legacyDelete is DELETE /v1/rules/{oid} with name and namespace in the
// form body.
func (s *server) legacyDelete(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	ns, name, err := legacyRuleKey(form)
	if err != nil {
		badRequest(w, fmt.Errorf("%w (in the form-encoded body)", err))
		return
	}
	if !s.b.Rules(callerOrg(r)).Delete(ns, name) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no rule %s/%s", ns, name))
		return
	}
	writeOK(w)
}

// legacyRuleKey reads the namespace (DefaultNamespace when absent) and the
// required name of a legacy rule call.
func legacyRuleKey(form url.Values) (ns, name string, err error) {
	name, ns = form.Get("name"), form.Get("namespace")
	if name == "" {
		return "", "", errors.New("missing form value name")
	}
	if ns == "" {
		ns = dr.DefaultNamespace
	}
	return ns, name, nil
}

// jsonFormValue checks that a required form value holds JSON.
func jsonFormValue(v, key string) (json.RawMessage, error) {
	if v == "" {
		return nil, fmt.Errorf("missing form value %s (JSON)", key)
	}
	if !json.Valid([]byte(v)) {
		return nil, fmt.Errorf("%s is not valid JSON", key)
	}
	return json.RawMessage(v), nil
}
