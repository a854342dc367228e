package sdp

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"sync"

	"github.com/pion/sdp/v3"
)

// Origin is the o= line the B2BUA writes on one leg. RFC 3264 §8 wants the
// same session id for the life of the session and a version that grows by
// one exactly when the description changes; Origin does that across the
// Rewrite calls of one leg. Keep one per SIP dialog.
type Origin struct {
	// Username is the o= username. Default: "switchboard".
	Username string
	// SessionID is the o= sess-id. NewOrigin picks a random one.
	SessionID uint64

	mu      sync.Mutex
	version uint64
	last    []byte // the previous description, with version 0
}

// NewOrigin returns an Origin with a random 62-bit session id (RFC 4566 §5.2
// only asks for uniqueness).
func NewOrigin() *Origin {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := binary.BigEndian.Uint64(b[:]) >> 2
	return &Origin{SessionID: id, version: id}
}

// apply sets sd's o= line: username, session id, address and version.
func (o *Origin) apply(sd *sdp.SessionDescription, addrType, addr string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	user := o.Username
	if user == "" {
		user = "switchboard"
	}
	sd.Origin = sdp.Origin{
		Username:       user,
		SessionID:      o.SessionID,
		NetworkType:    "IN",
		AddressType:    addrType,
		UnicastAddress: addr,
	}
	body, err := sd.Marshal()
	if err != nil {
		return err
	}
	if o.last != nil && !bytes.Equal(body, o.last) {
		o.version++
	}
	o.last = body
	sd.Origin.SessionVersion = o.version
	return nil
}
