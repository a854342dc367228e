package provision

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/provision/settings46xx"
)

func newTestFiles(t *testing.T) (*Files, string) {
	dir := t.TempDir()
	return NewFiles(FilesOptions{DataDir: dir, Input: sampleInput}), dir
}

func get(t *testing.T, f *Files, path, ua string) (int, string) {
	t.Helper()
	mux := http.NewServeMux()
	f.Register(mux)
	req := httptest.NewRequest("GET", path, nil)
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func evalAs(t *testing.T, body, model string) map[string]string {
	t.Helper()
	f, err := settings46xx.Parse([]byte(body))
	if err != nil {
		t.Fatalf("served file does not parse: %v\n%s", err, body)
	}
	s, _ := settings46xx.Eval(f, map[string]string{"MODEL4": model})
	return s
}

// TestSpecialsOverride: a valid 46xxspecials.txt is appended and its
// values win for the models it names; others keep the generated ones.
func TestSpecialsOverride(t *testing.T) {
	f, dir := newTestFiles(t)
	code, body := get(t, f, "/46xxsettings.txt", "")
	if code != 200 || evalAs(t, body, "acw")["SETTINGS_CHECK_INTERVAL"] != "1" {
		t.Fatalf("without specials: %d", code)
	}
	sp := "IF $MODEL4 SEQ acw GOTO WIN\nGOTO END\n# WIN\nSET SETTINGS_CHECK_INTERVAL 7\nSET CONTACT_MATCHING_MIN_DIGITS 8\n# END\nSET SIPDOMAIN other.example\n"
	if err := os.WriteFile(filepath.Join(dir, SpecialsFile), []byte(sp), 0o644); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, f, "/46xxsettings.txt", "")
	acw := evalAs(t, body, "acw")
	if acw["SETTINGS_CHECK_INTERVAL"] != "7" || acw["CONTACT_MATCHING_MIN_DIGITS"] != "8" || acw["SIPDOMAIN"] != "other.example" {
		t.Errorf("acw with specials = %v", acw)
	}
	aci := evalAs(t, body, "aci")
	if aci["SETTINGS_CHECK_INTERVAL"] != "1" || aci["SIPDOMAIN"] != "other.example" {
		t.Errorf("aci with specials = %v", aci)
	}
	st := f.Status()
	if !st.SpecialsPresent || !st.SpecialsApplied || len(st.SpecialsErrors) != 0 {
		t.Errorf("status = %+v", st)
	}
	code, body = get(t, f, "/46xxspecials.txt", "")
	if code != 200 || !strings.Contains(body, "SET SIPDOMAIN other.example") {
		t.Errorf("GET specials = %d %q", code, body)
	}
}

// TestSpecialsGarbage: a broken specials file is reported with its line
// in the status, and the generated file is served alone, whole and valid.
func TestSpecialsGarbage(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want error
		line string
	}{
		{"unknown command", []byte("SET A 1\nSET B 2\nDROP TABLE\n"), settings46xx.ErrUnknownCommand, "line 3"},
		{"binary", []byte("SET A 1\n\x00\x01\x02\xff\xfe garbage"), settings46xx.ErrNotText, "line 2"},
		{"goto nowhere", []byte("GOTO X\n"), settings46xx.ErrUnknownLabel, "line 1"},
		{"our label", []byte("GOTO SB_SPECIALS\n# SB_SPECIALS\n"), settings46xx.ErrDuplicateLabel, "line 2"},
		{"oversized", []byte(strings.Repeat("SET A 1\n", settings46xx.MaxFileBytes/8+1)), settings46xx.ErrTooLarge, "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, dir := newTestFiles(t)
			_, clean := get(t, f, "/46xxsettings.txt", "")
			if err := os.WriteFile(filepath.Join(dir, SpecialsFile), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			code, body := get(t, f, "/46xxsettings.txt", "")
			if code != 200 || body != clean {
				t.Errorf("served %d, and not the generated file alone:\n%s", code, body)
			}
			evalAs(t, body, "acw")
			st := f.Status()
			if !st.SpecialsPresent || st.SpecialsApplied || len(st.SpecialsErrors) == 0 {
				t.Fatalf("status = %+v", st)
			}
			if !strings.HasPrefix(st.SpecialsErrors[0], tc.line) || !strings.Contains(st.SpecialsErrors[0], tc.want.Error()) {
				t.Errorf("status errors %q, want %s %v", st.SpecialsErrors, tc.line, tc.want)
			}
			code, body = get(t, f, "/46xxspecials.txt", "")
			if _, err := settings46xx.Parse([]byte(body)); code != 200 || err != nil || !strings.Contains(body, "has errors") {
				t.Errorf("GET specials: %d %v %q", code, err, body)
			}
			// Fixed: applied again without a restart.
			if err := os.WriteFile(filepath.Join(dir, SpecialsFile), []byte("SET ZZ 1\n## fixed, and a different size\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, body = get(t, f, "/46xxsettings.txt", "")
			if evalAs(t, body, "acw")["ZZ"] != "1" || !f.Status().SpecialsApplied {
				t.Errorf("fixed specials not applied: %+v", f.Status())
			}
		})
	}
}

func TestSpecialsSkeletonAndAvayaOnly(t *testing.T) {
	f, _ := newTestFiles(t)
	code, body := get(t, f, "/46xxspecials.txt", "")
	if code != 200 {
		t.Fatal(code)
	}
	if _, err := settings46xx.Parse([]byte(body)); err != nil {
		t.Errorf("skeleton does not parse: %v", err)
	}
	f.o.AvayaClientsOnly = true
	if code, _ := get(t, f, "/46xxsettings.txt", "Mozilla/5.0 Chrome/120"); code != http.StatusForbidden {
		t.Errorf("browser with AvayaClientsOnly: %d", code)
	}
	if code, _ := get(t, f, "/46xxsettings.txt", "Avaya Communicator/3.0 (acw)"); code != 200 {
		t.Errorf("Avaya client: %d", code)
	}
}

// TestSpecialsNotRegular: a FIFO or a directory named 46xxspecials.txt
// is refused at once (a FIFO read would block every request).
func TestSpecialsNotRegular(t *testing.T) {
	for _, mk := range []func(string) error{
		func(p string) error { return syscall.Mkfifo(p, 0o644) },
		func(p string) error { return os.Mkdir(p, 0o755) },
	} {
		f, dir := newTestFiles(t)
		_, clean := get(t, f, "/46xxsettings.txt", "")
		if err := mk(filepath.Join(dir, SpecialsFile)); err != nil {
			t.Fatal(err)
		}
		done := make(chan string, 1)
		go func() { _, body := get(t, f, "/46xxsettings.txt", ""); done <- body }()
		select {
		case body := <-done:
			if body != clean {
				t.Error("not the generated file alone")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a special file blocked the request")
		}
		if st := f.Status(); st.SpecialsApplied || len(st.SpecialsErrors) != 1 || st.SpecialsErrors[0] != "not a regular file" {
			t.Errorf("status %+v", st)
		}
	}
}
