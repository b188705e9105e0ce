// Package api is the emulated cloud's REST API: the task endpoint and the
// two D&R rule APIs (the Hive and the legacy rules API) LimaCharlie
// serves under /v1, behind bearer-JWT authentication, with a fault hook
// that fails, delays or drops chosen calls.
//
// It serves a Backend: the organizations, their sensors and their rule
// stores live elsewhere.
package api
