package digest

import (
	"fmt"
	"testing"
)

// benchVerify measures Verify of a correct qop=auth request, each with a new
// nonce count; every 1024 requests a new nonce (so map inserts are
// included). Responses are precomputed outside the timer.
func benchVerify(b *testing.B, alg string) {
	a, _ := newTest(b, func(o *Options) { o.Rand = nil }) // crypto/rand: no repeats
	const batch = 1024
	creds := make([]Credentials, batch)
	refill := func() {
		nonce, opaque := challenge(b, a)
		for i := range creds {
			creds[i] = clientCreds(alg, "alice", users["alice"], nonce, opaque, fmt.Sprintf("%08x", i+1), "auth")
		}
	}
	h, _ := lookup("alice", alg)
	ha1 := func(string, string) (string, bool) { return h, true }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			refill()
			b.StartTimer()
		}
		if err := a.Verify(creds[i%batch], testMethod, ha1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMD5(b *testing.B)    { benchVerify(b, "MD5") }
func BenchmarkVerifySHA256(b *testing.B) { benchVerify(b, "SHA-256") }

// BenchmarkVerifyWrongPassword is the cost of a rejected guess.
func BenchmarkVerifyWrongPassword(b *testing.B) {
	a, _ := newTest(b, nil)
	nonce, opaque := challenge(b, a)
	c := clientCreds("SHA-256", "alice", "guess", nonce, opaque, "00000001", "auth")
	h, _ := lookup("alice", "SHA-256")
	ha1 := func(string, string) (string, bool) { return h, true }
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Verify(c, testMethod, ha1); err != ErrInvalid {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCredentials(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCredentials(benchHeader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChallenges(b *testing.B) {
	a, _ := newTest(b, func(o *Options) { o.Rand = nil })
	b.ReportAllocs()
	for b.Loop() {
		a.Challenges(false)
	}
}
