package lctest

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

type orgContextKey struct{}

// callerOrg returns the organization whose JWT authenticated r.
func callerOrg(r *http.Request) *Org {
	o, _ := r.Context().Value(orgContextKey{}).(*Org)
	return o
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

// authenticated lets r through only with the JWT of a known organization,
// which handlers read with callerOrg; otherwise 401.
func (c *Cloud) authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, "missing credentials: send Authorization: bearer <jwt>")
			return
		}
		org, ok := c.orgForJWT(token)
		if !ok {
			writeError(w, http.StatusUnauthorized, "the JWT is not valid (expired or unknown)")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), orgContextKey{}, org)))
	}
}

// orgScoped is authenticated plus: the {oid} of the path must be the
// JWT's organization, else 403.
func (c *Cloud) orgScoped(next http.HandlerFunc) http.HandlerFunc {
	return c.authenticated(func(w http.ResponseWriter, r *http.Request) {
		if oid := mux.Vars(r)["oid"]; oid != callerOrg(r).OID {
			writeError(w, http.StatusForbidden, "the JWT does not grant access to organization "+oid)
			return
		}
		next(w, r)
	})
}
