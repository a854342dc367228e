package provision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/provision/settings46xx"
)

// File names served (seed 003 ch. 3 "IP Office Settings Files").
const (
	SettingsFile = "46xxsettings.txt"
	SpecialsFile = "46xxspecials.txt"
)

// Status is what an admin sees of the settings files.
type Status struct {
	// SpecialsPath is where the operator's 46xxspecials.txt is read from.
	SpecialsPath string `json:"specials_path"`
	// SpecialsPresent says whether the file exists.
	SpecialsPresent bool `json:"specials_present"`
	// SpecialsApplied says whether it is appended to 46xxsettings.txt: it
	// exists and has no errors.
	SpecialsApplied bool `json:"specials_applied"`
	// SpecialsErrors are the problems that keep it out, each with its
	// line ("line 3: unknown command: ...").
	SpecialsErrors []string `json:"specials_errors,omitempty"`
	// ModTime is the file's modification time.
	ModTime time.Time `json:"mod_time,omitzero"`
}

// FilesOptions configure Files.
type FilesOptions struct {
	// DataDir holds 46xxspecials.txt.
	DataDir string
	// Input returns what the settings file is generated from; called per
	// request (listener ports are known once bound).
	Input func() Input
	// AvayaClientsOnly answers only requests whose User-Agent starts
	// with "Avaya" (seed 003 ch. 19: System > Avaya HTTP Clients Only).
	AvayaClientsOnly bool
	Logger           *slog.Logger
}

// Files serves 46xxsettings.txt and 46xxspecials.txt. The settings file
// is generated per request; the specials file is read again when its size
// or modification time changes, and a file with errors is left out (the
// generated file is served alone, never a broken one), logged once and
// reported by Status.
type Files struct {
	o   FilesOptions
	log *slog.Logger

	mu       sync.Mutex
	stamp    string // size and mtime of the specials file last read; "" = absent
	specials *settings46xx.File
	status   Status
}

// NewFiles returns Files for o.
func NewFiles(o FilesOptions) *Files {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Files{o: o, log: o.Logger}
	f.status.SpecialsPath = f.specialsPath()
	return f
}

func (f *Files) specialsPath() string { return filepath.Join(f.o.DataDir, SpecialsFile) }

// Register adds GET /46xxsettings.txt and GET /46xxspecials.txt to mux.
// Neither needs credentials: Workplace fetches them at login, before it
// has registered (seed 003 ch. 5), so they carry no secrets.
func (f *Files) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /"+SettingsFile, f.ServeSettings)
	mux.HandleFunc("GET /"+SpecialsFile, f.ServeSpecials)
}

// Status reads the specials file if it changed and returns its status.
func (f *Files) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshLocked()
	st := f.status
	st.SpecialsErrors = append([]string(nil), st.SpecialsErrors...)
	return st
}

// Settings returns the settings file as served now: generated, then the
// specials when they are valid.
func (f *Files) Settings() []byte {
	f.mu.Lock()
	f.refreshLocked()
	sp := f.specials
	f.mu.Unlock()
	return Merge(Generate(f.o.Input()), sp)
}

// Merge appends specials (nil: none) after the generated file gen, which
// ends with the SpecialsLabel label.
func Merge(gen []byte, specials *settings46xx.File) []byte {
	if specials == nil || len(specials.Lines) == 0 {
		return gen
	}
	var b bytes.Buffer
	b.Write(gen)
	b.WriteString("## " + SpecialsFile + " from the data folder: runs last, so its values win.\n")
	b.Write(settings46xx.Format(specials))
	return b.Bytes()
}

