package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzLoginBody: decodeJSON accepts a login body only when it is one JSON
// object of at most 16 KiB whose keys are account and password (with
// string values); everything else is answered 400 or 413 with a problem
// document.
func FuzzLoginBody(f *testing.F) {
	for _, s := range []string{`{"account":"admin","password":"x"}`, `{"account":"a","password":"b","x":1}`,
		`{"account":1}`, `{} {}`, `[]`, `null`, `{"Account":"a"}`, `{"account":"a"`, `{"password":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/session", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		w := httptest.NewRecorder()
		var lr loginRequest
		if !decodeJSON(w, req, &lr) {
			if w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("refused with %d", w.Code)
			}
			if w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("refusal without a problem document: %q", w.Header().Get("Content-Type"))
			}
			return
		}
		if len(body) > maxJSONBody {
			t.Fatalf("accepted %d bytes", len(body))
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			if string(bytes.TrimSpace(body)) == "null" {
				return
			}
			t.Fatalf("accepted %q, which is not one JSON object: %v", body, err)
		}
		for k, v := range m {
			// encoding/json matches keys case-insensitively; the
			// fields are still only these two.
			switch {
			case equalFold(k, "account"), equalFold(k, "password"):
				var s string
				if string(v) != "null" && json.Unmarshal(v, &s) != nil {
					t.Fatalf("accepted %s=%s, not a string", k, v)
				}
			default:
				t.Fatalf("accepted unknown field %q in %q", k, body)
			}
		}
	})
}

func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }
