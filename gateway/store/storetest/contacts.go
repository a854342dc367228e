package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/store"
)

func names(cs []store.Contact) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// testContacts: add, read, search by name, company, email and number
// (written with spaces), update, delete; what is added survives a reopen.
func testContacts(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	added, err := s.AddContacts(ctx, []store.Contact{
		{Name: "Zoe Keller", Numbers: []string{"+41 44 123 45 67", "0791234567"}, Company: "Acme AG", Email: "zoe@acme.example"},
		{Name: "adam Frei", Numbers: []string{"201"}, Notes: "reception\nfloor 2"},
		{Name: "100% Ltd_x", Numbers: []string{"*86"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 3 || added[0].ID == 0 || added[0].ID == added[1].ID || added[0].Numbers[0] != "+41441234567" || added[0].CreatedAt.IsZero() {
		t.Fatalf("added %+v", added)
	}
	got, err := s.Contact(ctx, added[1].ID)
	if err != nil || got.Name != "adam Frei" || got.Notes != "reception\nfloor 2" || !reflect.DeepEqual(got.Numbers, []string{"201"}) {
		t.Errorf("Contact = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"", []string{"100% Ltd_x", "adam Frei", "Zoe Keller"}},
		{"ADAM", []string{"adam Frei"}},
		{"acme", []string{"Zoe Keller"}},
		{"44 123", []string{"Zoe Keller"}},
		{"%", []string{"100% Ltd_x"}},
		{"_", []string{"100% Ltd_x"}},
		{"nobody", []string{}},
	} {
		cs, err := s.SearchContacts(ctx, store.ContactQuery{Text: tc.q, Limit: 10})
		if err != nil || !reflect.DeepEqual(names(cs), tc.want) {
			t.Errorf("search %q = %v, %v; want %v", tc.q, names(cs), err, tc.want)
		}
	}
	if cs, _ := s.SearchContacts(ctx, store.ContactQuery{Limit: 2}); len(cs) != 2 {
		t.Errorf("limit 2 gave %d", len(cs))
	}
	if _, err := s.SearchContacts(ctx, store.ContactQuery{Limit: 0}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("limit 0: %v", err)
	}
	up := added[1]
	up.Name, up.Numbers = "Adam Frei", []string{"202"}
	if u, err := s.UpdateContact(ctx, up); err != nil || u.Name != "Adam Frei" || u.Numbers[0] != "202" {
		t.Errorf("update = %+v, %v", u, err)
	}
	if _, err := s.UpdateContact(ctx, store.Contact{ID: 99999, Name: "x", Numbers: []string{"1"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	if err := s.DeleteContact(ctx, added[2].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteContact(ctx, added[2].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := s.Contact(ctx, added[2].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted contact: %v", err)
	}
	_ = s.Close()
	s = open(t)
	cs, err := s.SearchContacts(ctx, store.ContactQuery{Limit: 10})
	if err != nil || !reflect.DeepEqual(names(cs), []string{"Adam Frei", "Zoe Keller"}) {
		t.Errorf("after reopen: %v, %v", names(cs), err)
	}
}

// testContactsInvalid: a bad contact stores nothing of its batch.
func testContactsInvalid(t *testing.T, open Opener) {
	ctx := t.Context()
	s := open(t)
	for _, bad := range []store.Contact{
		{Name: "", Numbers: []string{"1"}},
		{Name: "x", Numbers: nil},
		{Name: "x", Numbers: []string{"12a"}},
		{Name: "x\x00", Numbers: []string{"1"}},
		{Name: "x", Numbers: []string{"1"}, Email: "not an address"},
		{Name: string(make([]byte, store.MaxContactName+1)), Numbers: []string{"1"}},
	} {
		_, err := s.AddContacts(ctx, []store.Contact{{Name: "good", Numbers: []string{"1"}}, bad})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if cs, _ := s.SearchContacts(ctx, store.ContactQuery{Limit: 10}); len(cs) != 0 {
		t.Errorf("stored %v", names(cs))
	}
}
