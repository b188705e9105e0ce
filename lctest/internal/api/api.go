package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// maxRequestBody bounds an API request body; rules are the largest.
const maxRequestBody = 8 << 20

// Backend is what the API serves. Its methods are called concurrently.
type Backend interface {
	// OrgByJWT returns the organization whose bearer token jwt is.
	OrgByJWT(jwt string) (oid string, ok bool)
	// Task queues a task call's command lines for a sensor. An *Error
	// refuses the call with its status; nil answers 200.
	Task(TaskCall) error
	// Rules returns the rule store of organization oid.
	Rules(oid string) RuleStore
	// Faulted reports a call the fault hook answered, delayed or dropped.
	Faulted(Faulted)
}

// RuleStore is an organization's D&R rules, as the rule APIs see them.
type RuleStore interface {
	Put(dr.Rule) dr.Rule
	Delete(namespace, name string) bool
	Get(namespace, name string) (dr.Rule, bool)
	List(namespace string) []dr.Rule
}

// TaskCall is one accepted call of POST /v1/{sid}.
type TaskCall struct {
	OID, SID        string
	Lines           []string // the tasks form values, in order, none empty
	InvestigationID string   // empty when the call had none
	IdempotencyKey  string   // the x-idempotent-key header, if any
}

// Error is a refusal the API answers with Status and {"error": Message}.
type Error struct {
	Status  int
	Message string
}

// Error says the status and the message.
func (e *Error) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message) }

// IdempotencyHeader is the request header that makes a task call
// idempotent.
const IdempotencyHeader = "X-Idempotent-Key"

// New returns the API serving b, failing calls as faults says.
func New(b Backend, faults *Faults) http.Handler {
	s := &server{b: b, faults: faults}
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no API endpoint at %s %s", req.Method, req.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s", req.Method, req.URL.Path))
	})

	r.HandleFunc("/v1/hive/{hive}/{oid}", s.orgScoped(CallRuleList, s.hiveList)).Methods(http.MethodGet)
	r.HandleFunc("/v1/hive/{hive}/{oid}/{name}/data", s.orgScoped(CallRulePut, s.hivePut)).Methods(http.MethodPost)
	r.HandleFunc("/v1/hive/{hive}/{oid}/{name}/data", s.orgScoped(CallRuleGet, s.hiveGet)).Methods(http.MethodGet)
	r.HandleFunc("/v1/hive/{hive}/{oid}/{name}", s.orgScoped(CallRuleDelete, s.hiveDelete)).Methods(http.MethodDelete)

	r.HandleFunc("/v1/rules/{oid}", s.orgScoped(CallRuleList, s.legacyList)).Methods(http.MethodGet)
	r.HandleFunc("/v1/rules/{oid}", s.orgScoped(CallRulePut, s.legacyPut)).Methods(http.MethodPost)
	r.HandleFunc("/v1/rules/{oid}", s.orgScoped(CallRuleDelete, s.legacyDelete)).Methods(http.MethodDelete)

	r.HandleFunc("/v1/{sid}", s.authenticated(CallTask, s.task)).Methods(http.MethodPost)

	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Body = http.MaxBytesReader(w, req.Body, maxRequestBody)
		r.ServeHTTP(w, req)
	})
}

// server is the API's handlers and what they serve.
type server struct {
	b      Backend
	faults *Faults
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers status with the API's error body {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeOK answers 200 with an empty JSON object.
func writeOK(w http.ResponseWriter) { writeJSON(w, http.StatusOK, struct{}{}) }

// Author is who the rule APIs record as having stored a rule (the Hive's
// created_by and last_author, the detections' author): callers are known
// only by their organization's JWT.
const Author = "lctest"
