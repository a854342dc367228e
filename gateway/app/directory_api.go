package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-gw/switchboard/gateway/accounts"
	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/contacts"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Limits of the directory API's requests.
const (
	maxDirectoryQuery  = 128      // bytes of q
	maxContactBody     = 64 << 10 // a contact as JSON
	maxContactsImport  = 2 << 20  // a CSV upload
	contactsSourceName = "contacts"
)

// directoryRoutes adds the directory (issue 14): one search over the
// gateway's users, the PBX devices of the CTI drivers and the contacts
// table, capped by directory.search_max_results; contacts CRUD and CSV
// import. Reads need the operator role, writes admin.
func (s *adminServer) directoryRoutes(mux *http.ServeMux) {
	s.route(mux, "GET /api/v1/directory", accounts.RoleOperator, s.directorySearch)
	s.route(mux, "POST /api/v1/directory/contacts", accounts.RoleAdmin, s.contactAdd)
	s.route(mux, "POST /api/v1/directory/contacts/import", accounts.RoleAdmin, s.contactsImport)
	s.route(mux, "GET /api/v1/directory/contacts/{id}", accounts.RoleOperator, s.contactGet)
	s.route(mux, "PUT /api/v1/directory/contacts/{id}", accounts.RoleAdmin, s.contactPut)
	s.route(mux, "DELETE /api/v1/directory/contacts/{id}", accounts.RoleAdmin, s.contactDelete)
}

// directoryEntry is one search result.
type directoryEntry struct {
	// Kind is user (a SIP user of the gateway), device (a PBX device a
	// CTI driver monitors) or contact.
	Kind string `json:"kind"`
	// Source is gateway, the CTI driver's name, or contacts.
	Source string `json:"source"`
	// Device is the northbound device id (source:id) of users and
	// devices, for the devices and calls API.
	Device string `json:"device,omitempty"`
	// ContactID is the id of a contact.
	ContactID int64    `json:"contact_id,omitempty"`
	Name      string   `json:"name"`
	Numbers   []string `json:"numbers"`
	Username  string   `json:"username,omitempty"`
	Company   string   `json:"company,omitempty"`
	Email     string   `json:"email,omitempty"`
	Notes     string   `json:"notes,omitempty"`
}

// directoryPage is the answer of GET /api/v1/directory.
type directoryPage struct {
	Entries []directoryEntry `json:"entries"`
	// Limit is the cap applied: the request's limit, at most
	// directory.search_max_results.
	Limit int `json:"limit"`
	// Truncated says more entries matched than Limit.
	Truncated bool `json:"truncated"`
}

