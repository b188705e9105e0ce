package service

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

type resource struct {
	category string
	hash     string // sha256 hex of the content
	data     string // base64 of the content
}

// PublishResource makes content available to organizations as
// lcr://service/<service>/<name>, answered on get_resource. An empty name
// or category panics.
func (s *Service) PublishResource(name, category string, content []byte) {
	if name == "" || category == "" {
		panic(fmt.Sprintf("service: PublishResource: a resource needs a name and a category (got %q, %q)", name, category))
	}
	sum := sha256.Sum256(content)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resources[name] = resource{category: category, hash: hex.EncodeToString(sum[:]), data: base64.StdEncoding.EncodeToString(content)}
}

// ResourceURI returns the lcr:// reference of a published resource.
func (s *Service) ResourceURI(name string) string {
	return "lcr://service/" + s.name + "/" + name
}

type resourceWire struct {
	Hash     string `json:"hash"`
	Category string `json:"res_cat"`
	Data     string `json:"res_data,omitempty"`
}

// handleGetResource answers get_resource for one name or a list of names.
func (s *Service) handleGetResource(_ context.Context, req *Request) Response {
	var q struct {
		Resource    json.RawMessage `json:"resource"`
		IncludeData bool            `json:"is_include_data"`
	}
	if err := req.Decode(&q); err != nil || len(q.Resource) == 0 {
		return Failf("missing parameter resource")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	lookup := func(name string) (resourceWire, error) {
		r, ok := s.resources[name]
		if !ok {
			return resourceWire{}, fmt.Errorf("resource %q not found", name)
		}
		w := resourceWire{Hash: r.hash, Category: r.category}
		if q.IncludeData {
			w.Data = r.data
		}
		return w, nil
	}
	var one string
	if json.Unmarshal(q.Resource, &one) == nil {
		w, err := lookup(one)
		if err != nil {
			return Fail(err)
		}
		return OK(w)
	}
	var many []string
	if err := json.Unmarshal(q.Resource, &many); err != nil {
		return Failf("invalid parameter resource: expected a name or a list of names")
	}
	out := make(map[string]resourceWire, len(many))
	for _, name := range many {
		w, err := lookup(name)
		if err != nil {
			return Fail(err)
		}
		out[name] = w
	}
	return OK(map[string]any{"resources": out})
}
