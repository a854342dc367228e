package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/config"
)

// do sends a request and returns the status and body.
func doReq(t *testing.T, c *http.Client, method, url, ctype string, body []byte, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func search(t *testing.T, c *http.Client, base, query string) directoryPage {
	t.Helper()
	code, body, _ := doReq(t, c, "GET", base+"/api/v1/directory"+query, "", nil)
	var p directoryPage
	if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil {
		t.Fatalf("search %s: %d %v %s", query, code, err, body)
	}
	return p
}

// TestDirectoryAPI: contacts CRUD, CSV import with its failed-row report,
// one search over users and contacts capped by search_max_results, and
// the authorisation failures.
func TestDirectoryAPI(t *testing.T) {
	a := runApp(t, "directory: {search_max_results: 3}\n", nil)
	base := "https://" + a.AdminAddr()
	admin := authClient(a, "127.0.0.1")
	anon := clientFrom("127.0.0.1")

	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/directory"}, {"POST", "/api/v1/directory/contacts"}, {"POST", "/api/v1/directory/contacts/import"},
		{"GET", "/api/v1/directory/contacts/1"}, {"PUT", "/api/v1/directory/contacts/1"}, {"DELETE", "/api/v1/directory/contacts/1"},
	} {
		if code, _, _ := doReq(t, anon, r.method, base+r.path, "", nil); code != http.StatusUnauthorized {
			t.Errorf("%s %s without credentials: %d", r.method, r.path, code)
		}
	}
	// An operator reads the directory but may not change it.
	op := operatorClient(t, a)
	for _, r := range []struct{ method, path string }{
		{"POST", "/api/v1/directory/contacts"}, {"POST", "/api/v1/directory/contacts/import"},
		{"PUT", "/api/v1/directory/contacts/1"}, {"DELETE", "/api/v1/directory/contacts/1"},
	} {
		if code, _, _ := doReq(t, op, r.method, base+r.path, "", nil); code != http.StatusForbidden {
			t.Errorf("%s %s as an operator: %d, want 403", r.method, r.path, code)
		}
	}
	if code, body, _ := doReq(t, op, "GET", base+"/api/v1/directory?q=u1000", "", nil); code != 200 || !strings.Contains(body, "gateway:u1000") {
		t.Errorf("operator search: %d %s", code, body)
	}

	code, body, hdr := doReq(t, admin, "POST", base+"/api/v1/directory/contacts", "application/json",
		[]byte(`{"name":"Zoe Keller","numbers":["+41 44 123 45 67"],"company":"Acme AG","email":"zoe@acme.example"}`))
	var zoe contactView
	if err := json.Unmarshal([]byte(body), &zoe); code != http.StatusCreated || err != nil || zoe.ID == 0 || zoe.Numbers[0] != "+41441234567" {
		t.Fatalf("add: %d %v %s", code, err, body)
	}
	if hdr.Get("Location") == "" {
		t.Error("no Location")
	}
	for _, bad := range []struct {
		body string
		want int
	}{
		{`{"name":"x","numbers":["1"],"role":"admin"}`, 400}, // unknown field
		{`{"name":"x","numbers":"1"}`, 400},                  // wrong type
		{`{"name":"x","numbers":["1"]}{"name":"y"}`, 400},    // two objects
		{`{"name":`, 400},                        // truncated
		{`{"name":"","numbers":["1"]}`, 422},     // empty name
		{`{"name":"x","numbers":["12ab"]}`, 422}, // bad number
		{`{"name":"` + strings.Repeat("x", maxContactBody) + `","numbers":[]}`, 413}, // oversized
	} {
		if code, body, _ := doReq(t, admin, "POST", base+"/api/v1/directory/contacts", "application/json", []byte(bad.body)); code != bad.want ||
			!strings.Contains(body, `"status"`) {
			t.Errorf("POST %.60s: %d %s, want %d problem", bad.body, code, body, bad.want)
		}
	}

	csv := "name,numbers,company\nAdam Frei,201,\nBea Huber,202;0791112233,Huber GmbH\n,300,\nCarl,12a,\nShort\nDora Zulu,203,\n"
	code, body, _ = doReq(t, admin, "POST", base+"/api/v1/directory/contacts/import", "text/csv", []byte(csv))
	var res importResult
	if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil || res.Imported != 3 || len(res.Failed) != 3 ||
		res.Failed[0].Row != 4 || res.Failed[1].Name != "Carl" || res.Failed[2].Row != 6 {
		t.Errorf("import: %d %v %s", code, err, body)
	}
	// Replayed: the same file again adds nothing; a row repeated in a
	// file is imported once.
	code, body, _ = doReq(t, admin, "POST", base+"/api/v1/directory/contacts/import", "text/csv", []byte(csv+"adam frei,201,\nadam frei,201,\n"))
	res = importResult{}
	if err := json.Unmarshal([]byte(body), &res); code != 200 || err != nil || res.Imported != 0 || len(res.Failed) != 8 ||
		!strings.HasPrefix(res.Failed[0].Reason, "already a contact (id ") || res.Failed[7].Reason != "already a contact (id 2)" {
		t.Errorf("replayed import: %d %v %s", code, err, body)
	}
	code, body, hdr = doReq(t, admin, "POST", base+"/api/v1/directory/contacts/import", "text/csv",
		[]byte("name,numbers\n=cmd|' /C calc'!A0,1x\n"), "Accept", "text/csv")
	if code != 200 || hdr.Get("X-Imported") != "0" || body != "row,name,reason\n2,'=cmd|' /C calc'!A0,\"number \"\"1x\"\": want digits, * and # with an optional leading +\"\n" {
		t.Errorf("import report: %d %q %q", code, hdr.Get("X-Imported"), body)
	}
	for _, bad := range []struct {
		name string
		body []byte
		want int
	}{
		{"wrong columns", []byte("username,password\nu1,secret\n"), 400},
		{"binary garbage", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"), 400},
		{"empty", nil, 400},
		{"oversized", bytes.Repeat([]byte("Name Here,12345678\n"), maxContactsImport/19+10), 413},
	} {
		code, body, _ := doReq(t, admin, "POST", base+"/api/v1/directory/contacts/import", "text/csv", bad.body)
		if code != bad.want || !strings.Contains(body, `"status"`) {
			t.Errorf("import %s: %d %.200s, want %d", bad.name, code, body, bad.want)
		}
	}
	if p := search(t, admin, base, "?kind=contact&limit=100"); len(p.Entries) != 3 || !p.Truncated || p.Limit != 3 {
		t.Errorf("search max results not applied: %+v", p)
	}

	// One search over users (u1000 from runApp) and contacts.
	p := search(t, admin, base, "?q=u1000")
	if len(p.Entries) != 1 || p.Entries[0].Kind != "user" || p.Entries[0].Device != "gateway:u1000" {
		t.Errorf("user search: %+v", p)
	}
	p = search(t, admin, base, "?q=huber")
	if len(p.Entries) != 1 || p.Entries[0].Name != "Bea Huber" || len(p.Entries[0].Numbers) != 2 || p.Truncated {
		t.Errorf("contact search: %+v", p)
	}
	p = search(t, admin, base, "?q=44%20123")
	if len(p.Entries) != 1 || p.Entries[0].ContactID != zoe.ID {
		t.Errorf("number search: %+v", p)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?kind=robot", "?q=" + strings.Repeat("a", 200)} {
		if code, _, _ := doReq(t, admin, "GET", base+"/api/v1/directory"+q, "", nil); code != 400 {
			t.Errorf("search %s: %d", q[:min(len(q), 20)], code)
		}
	}

	url := base + "/api/v1/directory/contacts/" + jsonNumber(zoe.ID)
	if code, body, _ := doReq(t, admin, "PUT", url, "application/json", []byte(`{"name":"Zoe K.","numbers":["201"]}`)); code != 200 || !strings.Contains(body, `"Zoe K."`) {
		t.Errorf("PUT: %d %s", code, body)
	}
	if code, body, _ := doReq(t, admin, "GET", url, "", nil); code != 200 || !strings.Contains(body, `"201"`) || strings.Contains(body, "Acme") {
		t.Errorf("GET after PUT: %d %s", code, body)
	}
	if code, _, _ := doReq(t, admin, "DELETE", url, "", nil); code != 204 {
		t.Errorf("DELETE: %d", code)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if code, _, _ := doReq(t, admin, m, url, "", nil); code != 404 {
			t.Errorf("%s deleted: %d", m, code)
		}
	}
	if code, _, _ := doReq(t, admin, "PUT", url, "application/json", []byte(`{"name":"x","numbers":["1"]}`)); code != 404 {
		t.Errorf("PUT deleted: %d", code)
	}
	if code, _, _ := doReq(t, admin, "GET", base+"/api/v1/directory/contacts/-1", "", nil); code != 400 {
		t.Errorf("GET -1: %d", code)
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestPBXDevices: the configured monitors of each CTI driver are
// directory devices, named source:device.
func TestPBXDevices(t *testing.T) {
	a := &App{cfg: config.Default()}
	a.cfg.CTI.Drivers = []config.CTIDriver{{Name: "mitel1", Monitor: []string{"201", "202", "201"}}, {Name: "avaya", Monitor: []string{"3001"}}}
	ds := a.pbxDevices()
	var got []string
	for _, d := range ds {
		got = append(got, d.Device)
	}
	if strings.Join(got, ",") != "mitel1:201,mitel1:202,avaya:3001" || ds[0].Kind != "device" || ds[0].Source != "mitel1" {
		t.Errorf("devices %v", got)
	}
}

// operatorClient creates the operator account "olga" (as the admin) and
// returns a client sending its Basic credentials.
func operatorClient(t *testing.T, a *App) *http.Client {
	t.Helper()
	body := `{"name":"olga","role":"operator","password":"olga-password"}`
	code, got, _ := doReq(t, authClient(a, "127.0.0.1"), "POST", "https://"+a.AdminAddr()+"/api/v1/accounts", "application/json", []byte(body))
	if code != http.StatusCreated {
		t.Fatalf("create operator: %d %s", code, got)
	}
	c := clientFrom("127.0.0.1")
	c.Transport = basicAuth{user: "olga", pass: "olga-password", next: c.Transport}
	return c
}