// refreshLocked re-reads the specials file when it changed.
func (f *Files) refreshLocked() {
	path := f.specialsPath()
	fi, err := os.Stat(path)
	stamp := ""
	if err == nil {
		stamp = fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
	}
	if stamp == f.stamp && (stamp != "" || f.status.SpecialsErrors == nil) {
		return
	}
	f.stamp = stamp
	f.specials = nil
	f.status = Status{SpecialsPath: path}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			f.reject(fmt.Sprintf("cannot read: %v", err))
		}
		return
	}
	f.status.SpecialsPresent = true
	f.status.ModTime = fi.ModTime().UTC()
	if !fi.Mode().IsRegular() {
		// A FIFO would block the read (and every request behind it), a
		// device would never end.
		f.reject("not a regular file")
		return
	}
	data, err := readLimited(path, settings46xx.MaxFileBytes)
	if err != nil {
		f.reject(err.Error())
		return
	}
	sp, err := settings46xx.Parse(data)
	if err == nil {
		err = checkMerge(sp)
	}
	if err != nil {
		var es settings46xx.Errors
		if errors.As(err, &es) {
			for _, e := range es {
				f.status.SpecialsErrors = append(f.status.SpecialsErrors, e.Error())
			}
		} else {
			f.status.SpecialsErrors = []string{err.Error()}
		}
		f.log.Error(SpecialsFile+" has errors: it is not served; "+SettingsFile+" is served without it",
			"path", path, "errors", strings.Join(f.status.SpecialsErrors, "; "))
		return
	}
	f.specials = sp
	f.status.SpecialsApplied = true
	f.log.Info(SpecialsFile+" read: appended to "+SettingsFile, "path", path, "lines", len(sp.Lines))
}

func (f *Files) reject(msg string) {
	f.status.SpecialsErrors = []string{msg}
	f.log.Error(SpecialsFile+" not used", "path", f.specialsPath(), "error", msg)
}

// checkMerge refuses specials that use the generated file's labels: a
// jump in one part would land in the other.
func checkMerge(sp *settings46xx.File) error {
	var es settings46xx.Errors
	for _, l := range sp.Lines {
		if l.Kind == settings46xx.Label && strings.HasPrefix(strings.ToUpper(l.Target), "SB_") {
			es = append(es, &settings46xx.LineError{Line: l.Num, Err: settings46xx.ErrDuplicateLabel,
				Msg: fmt.Sprintf("%q: labels starting SB_ belong to the generated file", l.Target)})
		}
	}
	if len(es) > 0 {
		return es
	}
	return nil
}

func readLimited(path string, max int) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	if len(data) > max {
		return nil, fmt.Errorf("line 1: %w: more than %d bytes", settings46xx.ErrTooLarge, max)
	}
	return data, nil
}

// allowed applies AvayaClientsOnly.
func (f *Files) allowed(w http.ResponseWriter, r *http.Request) bool {
	if f.o.AvayaClientsOnly && !strings.HasPrefix(r.UserAgent(), "Avaya") {
		http.Error(w, "this server answers Avaya clients only", http.StatusForbidden)
		return false
	}
	return true
}

// ServeSettings answers GET /46xxsettings.txt.
func (f *Files) ServeSettings(w http.ResponseWriter, r *http.Request) {
	if !f.allowed(w, r) {
		return
	}
	writeText(w, f.Settings())
}

// ServeSpecials answers GET /46xxspecials.txt: the operator's file when it
// is valid (it is also appended to 46xxsettings.txt, and applying it twice
// changes nothing), else a skeleton to start one from (seed 003 ch. 19:
// "Browsing the 46xxspecials.txt file on an IP Office system that does
// not [have] a file, displays an auto-generated 46xxspecials.txt").
func (f *Files) ServeSpecials(w http.ResponseWriter, r *http.Request) {
	if !f.allowed(w, r) {
		return
	}
	f.mu.Lock()
	f.refreshLocked()
	sp, st := f.specials, f.status
	f.mu.Unlock()
	if sp != nil {
		writeText(w, settings46xx.Format(sp))
		return
	}
	why := "No " + SpecialsFile + " in the data folder."
	if len(st.SpecialsErrors) > 0 {
		why = "The " + SpecialsFile + " in the data folder has errors and is not used (see the admin status)."
	}
	writeText(w, SpecialsSkeleton(why))
}

// SpecialsSkeleton is a 46xxspecials.txt to start from: a branch per
// Workplace model and one for the rest, after seed 003's sample.
func SpecialsSkeleton(why string) []byte {
	var b strings.Builder
	b.WriteString("## " + why + "\n")
	b.WriteString("## Save this as " + SpecialsFile + " in the data folder and add SET lines; they override " + SettingsFile + ".\n")
	for _, m := range workplaceModels {
		b.WriteString("IF $MODEL4 SEQ " + m + " GOTO WORKPLACESPECIALS\n")
	}
	b.WriteString("GOTO GENERALSPECIALS\n# WORKPLACESPECIALS\n## Avaya Workplace only\nGOTO GENERALSPECIALS\n# GENERALSPECIALS\n## every phone\n")
	return []byte(b.String())
}

func writeText(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
