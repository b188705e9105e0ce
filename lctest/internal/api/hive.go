package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/lcsvc/lcservice/lctest/internal/dr"
)

// The Hive keeps the rules of namespace ns in the hive "dr-<ns>", one
// record per rule: data {detect, respond}, usr_mtd (enabled, expiry, tags,
// comment) and sys_mtd set by the cloud.

type hiveData struct {
	Detect  json.RawMessage `json:"detect"`
	Respond json.RawMessage `json:"respond"`
}

type hiveUserMetadata struct {
	Enabled bool     `json:"enabled"`
	Expiry  int64    `json:"expiry"`
	Tags    []string `json:"tags"`
	Comment string   `json:"comment"`
}

type hiveSystemMetadata struct {
	Etag       string `json:"etag"`
	CreatedAt  int64  `json:"created_at"` // epoch ms
	CreatedBy  string `json:"created_by"`
	LastMod    int64  `json:"last_mod"` // epoch ms
	LastAuthor string `json:"last_author"`
}

type hiveRecord struct {
	Data   hiveData           `json:"data"`
	SysMtd hiveSystemMetadata `json:"sys_mtd"`
	UsrMtd hiveUserMetadata   `json:"usr_mtd"`
}

// hiveNamespace returns the rule namespace of the request's hive, or
// answers 404 for a hive that does not hold D&R rules.
func hiveNamespace(w http.ResponseWriter, r *http.Request) (string, bool) {
	hive := mux.Vars(r)["hive"]
	ns, ok := strings.CutPrefix(hive, "dr-")
	if !ok || ns == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("hive %q is not emulated: only D&R rule hives dr-<namespace> are", hive))
		return "", false
	}
	return ns, true
}

func toHiveRecord(r dr.Rule) hiveRecord {
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	sum := sha256.Sum256(append(append([]byte{}, r.Detect...), r.Respond...))
	return hiveRecord{
		Data: hiveData{Detect: nullIfEmpty(r.Detect), Respond: nullIfEmpty(r.Respond)},
		SysMtd: hiveSystemMetadata{
			Etag:       hex.EncodeToString(sum[:]),
			CreatedAt:  r.Created.UnixMilli(),
			CreatedBy:  r.Author,
			LastMod:    r.Updated.UnixMilli(),
			LastAuthor: r.Author,
		},
		UsrMtd: hiveUserMetadata{Enabled: r.Enabled, Expiry: r.Expiry, Tags: tags, Comment: r.Comment},
	}
}

func nullIfEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// hiveList is GET /v1/hive/dr-{ns}/{oid}.
func (s *server) hiveList(w http.ResponseWriter, r *http.Request) {
	ns, ok := hiveNamespace(w, r)
	if !ok {
		return
	}
	out := map[string]hiveRecord{}
	for _, rule := range s.b.Rules(callerOrg(r)).List(ns) {
		out[rule.Name] = toHiveRecord(rule)
	}
	writeJSON(w, http.StatusOK, out)
}

// hiveGet is GET /v1/hive/dr-{ns}/{oid}/{name}/data.
func (s *server) hiveGet(w http.ResponseWriter, r *http.Request) {
	ns, ok := hiveNamespace(w, r)
	if !ok {
		return
	}
	name := mux.Vars(r)["name"]
	rule, ok := s.b.Rules(callerOrg(r)).Get(ns, name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no record %q in hive dr-%s", name, ns))
		return
	}
	writeJSON(w, http.StatusOK, toHiveRecord(rule))
}

// hivePut is POST /v1/hive/dr-{ns}/{oid}/{name}/data, form data and usr_mtd.
func (s *server) hivePut(w http.ResponseWriter, r *http.Request) {
	ns, ok := hiveNamespace(w, r)
	if !ok {
		return
	}
	form, err := parseForm(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	rawData := form.Get("data")
	if rawData == "" {
		badRequest(w, errors.New(`missing form value data: send data={"detect":…,"respond":…}`))
		return
	}
	var data hiveData
	if err := json.Unmarshal([]byte(rawData), &data); err != nil {
		badRequest(w, fmt.Errorf("data is not a JSON object {detect, respond}: %w", err))
		return
	}
	var mtd hiveUserMetadata // absent: a disabled record
	if raw := form.Get("usr_mtd"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &mtd); err != nil {
			badRequest(w, fmt.Errorf("usr_mtd is not a JSON object {enabled, expiry, tags, comment}: %w", err))
			return
		}
	}
	oid := callerOrg(r)
	name := mux.Vars(r)["name"]
	s.b.Rules(oid).Put(dr.Rule{
		Namespace: ns, Name: name, Detect: data.Detect, Respond: data.Respond,
		Enabled: mtd.Enabled, Expiry: mtd.Expiry, Tags: mtd.Tags, Comment: mtd.Comment, Author: Author,
	})
	writeJSON(w, http.StatusOK, map[string]any{
		"guid": uuid.NewString(),
		"hive": map[string]string{"name": "dr-" + ns, "partition": oid},
		"name": name,
	})
}

// hiveDelete is DELETE /v1/hive/dr-{ns}/{oid}/{name}.
func (s *server) hiveDelete(w http.ResponseWriter, r *http.Request) {
	ns, ok := hiveNamespace(w, r)
	if !ok {
		return
	}
	name := mux.Vars(r)["name"]
	if !s.b.Rules(callerOrg(r)).Delete(ns, name) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no record %q in hive dr-%s", name, ns))
		return
	}
	writeOK(w)
}
