package accounts

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseReasons(t *testing.T) {
	in, err := os.ReadFile("testdata/pause_reasons.txt")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/pause_reasons.golden")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(ParseReasons(strings.NewReader(string(in))), "\n") + "\n"
	if got != string(want) {
		t.Fatalf("ParseReasons:\n%s\nwant:\n%s", got, want)
	}
}

func TestPauseModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "reasons.txt")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Lunch\nMeeting\n")
	for _, tc := range []struct {
		mode   PauseMode
		reason string
		want   error
	}{
		{PauseMandatory, "", ErrReasonRequired},
		{PauseMandatory, "Coffee", ErrUnknownReason},
		{PauseMandatory, "Lunch", nil},
		{PauseOptional, "", nil},
		{PauseOptional, "Coffee", ErrUnknownReason},
		{PauseOptional, "Meeting", nil},
		{PauseOff, "Lunch", ErrReasonsOff},
		{PauseOff, "", nil},
	} {
		op := NewOperators(OperatorOptions{ReasonsFile: path, Mode: tc.mode})
		s, err := op.SetState("olga", StatePaused, tc.reason)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s pause %q: %v, want %v", tc.mode, tc.reason, err, tc.want)
			continue
		}
		if err == nil && (s.State != StatePaused || s.Reason != tc.reason || op.State("olga") != s) {
			t.Errorf("%s pause %q: state %+v", tc.mode, tc.reason, s)
		}
	}
	// One reason: taken as given (seed 004). None: mandatory pauses without one.
	write("  Only one  \n\n")
	op := NewOperators(OperatorOptions{ReasonsFile: path, Mode: PauseMandatory})
	if s, err := op.SetState("olga", StatePaused, ""); err != nil || s.Reason != "Only one" {
		t.Fatalf("single reason: %+v %v", s, err)
	}
	write("\n   \n")
	if err := op.Reload(); err != nil {
		t.Fatal(err)
	}
	if s, err := op.SetState("olga", StatePaused, ""); err != nil || s.Reason != "" {
		t.Fatalf("empty list, mandatory: %+v %v", s, err)
	}
	if _, err := op.SetState("olga", "away", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad state: %v", err)
	}
	if s, err := op.SetState("olga", StateAvailable, ""); err != nil || s.State != StateAvailable {
		t.Fatalf("available: %+v %v", s, err)
	}
}

func TestReasonsReloadedOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reasons.txt")
	op := NewOperators(OperatorOptions{ReasonsFile: path, Mode: PauseMandatory}) // missing file: no reasons
	if r := op.Reasons(); len(r) != 0 {
		t.Fatalf("missing file: %v", r)
	}
	ctx := t.Context()
	go op.Watch(ctx, 20*time.Millisecond)
	if err := os.WriteFile(path, []byte("Lunch\nTraining\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(op.Reasons(), []string{"Lunch", "Training"}) {
		if time.Now().After(deadline) {
			t.Fatalf("reasons not reloaded: %v", op.Reasons())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := op.SetState("olga", StatePaused, "Training"); err != nil {
		t.Fatal(err)
	}
}

func TestPanicCall(t *testing.T) {
	op := NewOperators(OperatorOptions{})
	if _, err := op.PanicCallFor(Account{Name: "olga", Device: "gateway:u1000"}); !errors.Is(err, ErrPanicOff) {
		t.Fatalf("disabled: %v", err)
	}
	op = NewOperators(OperatorOptions{Panic: Panic{Enabled: true, Number: "112"}})
	if _, err := op.PanicCallFor(Account{Name: "olga"}); !errors.Is(err, ErrNoDevice) {
		t.Fatalf("no device: %v", err)
	}
	c, err := op.PanicCallFor(Account{Name: "olga", Device: "gateway:u1000"})
	if err != nil || c != (PanicCall{Account: "olga", From: "gateway:u1000", To: "112"}) {
		t.Fatalf("panic call %+v %v", c, err)
	}
}
