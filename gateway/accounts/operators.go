package accounts

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// PauseMode says whether pausing takes a reason (seed 004, "Pause
// Reasons").
type PauseMode string

// The pause modes.
const (
	// PauseOff: pause reasons are not used; a pause with a reason is
	// refused.
	PauseOff PauseMode = "off"
	// PauseOptional: a reason may be given and must then be listed.
	PauseOptional PauseMode = "optional"
	// PauseMandatory: a listed reason must be given, unless the list is
	// empty (the seed: an empty file changes nothing).
	PauseMandatory PauseMode = "mandatory"
)

// Operator states.
const (
	StateAvailable = "available"
	StatePaused    = "paused"
)

// Errors of operator state changes.
var (
	// ErrReasonRequired means pausing needs a listed reason (mandatory).
	ErrReasonRequired = errors.New("pausing needs one of the pause reasons")
	// ErrUnknownReason means the reason is not in the pause reasons file.
	ErrUnknownReason = errors.New("not one of the pause reasons")
	// ErrReasonsOff means a reason was given while pause reasons are off.
	ErrReasonsOff = errors.New("pause reasons are off")
	// ErrPanicOff means the panic button is not enabled.
	ErrPanicOff = errors.New("the panic button is not enabled")
	// ErrNoDevice means the operator has no device to call from.
	ErrNoDevice = errors.New("the account has no device")
)

// Limits of the pause reasons file.
const (
	maxReasons     = 100
	maxReasonLen   = 100
	maxReasonsFile = 64 << 10
)

// ParseReasons reads a pause reasons file: one reason per line, leading
// and trailing space trimmed, blank lines ignored, duplicates dropped.
// Lines with control characters or invalid UTF-8 are skipped, lines
// longer than 100 bytes cut, at most 100 reasons kept.
func ParseReasons(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(io.LimitReader(r, maxReasonsFile))
	sc.Buffer(make([]byte, 4096), maxReasonsFile)
	for sc.Scan() && len(out) < maxReasons {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" || !utf8.ValidString(line) || strings.ContainsFunc(line, unicode.IsControl) {
			continue
		}
		if len(line) > maxReasonLen {
			cut := maxReasonLen
			for !utf8.RuneStart(line[cut]) {
				cut--
			}
			line = strings.TrimSpace(line[:cut])
		}
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return out
}

// Panic is the panic button's configuration (seed 004).
type Panic struct {
	Enabled bool   `json:"enabled"`
	Number  string `json:"number"`
}

// PanicCall is the call the panic button places: from the operator's
// device to the configured number. The call-control side places it.
type PanicCall struct {
	Account string
	From    string // the operator's device, "<source>:<id>"
	To      string
}

// OperatorState is an operator's availability.
type OperatorState struct {
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// OperatorOptions configure Operators.
type OperatorOptions struct {
	// ReasonsFile is the pause reasons file; a missing file means none.
	ReasonsFile string
	Mode        PauseMode
	Panic       Panic
	Logger      *slog.Logger
	Now         func() time.Time
}

// Operators keeps operators' availability (in memory; the gateway stores
// each change and Restores them at start) and the pause reasons, reloaded
// when their file changes. Safe for concurrent use.
type Operators struct {
	o OperatorOptions

	mu      sync.Mutex
	states  map[string]OperatorState
	reasons []string
	raw     []byte // the file's content last read
	loaded  bool
}

// NewOperators returns Operators with the reasons file read once.
func NewOperators(o OperatorOptions) *Operators {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Mode == "" {
		o.Mode = PauseOptional
	}
	op := &Operators{o: o, states: map[string]OperatorState{}}
	_ = op.Reload()
	return op
}

// Mode is the pause mode.
func (op *Operators) Mode() PauseMode { return op.o.Mode }

// PanicButton is the panic button's configuration.
func (op *Operators) PanicButton() Panic { return op.o.Panic }

// Reasons returns the pause reasons in file order.
func (op *Operators) Reasons() []string {
	op.mu.Lock()
	defer op.mu.Unlock()
	return append([]string{}, op.reasons...)
}

// Reload re-reads the reasons file if its content changed, and reports
// whether it did. A missing file is an empty list.
func (op *Operators) Reload() error {
	if op.o.ReasonsFile == "" {
		return nil
	}
	b, err := readLimited(op.o.ReasonsFile)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("pause reasons: %w", err)
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.loaded && bytes.Equal(b, op.raw) {
		return nil
	}
	op.raw, op.loaded = b, true
	op.reasons = ParseReasons(bytes.NewReader(b))
	op.o.Logger.Info("pause reasons loaded", "file", op.o.ReasonsFile, "count", len(op.reasons))
	return nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxReasonsFile))
}

// Watch reloads the reasons file every interval until ctx ends (the file
// is small: re-reading it is simpler and surer than watching mtimes).
func (op *Operators) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := op.Reload(); err != nil {
				op.o.Logger.Warn("pause reasons not reloaded", "error", err)
			}
		}
	}
}

// State returns an account's state; available when never set.
func (op *Operators) State(name string) OperatorState {
	op.mu.Lock()
	defer op.mu.Unlock()
	if s, ok := op.states[name]; ok {
		return s
	}
	return OperatorState{State: StateAvailable}
}

// SetState makes an operator available, or paused with reason under the
// pause mode.
func (op *Operators) SetState(name, state, reason string) (OperatorState, error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	now := op.o.Now().UTC()
	switch state {
	case StateAvailable:
		if reason != "" {
			return OperatorState{}, invalid("an available operator has no reason")
		}
		s := OperatorState{State: StateAvailable, Since: now}
		op.states[name] = s
		return s, nil
	case StatePaused:
	default:
		return OperatorState{}, invalid("state %q: available or paused", state)
	}
	reasons := op.reasons
	switch {
	case op.o.Mode == PauseOff:
		if reason != "" {
			return OperatorState{}, ErrReasonsOff
		}
	case reason == "" && len(reasons) == 1:
		reason = reasons[0] // seed 004: a single reason is taken as given
	case reason == "" && op.o.Mode == PauseMandatory && len(reasons) > 0:
		return OperatorState{}, ErrReasonRequired
	case reason != "" && !slices.Contains(reasons, reason):
		return OperatorState{}, fmt.Errorf("%q: %w", reason, ErrUnknownReason)
	}
	s := OperatorState{State: StatePaused, Reason: reason, Since: now}
	op.states[name] = s
	return s, nil
}

// Restore sets an account's state as it was stored (at start), without
// the checks of SetState: the reasons file may have changed since.
func (op *Operators) Restore(name string, s OperatorState) {
	if s.State != StateAvailable && s.State != StatePaused {
		return
	}
	op.mu.Lock()
	op.states[name] = s
	op.mu.Unlock()
}

// Forget drops an account's state (deleted account).
func (op *Operators) Forget(name string) {
	op.mu.Lock()
	delete(op.states, name)
	op.mu.Unlock()
}

// PanicCallFor returns the call the panic button of account a places.
// The call-control side places it; ErrPanicOff and ErrNoDevice say why
// there is none.
func (op *Operators) PanicCallFor(a Account) (PanicCall, error) {
	if !op.o.Panic.Enabled || op.o.Panic.Number == "" {
		return PanicCall{}, ErrPanicOff
	}
	if a.Device == "" {
		return PanicCall{}, ErrNoDevice
	}
	return PanicCall{Account: a.Name, From: a.Device, To: op.o.Panic.Number}, nil
}
