package srtpmux

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzKeyLog: a key log line written as pion/dtls writes it (NSS's
// format) is read back exactly, whatever junk lines surround it in the
// same write; junk alone never sets a secret.
func FuzzKeyLog(f *testing.F) {
	f.Add(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 48), []byte("CLIENT_RANDOM zz 00\n"), []byte(""))
	f.Add([]byte{}, []byte{}, []byte("CLIENT_RANDOM 00 00 00\nSERVER_HANDSHAKE_TRAFFIC_SECRET a b\n"), []byte("\n\n"))
	f.Fuzz(func(t *testing.T, cr, ms, before, after []byte) {
		var k Keys
		if _, err := k.Write(append(append([]byte(nil), before...), after...)); err != nil {
			t.Fatal(err)
		}
		junkSet := k.Captured()
		if junkSet && (len(k.clientRandom) != 32 || len(k.master) != 48) {
			t.Fatalf("junk set a secret of the wrong size: %x %x", k.clientRandom, k.master)
		}
		if len(cr) != 32 || len(ms) != 48 {
			return
		}
		var k2 Keys
		line := fmt.Sprintf("CLIENT_RANDOM %x %x\n", cr, ms)
		w := append(append(append(append([]byte(nil), before...), '\n'), line...), noClientRandom(after)...)
		if _, err := k2.Write(w); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k2.clientRandom, cr) || !bytes.Equal(k2.master, ms) {
			t.Fatalf("read %x %x from %q", k2.clientRandom, k2.master, w)
		}
	})
}

// noClientRandom removes every "CLIENT_RANDOM" from b, including those a
// single pass would leave by joining the text around one it removed
// ("CLIENT_CLIENT_RANDOMRANDOM").
func noClientRandom(b []byte) []byte {
	for bytes.Contains(b, []byte("CLIENT_RANDOM")) {
		b = bytes.ReplaceAll(b, []byte("CLIENT_RANDOM"), nil)
	}
	return b
}
