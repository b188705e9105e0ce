package host

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
)

// seeded returns a random source determined by parts, so that a sensor's
// built-in answers are the same on every run for the same hostname.
func seeded(parts ...string) *rand.Rand {
	h := sha256.New()
	for _, p := range parts {
		// The length prefix keeps ("ab","c") apart from ("a","bc").
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])))
}

// pick returns one element of list chosen by r.
func pick[T any](r *rand.Rand, list []T) T {
	return list[r.IntN(len(list))]
}
