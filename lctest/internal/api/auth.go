package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

type orgContextKey struct{}

// callerOrg returns the organization whose JWT authenticated r.
func callerOrg(r *http.Request) string {
	oid, _ := r.Context().Value(orgContextKey{}).(string)
	return oid
}

// bearer returns the token of an "Authorization: bearer <token>" header;
// the scheme is case-insensitive.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticated lets a call through only with the JWT of a known
// organization, which handlers read with callerOrg (otherwise 401), then
// applies the fault hook to it.
func (s *server) authenticated(call Call, next http.HandlerFunc) http.HandlerFunc {
	return s.guard(call, false, next)
}

// orgScoped is authenticated for the calls on one organization: the {oid}
// of the path must be the JWT's organization, else 403.
func (s *server) orgScoped(call Call, next http.HandlerFunc) http.HandlerFunc {
	return s.guard(call, true, next)
}

func (s *server) guard(call Call, scoped bool, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "missing credentials: send Authorization: bearer <jwt>")
			return
		}
		oid, ok := s.b.OrgByJWT(token)
		if !ok {
			writeError(w, http.StatusUnauthorized, "the JWT is not valid (expired or unknown)")
			return
		}
		if path := mux.Vars(r)["oid"]; scoped && path != oid {
			writeError(w, http.StatusForbidden, "the JWT does not grant access to organization "+path)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), orgContextKey{}, oid))
		if s.fault(call, w, r) {
			return
		}
		next(w, r)
	}
}
