package api

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// parseForm returns r's form values: the query plus a form-encoded body.
// Unlike http.Request.ParseForm it reads the body of DELETE requests too,
// where the legacy rules API puts the rule's name and namespace.
func parseForm(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodDelete {
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("the form cannot be parsed: %w", err)
		}
		return r.Form, nil
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("the query cannot be parsed: %w", err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	fromBody, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("the form body cannot be parsed: %w", err)
	}
	for k, vs := range fromBody {
		values[k] = append(vs, values[k]...)
	}
	return values, nil
}

// formBool reads an optional boolean form value.
func formBool(form url.Values, key string, def bool) (bool, error) {
	v := form.Get(key)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not true or false", key, v)
	}
	return b, nil
}

// badRequest answers 400.
func badRequest(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, err.Error())
}