// contactView is a contact in the API.
type contactView struct {
	ID        int64    `json:"id"`
	Name      string   `json:"name"`
	Numbers   []string `json:"numbers"`
	Company   string   `json:"company,omitempty"`
	Email     string   `json:"email,omitempty"`
	Notes     string   `json:"notes,omitempty"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
}

func viewContact(c store.Contact) contactView {
	const layout = "2006-01-02T15:04:05.999999Z07:00"
	return contactView{ID: c.ID, Name: c.Name, Numbers: c.Numbers, Company: c.Company, Email: c.Email, Notes: c.Notes,
		CreatedAt: c.CreatedAt.Format(layout), UpdatedAt: c.UpdatedAt.Format(layout)}
}

// contactInput is the body of POST and PUT.
type contactInput struct {
	Name    string   `json:"name"`
	Numbers []string `json:"numbers"`
	Company string   `json:"company"`
	Email   string   `json:"email"`
	Notes   string   `json:"notes"`
}

// importResult is the answer of POST /api/v1/directory/contacts/import.
type importResult struct {
	Imported int                `json:"imported"`
	Failed   []contacts.Failure `json:"failed"`
}

func contains(haystack, needle string) bool {
	return strings.Contains(strings.ToLower(haystack), needle)
}

func (s *adminServer) directorySearch(w http.ResponseWriter, r *http.Request) {
	a := s.app
	max := a.cfg.Directory.SearchMaxResults
	qv := r.URL.Query()
	q := strings.TrimSpace(qv.Get("q"))
	if len(q) > maxDirectoryQuery {
		problem(w, http.StatusBadRequest, "query too long", fmt.Sprintf("q is at most %d bytes", maxDirectoryQuery))
		return
	}
	limit := max
	if v := qv.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			problem(w, http.StatusBadRequest, "bad limit", "limit is a number from 1 to "+strconv.Itoa(max))
			return
		}
		limit = min(n, max) // "search max results" (seed 004) caps every search
	}
	kind := qv.Get("kind")
	if kind != "" && kind != "user" && kind != "device" && kind != "contact" {
		problem(w, http.StatusBadRequest, "bad kind", "kind is user, device or contact")
		return
	}
	lq := strings.ToLower(q)
	var out []directoryEntry
	if kind == "" || kind == "user" {
		for _, u := range a.users.All() {
			if lq == "" || contains(u.Username, lq) || contains(u.DisplayName, lq) || contains(u.Extension, lq) {
				name := u.DisplayName
				if name == "" {
					name = u.Username
				}
				nums := []string{}
				if u.Extension != "" {
					nums = append(nums, u.Extension)
				}
				out = append(out, directoryEntry{Kind: "user", Source: attendant.GatewaySource, Device: attendant.GatewaySource + ":" + u.Username,
					Name: name, Numbers: nums, Username: u.Username})
			}
		}
	}
	if kind == "" || kind == "device" {
		for _, d := range a.pbxDevices() {
			if lq == "" || contains(d.Device, lq) {
				out = append(out, d)
			}
		}
	}
	if kind == "" || kind == "contact" {
		cs, err := a.store.SearchContacts(r.Context(), store.ContactQuery{Text: q, Limit: limit + 1})
		if err != nil {
			problem(w, http.StatusInternalServerError, "store", err.Error())
			return
		}
		for _, c := range cs {
			out = append(out, directoryEntry{Kind: "contact", Source: contactsSourceName, ContactID: c.ID, Name: c.Name,
				Numbers: c.Numbers, Company: c.Company, Email: c.Email, Notes: c.Notes})
		}
	}
	slices.SortStableFunc(out, func(x, y directoryEntry) int {
		if c := strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)); c != 0 {
			return c
		}
		return strings.Compare(x.Kind, y.Kind)
	})
	page := directoryPage{Entries: out, Limit: limit}
	if len(out) > limit {
		page.Entries, page.Truncated = out[:limit], true
	}
	if page.Entries == nil {
		page.Entries = []directoryEntry{}
	}
	writeJSON(w, page)
}

// pbxDevices are the devices of the CTI drivers: configured monitors and
// those monitored now. The driver model carries no display names yet, so
// a device is named by its number.
func (a *App) pbxDevices() []directoryEntry {
	var out []directoryEntry
	for _, d := range a.cfg.CTI.Drivers {
		seen := map[string]bool{}
		devs := append([]string(nil), d.Monitor...)
		if a.cti != nil {
			if sup, ok := a.cti.Driver(d.Name); ok {
				devs = append(devs, sup.Monitors()...)
			}
		}
		for _, dev := range devs {
			if seen[dev] {
				continue
			}
			seen[dev] = true
			out = append(out, directoryEntry{Kind: "device", Source: d.Name, Device: d.Name + ":" + dev, Name: dev, Numbers: []string{dev}})
		}
	}
	return out
}

// contactID reads the {id} path value.
func contactID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		problem(w, http.StatusBadRequest, "bad id", "a contact id is a positive number")
		return 0, false
	}
	return id, true
}

// storeProblem answers a store error.
func storeProblem(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem(w, http.StatusNotFound, "no such contact", err.Error())
	case errors.Is(err, store.ErrInvalid):
		problem(w, http.StatusUnprocessableEntity, "invalid contact", err.Error())
	default:
		problem(w, http.StatusInternalServerError, "store", err.Error())
	}
}

// readContact decodes a contact body strictly: one JSON object, known
// fields, at most maxContactBody bytes.
func readContact(w http.ResponseWriter, r *http.Request) (store.Contact, bool) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxContactBody))
	dec.DisallowUnknownFields()
	var in contactInput
	if err := dec.Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem(w, http.StatusRequestEntityTooLarge, "body too large", fmt.Sprintf("a contact is at most %d bytes", maxContactBody))
			return store.Contact{}, false
		}
		problem(w, http.StatusBadRequest, "bad json", err.Error())
		return store.Contact{}, false
	}
	if dec.More() {
		problem(w, http.StatusBadRequest, "bad json", "one JSON object only")
		return store.Contact{}, false
	}
	return store.Contact{Name: in.Name, Numbers: in.Numbers, Company: in.Company, Email: in.Email, Notes: in.Notes}, true
}

func (s *adminServer) contactGet(w http.ResponseWriter, r *http.Request) {
	id, ok := contactID(w, r)
	if !ok {
		return
	}
	c, err := s.app.store.Contact(r.Context(), id)
	if err != nil {
		storeProblem(w, err)
		return
	}
	writeJSON(w, viewContact(c))
}

func (s *adminServer) contactAdd(w http.ResponseWriter, r *http.Request) {
	c, ok := readContact(w, r)
	if !ok {
		return
	}
	cs, err := s.app.store.AddContacts(r.Context(), []store.Contact{c})
	if err != nil {
		storeProblem(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/directory/contacts/"+strconv.FormatInt(cs[0].ID, 10))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(viewContact(cs[0]))
}

func (s *adminServer) contactPut(w http.ResponseWriter, r *http.Request) {
	id, ok := contactID(w, r)
	if !ok {
		return
	}
	c, ok := readContact(w, r)
	if !ok {
		return
	}
	c.ID = id
	got, err := s.app.store.UpdateContact(r.Context(), c)
	if err != nil {
		storeProblem(w, err)
		return
	}
	writeJSON(w, viewContact(got))
}

func (s *adminServer) contactDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := contactID(w, r)
	if !ok {
		return
	}
	if err := s.app.store.DeleteContact(r.Context(), id); err != nil {
		storeProblem(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// contactsImport reads a CSV upload (the body, text/csv) and stores its
// good rows in one transaction. The answer lists the failed rows as JSON,
// or, with Accept: text/csv, is the failed-row report (row,name,reason)
// with the count in X-Imported.
func (s *adminServer) contactsImport(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxContactsImport))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem(w, http.StatusRequestEntityTooLarge, "upload too large", fmt.Sprintf("a contacts file is at most %d bytes", maxContactsImport))
			return
		}
		problem(w, http.StatusBadRequest, "bad upload", err.Error())
		return
	}
	rows, failed, err := contacts.Parse(strings.NewReader(string(body)))
	if err != nil {
		problem(w, http.StatusBadRequest, "bad csv", err.Error())
		return
	}
	// A file imported twice adds nothing the second time.
	rows, failed, err = contacts.Dedupe(rows, failed, func(name string) ([]store.Contact, error) {
		return s.app.store.SearchContacts(r.Context(), store.ContactQuery{Text: name, Limit: store.MaxContactLimit})
	})
	if err != nil {
		problem(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	cs := make([]store.Contact, len(rows))
	for i, row := range rows {
		cs[i] = row.Contact
	}
	if _, err := s.app.store.AddContacts(r.Context(), cs); err != nil {
		storeProblem(w, err)
		return
	}
	if failed == nil {
		failed = []contacts.Failure{}
	}
	if strings.Contains(r.Header.Get("Accept"), "text/csv") {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("X-Imported", strconv.Itoa(len(cs)))
		_ = contacts.WriteReport(w, failed)
		return
	}
	writeJSON(w, importResult{Imported: len(cs), Failed: failed})
}
