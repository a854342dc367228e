package srtpmux

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/srtp/v3"
)

// Keys learns the secrets of one DTLS association so that its SRTP keys
// can be exported outside the DTLS library (RFC 5764 §4.2). pion/webrtc
// keeps its DTLS connection to itself; what it offers is the key log of
// TLS tools (SettingEngine.SetDTLSKeyLogWriter: "CLIENT_RANDOM <client
// random> <master secret>", NSS's format). Keys is that writer. The server
// random, the cipher suite (for the PRF's hash) and the SRTP profile
// (use_srtp, RFC 5764 §4.1.1) are in the ServerHello, sent in the clear,
// which the Mux reads on its way in or out (hello). With the four the
// RFC 5705 exporter is computed here as the DTLS connection computes it.
//
// The zero value is ready; one Keys per DTLS association.
type Keys struct {
	mu           sync.Mutex
	master       []byte
	clientRandom []byte
}

// ErrNoKeys reports an association whose secrets are not all known.
var ErrNoKeys = errors.New("srtpmux: DTLS secrets not known")

// Write takes key log lines (dtls.Config.KeyLogWriter).
func (k *Keys) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) != 3 || string(f[0]) != "CLIENT_RANDOM" {
			continue
		}
		cr, err1 := hex.DecodeString(string(f[1]))
		ms, err2 := hex.DecodeString(string(f[2]))
		if err1 != nil || err2 != nil || len(cr) != 32 || len(ms) != 48 {
			continue
		}
		k.mu.Lock()
		k.clientRandom, k.master = cr, ms
		k.mu.Unlock()
	}
	return len(p), nil
}

// Captured reports whether the master secret is known.
func (k *Keys) Captured() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.master != nil
}

// exporter is the TLS exporter (RFC 5705 §4) of one association, without
// context: PRF(master_secret, label, client_random + server_random) with
// the suite's PRF hash. It satisfies srtp.KeyingMaterialExporter.
type exporter struct {
	master, seed []byte // seed: client random + server random
	h            func() hash.Hash
}

func (x exporter) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if len(context) != 0 {
		return nil, errors.New("srtpmux: exporter context not supported")
	}
	seed := append([]byte(label), x.seed...)
	return prf.PHash(x.master, seed, length, x.h)
}

// hashFor is the PRF hash of a TLS 1.2 cipher suite: SHA-384 for the
// *_SHA384 suites (RFC 5289 §3), SHA-256 for every other (RFC 5246 §5).
func hashFor(suite uint16) func() hash.Hash {
	switch suite {
	case 0xc02c, 0xc030, 0xc024, 0xc028, 0x00a9:
		return sha512.New384
	}
	return sha256.New
}

// contexts derives the SRTP contexts of both directions from the key log
// and the ServerHello h (RFC 5764 §4.2: client key, server key, client
// salt, server salt; each side sends with its own).
func (k *Keys) contexts(h hello, isClient bool) (local, remote *srtp.Context, err error) {
	k.mu.Lock()
	master, cr := k.master, k.clientRandom
	k.mu.Unlock()
	if master == nil || !h.ok {
		return nil, nil, ErrNoKeys
	}
	x := exporter{master: master, seed: append(append([]byte(nil), cr...), h.random[:]...), h: hashFor(h.suite)}
	profile := srtp.ProtectionProfile(h.profile)
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(x, isClient); err != nil {
		return nil, nil, fmt.Errorf("srtpmux: export keys: %w", err)
	}
	local, err = srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, profile)
	if err != nil {
		return nil, nil, fmt.Errorf("srtpmux: local context: %w", err)
	}
	remote, err = srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, profile,
		srtp.SRTPReplayProtection(256), srtp.SRTCPReplayProtection(64)) // SRTCP: the RTCP hook (rtcp.go)
	if err != nil {
		return nil, nil, fmt.Errorf("srtpmux: remote context: %w", err)
	}
	return local, remote, nil
}
