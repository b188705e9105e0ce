package token

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
)

// Token is what a task carries in its investigation_id so the service can
// route the sensor's answers: who is waiting (ID), who may handle the
// answer without that memory (Handler), the job the task belongs to, a
// little state, and until when the answer is wanted.
type Token struct {
	ID      uuid.UUID // the task ID; set it with uuid.New()
	Handler string    // optional named handler: 1-64 bytes of [A-Za-z0-9_.-]
	JobID   string    // optional job ID, a UUID (decoded in canonical form)
	State   []byte    // optional, at most MaxStateLen bytes (empty decodes as nil)
	Expiry  time.Time // required; kept to the second (decoded in UTC)
}

// MaxStateLen bounds Token.State so an investigation_id stays compact.
const MaxStateLen = 256

// MaxHandlerLen bounds Token.Handler.
const MaxHandlerLen = 64

// Errors Decode (and, for ErrStateTooLarge, Encode) return, wrapped with
// details; match them with errors.Is.
var (
	// ErrNotOurs: the investigation_id lacks this service's prefix; it
	// belongs to someone else and is not an error to log loudly.
	ErrNotOurs = errors.New("token: investigation_id is not this service's")
	// ErrMalformed: the token is not one this codec writes.
	ErrMalformed = errors.New("token: malformed correlation token")
	// ErrBadTag: the token was not made by this service with this secret
	// for this organization and sensor (forged, altered, minted by another
	// service or with another secret, or echoed by a sensor or in an
	// organization it was not sent to).
	ErrBadTag = errors.New("token: correlation token failed authentication")
	// ErrExpired: an authentic token whose expiry has passed.
	ErrExpired = errors.New("token: correlation token expired")
	// ErrStateTooLarge: Token.State is longer than MaxStateLen (256 bytes).
	ErrStateTooLarge = errors.New("token: token state larger than MaxStateLen (256 bytes); keep larger data in the service and put a key in State")
)

// Token wire layout, version 2 (all before the tag is authenticated):
//
//	version  1 byte          = 2
//	id       16 bytes        correlation UUID
//	flags    1 byte          bit 0 handler, bit 1 job, bit 2 state; others 0
//	handler  1 byte n + n    if bit 0; 1 ≤ n ≤ 64, bytes in [A-Za-z0-9_.-]
//	job      16 bytes        if bit 1; UUID
//	state    uvarint n + n   if bit 2; 1 ≤ n ≤ MaxStateLen
//	expiry   uvarint         unix seconds
//	tag      16 bytes        HMAC-SHA256(key, prefix ‖ all of the above ‖ binding)[:16]
//
// binding is the organization and sensor the task was sent to, each as a
// uvarint length and the lower-cased id; they are not in the token, since
// the reply's routing carries them. Version 1 tokens carried no binding and
// are refused.
//
// Every length and varint has exactly one encoding and nothing may follow
// the expiry, so a token decodes only if it is byte for byte what Encode
// writes.
const (
	tokenVersion = 2
	tagLen       = 16

	flagHandler = 1 << 0
	flagJob     = 1 << 1
	flagState   = 1 << 2
	knownFlags  = flagHandler | flagJob | flagState

	// minTokenLen: version, id, flags, a one-byte expiry, tag.
	minTokenLen = 1 + 16 + 1 + 1 + tagLen
	// maxTokenLen: every optional field at its largest.
	maxTokenLen = 1 + 16 + 1 + (1 + MaxHandlerLen) + 16 + (binary.MaxVarintLen16 + MaxStateLen) + binary.MaxVarintLen64 + tagLen
)

