package lctest

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
)

// maxRequestBody bounds an API request body; rules are the largest.
const maxRequestBody = 8 << 20

// routes is the REST API: the task endpoint POST /v1/{sid} (form fields
// tasks and investigation_id) and the two D&R rule APIs (Hive and legacy),
// all behind bearer-JWT authentication.
func (c *Cloud) routes() http.Handler {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no API endpoint at %s %s", req.Method, req.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s", req.Method, req.URL.Path))
	})

	r.HandleFunc("/v1/hive/{hive}/{oid}", c.orgScoped(c.hiveList)).Methods(http.MethodGet)
	r.HandleFunc("/v1/hive/{hive}/{oid}/{name}/data", c.orgScoped(c.hivePut)).Methods(http.MethodPost)
	r.HandleFunc("/v1/hive/{hive}/{oid}/{name}/data", c.orgScoped(c.hiveGet)).Methods(http.MethodGet)
	r.HandleFunc("/v1/hive/{hive}/{oid}/{name}", c.orgScoped(c.hiveDelete)).Methods(http.MethodDelete)

	r.HandleFunc("/v1/rules/{oid}", c.orgScoped(c.legacyList)).Methods(http.MethodGet)
	r.HandleFunc("/v1/rules/{oid}", c.orgScoped(c.legacyPut)).Methods(http.MethodPost)
	r.HandleFunc("/v1/rules/{oid}", c.orgScoped(c.legacyDelete)).Methods(http.MethodDelete)

	r.HandleFunc("/v1/{sid}", c.authenticated(c.task)).Methods(http.MethodPost)

	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Body = http.MaxBytesReader(w, req.Body, maxRequestBody)
		r.ServeHTTP(w, req)
	})
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