// appendPayload appends t's layout, without tag, to b after checking t.
func appendPayload(b []byte, t Token) ([]byte, error) {
	if t.ID == uuid.Nil {
		return nil, errors.New("token: Token.ID is the nil UUID: set it with uuid.New()")
	}
	if err := checkHandler(t.Handler); err != nil {
		return nil, err
	}
	var job uuid.UUID
	if t.JobID != "" {
		var err error
		if job, err = uuid.Parse(t.JobID); err != nil {
			return nil, fmt.Errorf("token: Token.JobID %q is not a UUID: %w", t.JobID, err)
		}
	}
	if len(t.State) > MaxStateLen {
		return nil, fmt.Errorf("%w: got %d bytes", ErrStateTooLarge, len(t.State))
	}
	if t.Expiry.IsZero() {
		return nil, errors.New("token: Token.Expiry is not set: give the time after which answers are no longer wanted")
	}
	if t.Expiry.Unix() < 0 {
		return nil, fmt.Errorf("token: Token.Expiry %s is before 1970", t.Expiry)
	}

	var flags byte
	if t.Handler != "" {
		flags |= flagHandler
	}
	if t.JobID != "" {
		flags |= flagJob
	}
	if len(t.State) > 0 {
		flags |= flagState
	}
	b = append(b, tokenVersion)
	b = append(b, t.ID[:]...)
	b = append(b, flags)
	if flags&flagHandler != 0 {
		b = append(b, byte(len(t.Handler)))
		b = append(b, t.Handler...)
	}
	if flags&flagJob != 0 {
		b = append(b, job[:]...)
	}
	if flags&flagState != 0 {
		b = binary.AppendUvarint(b, uint64(len(t.State)))
		b = append(b, t.State...)
	}
	b = binary.AppendUvarint(b, uint64(t.Expiry.Unix()))
	return b, nil
}

// parsePayload reads the layout written by appendPayload; p excludes the
// tag. Errors wrap ErrMalformed.
func parsePayload(p []byte) (Token, error) {
	var t Token
	r := reader{b: p}
	if v := r.byte(); v != tokenVersion {
		return t, fmt.Errorf("%w: version %d, want %d", ErrMalformed, v, tokenVersion)
	}
	copy(t.ID[:], r.next(16))
	flags := r.byte()
	if flags&^knownFlags != 0 {
		return t, fmt.Errorf("%w: unknown flags %#x", ErrMalformed, flags)
	}
	if flags&flagHandler != 0 {
		n := int(r.byte())
		h := string(r.next(n))
		if r.err == nil {
			if err := checkHandler(h); err != nil || h == "" {
				return t, fmt.Errorf("%w: bad handler name", ErrMalformed)
			}
		}
		t.Handler = h
	}
	if flags&flagJob != 0 {
		var job uuid.UUID
		copy(job[:], r.next(16))
		t.JobID = job.String()
	}
	if flags&flagState != 0 {
		n := r.uvarint()
		if r.err == nil && (n == 0 || n > MaxStateLen) {
			return t, fmt.Errorf("%w: state length %d", ErrMalformed, n)
		}
		t.State = append([]byte(nil), r.next(int(n))...)
	}
	exp := r.uvarint()
	if r.err != nil {
		return t, fmt.Errorf("%w: %v", ErrMalformed, r.err)
	}
	if exp > math.MaxInt64 {
		return t, fmt.Errorf("%w: expiry %d out of range", ErrMalformed, exp)
	}
	if len(r.b) != 0 {
		return t, fmt.Errorf("%w: %d unexpected trailing bytes", ErrMalformed, len(r.b))
	}
	t.Expiry = time.Unix(int64(exp), 0).UTC()
	return t, nil
}

func checkHandler(h string) error {
	if len(h) > MaxHandlerLen {
		return fmt.Errorf("token: Token.Handler is %d bytes, more than %d", len(h), MaxHandlerLen)
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("token: Token.Handler %q: use only letters, digits, '_', '.' and '-'", h)
		}
	}
	return nil
}

// reader consumes a byte slice; after the first short read or bad varint
// every read returns zero values and err says what went wrong.
type reader struct {
	b   []byte
	err error
}

func (r *reader) next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errors.New("token too short")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if v := r.next(1); v != nil {
		return v[0]
	}
	return 0
}

// uvarint reads a minimally encoded uvarint.
func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) {
		r.err = errors.New("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}
