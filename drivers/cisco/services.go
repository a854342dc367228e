package cisco

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-gw/switchboard/drivers/cisco/xsi"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// The services, one Xsi-Actions request each (cti-protocols.md §4.1;
// README "Supported services"). A connection names an Xsi call half: its
// ConnectionID is the Xsi callId; with only a CallID (the extTrackingId)
// the half is found in what the driver tracks, else in GET .../calls.

// resolved is a connection as Xsi names it.
type resolved struct {
	device, uid, xsiID string
	half               *halfState // nil when the device is not tracked
}

func (d *Driver) resolve(ctx context.Context, c plugins.ConnectionRef) (resolved, error) {
	if c.Device == "" || c.CallID == "" && c.ConnectionID == "" {
		return resolved{}, fmt.Errorf("%w: a connection needs a device and a call or connection id", plugins.ErrInvalidArgument)
	}
	r := resolved{device: c.Device, uid: d.cfg.userID(c.Device)}
	d.mu.Lock()
	if st := d.devs[c.Device]; st != nil {
		if h := st.halves[c.ConnectionID]; h != nil {
			r.xsiID, r.half = h.xsiID, h
		} else if c.CallID != "" {
			for _, h := range st.halves {
				if h.call == c.CallID && (r.half == nil || h.xsiID < r.half.xsiID) {
					r.xsiID, r.half = h.xsiID, h
				}
			}
		}
	}
	var copied halfState
	if r.half != nil {
		copied = *r.half
		r.half = &copied
	}
	d.mu.Unlock()
	if r.xsiID != "" {
		return r, nil
	}
	var calls xsi.Calls
	if err := d.do(ctx, http.MethodGet, userPath(r.uid, "/calls"), nil, nil, &calls); err != nil {
		return r, err
	}
	for _, it := range calls.Calls {
		if c.CallID != "" && (it.ExtTrackingID == c.CallID || it.CallID == c.CallID) || it.CallID == c.ConnectionID {
			r.xsiID = it.CallID
			return r, nil
		}
	}
	return r, fmt.Errorf("%w: no call %s at %s", plugins.ErrNotFound, c.CallID, c.Device)
}

// callAction runs PUT/DELETE .../calls/{callId}[/action].
func (d *Driver) callAction(ctx context.Context, what string, c plugins.ConnectionRef, method, action string, q url.Values) error {
	r, err := d.resolve(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := d.do(ctx, method, userPath(r.uid, "/calls/"+url.PathEscape(r.xsiID)+action), q, nil, nil); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// linkCheck fails fast while the channel is down: the service might work,
// but its events would be lost.
func (d *Driver) linkCheck(what string) error {
	if _, err := d.current(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// MakeCall implements sdk.MakeCaller: POST .../calls/new?address=
// (click-to-dial: the calling user's phone is alerted first).
func (d *Driver) MakeCall(ctx context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	if r.Calling == "" || r.Called == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("make call: %w: calling and called are required", plugins.ErrInvalidArgument)
	}
	if err := d.linkCheck("make call"); err != nil {
		return plugins.ConnectionRef{}, err
	}
	var info xsi.CallStartInfo
	if err := d.do(ctx, http.MethodPost, userPath(d.cfg.userID(r.Calling), "/calls/new"),
		url.Values{"address": {r.Called}}, nil, &info); err != nil {
		return plugins.ConnectionRef{}, fmt.Errorf("make call: %w", err)
	}
	return ref(r.Calling, info), nil
}

func ref(device string, info xsi.CallStartInfo) plugins.ConnectionRef {
	call := info.ExternalTrackingID
	if call == "" {
		call = info.CallID
	}
	return plugins.ConnectionRef{Device: device, CallID: call, ConnectionID: info.CallID}
}

// Answer implements sdk.Answerer: PUT .../calls/{callId}/Talk.
func (d *Driver) Answer(ctx context.Context, c plugins.ConnectionRef) error {
	return d.callAction(ctx, "answer", c, http.MethodPut, "/Talk", nil)
}

// Clear implements sdk.Clearer: DELETE .../calls/{callId}.
func (d *Driver) Clear(ctx context.Context, c plugins.ConnectionRef) error {
	return d.callAction(ctx, "clear", c, http.MethodDelete, "", nil)
}

// Hold implements sdk.Holder: PUT .../calls/{callId}/Hold.
func (d *Driver) Hold(ctx context.Context, c plugins.ConnectionRef) error {
	return d.callAction(ctx, "hold", c, http.MethodPut, "/Hold", nil)
}

// Retrieve implements sdk.Retriever: PUT .../calls/{callId}/Talk.
func (d *Driver) Retrieve(ctx context.Context, c plugins.ConnectionRef) error {
	return d.callAction(ctx, "retrieve", c, http.MethodPut, "/Talk", nil)
}

// Consultation implements sdk.Consulter. Xsi has no single request: the
// existing call is held (PUT Hold), then a new call is made from the same
// user (POST calls/new).
func (d *Driver) Consultation(ctx context.Context, existing plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	if to == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("consultation: %w: a destination is required", plugins.ErrInvalidArgument)
	}
	r, err := d.resolve(ctx, existing)
	if err != nil {
		return plugins.ConnectionRef{}, fmt.Errorf("consultation: %w", err)
	}
	if r.half == nil || r.half.state != plugins.StateHold {
		d.setOp(r.xsiID, &pendingOp{kind: opConsult})
		if err := d.do(ctx, http.MethodPut, userPath(r.uid, "/calls/"+url.PathEscape(r.xsiID)+"/Hold"), nil, nil, nil); err != nil {
			d.setOp(r.xsiID, nil)
			return plugins.ConnectionRef{}, fmt.Errorf("consultation: hold: %w", err)
		}
	}
	var info xsi.CallStartInfo
	if err := d.do(ctx, http.MethodPost, userPath(r.uid, "/calls/new"), url.Values{"address": {to}}, nil, &info); err != nil {
		return plugins.ConnectionRef{}, fmt.Errorf("consultation: new call: %w", err)
	}
	return ref(existing.Device, info), nil
}

// setOp records (op != nil) or forgets what the driver asks for on a half.
func (d *Driver) setOp(xsiID string, op *pendingOp) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if op == nil {
		delete(d.ops, xsiID)
		return
	}
	d.ops[xsiID] = op
}

// pair resolves the two connections of a transfer or conference, which
// must be at one device.
func (d *Driver) pair(ctx context.Context, held, active plugins.ConnectionRef) (resolved, resolved, error) {
	if held.Device != active.Device {
		return resolved{}, resolved{}, fmt.Errorf("%w: both calls must be at one device", plugins.ErrInvalidArgument)
	}
	h, err := d.resolve(ctx, held)
	if err != nil {
		return h, h, err
	}
	a, err := d.resolve(ctx, active)
	return h, a, err
}

// Transfer implements sdk.Transferer: PUT
// .../calls/{held}/ConsultTransfer/{active}. The parties are joined in the
// active (consulted) call, whose ID is returned; the Transferred events
// carry the resulting call at each party.
func (d *Driver) Transfer(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	h, a, err := d.pair(ctx, held, active)
	if err != nil {
		return plugins.ConnectionRef{}, fmt.Errorf("transfer: %w", err)
	}
	op := &pendingOp{kind: opTransfer, result: active.CallID}
	if a.half != nil {
		op.result, op.to = a.half.call, a.half.other
	}
	d.setOp(h.xsiID, op)
	d.setOp(a.xsiID, op)
	err = d.do(ctx, http.MethodPut, userPath(h.uid, "/calls/"+url.PathEscape(h.xsiID)+"/ConsultTransfer/"+
		url.PathEscape(a.xsiID)), nil, nil, nil)
	if err != nil {
		d.setOp(h.xsiID, nil)
		d.setOp(a.xsiID, nil)
		return plugins.ConnectionRef{}, fmt.Errorf("transfer: %w", err)
	}
	return plugins.ConnectionRef{Device: op.to, CallID: op.result}, nil
}

// SingleStepTransfer implements sdk.SingleStepTransferer: PUT
// .../calls/{callId}/BlindTransfer?address= on an answered call. The
// other party keeps its call, now alerting to.
func (d *Driver) SingleStepTransfer(ctx context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	if to == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("single step transfer: %w: a destination is required", plugins.ErrInvalidArgument)
	}
	r, err := d.resolve(ctx, c)
	if err != nil {
		return plugins.ConnectionRef{}, fmt.Errorf("single step transfer: %w", err)
	}
	call := c.CallID
	if r.half != nil {
		call = r.half.call
	}
	d.setOp(r.xsiID, &pendingOp{kind: opSingleStep, to: to})
	if err := d.do(ctx, http.MethodPut, userPath(r.uid, "/calls/"+url.PathEscape(r.xsiID)+"/BlindTransfer"),
		url.Values{"address": {to}}, nil, nil); err != nil {
		d.setOp(r.xsiID, nil)
		return plugins.ConnectionRef{}, fmt.Errorf("single step transfer: %w", err)
	}
	return plugins.ConnectionRef{Device: to, CallID: call}, nil
}

// Deflect implements sdk.Deflecter: PUT .../calls/{callId}/BlindTransfer
// on a call still alerting, which BroadWorks redirects (CallRedirected at
// the device, CallForwarded at the caller) ~.
func (d *Driver) Deflect(ctx context.Context, c plugins.ConnectionRef, to string) error {
	if to == "" {
		return fmt.Errorf("deflect: %w: a destination is required", plugins.ErrInvalidArgument)
	}
	r, err := d.resolve(ctx, c)
	if err != nil {
		return fmt.Errorf("deflect: %w", err)
	}
	if r.half != nil && r.half.state != plugins.StateAlerting {
		return fmt.Errorf("deflect: %w: the call is %s, not alerting", plugins.ErrFailedPrecondition, r.half.state)
	}
	if err := d.do(ctx, http.MethodPut, userPath(r.uid, "/calls/"+url.PathEscape(r.xsiID)+"/BlindTransfer"),
		url.Values{"address": {to}}, nil, nil); err != nil {
		return fmt.Errorf("deflect: %w", err)
	}
	return nil
}

// Conference implements sdk.Conferencer: POST .../calls/Conference with
// both calls as participants. The conference keeps the held call's ID.
func (d *Driver) Conference(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	h, a, err := d.pair(ctx, held, active)
	if err != nil {
		return plugins.ConnectionRef{}, fmt.Errorf("conference: %w", err)
	}
	body := xsi.Conference{ConferenceInfo: xsi.ConferenceInfo{
		Participants: []xsi.Participant{{CallID: h.xsiID}, {CallID: a.xsiID}}}}
	if err := d.do(ctx, http.MethodPost, userPath(h.uid, "/calls/Conference"), nil, body, nil); err != nil {
		return plugins.ConnectionRef{}, fmt.Errorf("conference: %w", err)
	}
	call := held.CallID
	if h.half != nil {
		call = h.half.call
	}
	return plugins.ConnectionRef{Device: held.Device, CallID: call, ConnectionID: h.xsiID}, nil
}

// GenerateDigits implements sdk.DigitGenerator: PUT
// .../calls/{callId}/TransmitDTMF?playdtmf= (0-9 * # A-D, comma = pause).
func (d *Driver) GenerateDigits(ctx context.Context, c plugins.ConnectionRef, digits string) error {
	if digits == "" || len(digits) > 64 || strings.Trim(digits, "0123456789*#ABCD,") != "" {
		return fmt.Errorf("generate digits: %w: %q (want 0-9 * # A-D and commas)", plugins.ErrInvalidArgument, digits)
	}
	return d.callAction(ctx, "generate digits", c, http.MethodPut, "/TransmitDTMF", url.Values{"playdtmf": {digits}})
}

// Park implements sdk.Parker: PUT .../calls/{callId}/Park?address=slot.
// BroadWorks Call Park parks against a user, so slot (an extension) is
// required: the user group park would choose is not returned to Xsi ~.
func (d *Driver) Park(ctx context.Context, c plugins.ConnectionRef, slot string) (string, error) {
	if slot == "" {
		return "", fmt.Errorf("park: %w: BroadWorks parks against a user: name one as the slot", plugins.ErrInvalidArgument)
	}
	r, err := d.resolve(ctx, c)
	if err != nil {
		return "", fmt.Errorf("park: %w", err)
	}
	d.setOp(r.xsiID, &pendingOp{kind: opPark, to: slot})
	if err := d.do(ctx, http.MethodPut, userPath(r.uid, "/calls/"+url.PathEscape(r.xsiID)+"/Park"),
		url.Values{"address": {slot}}, nil, nil); err != nil {
		d.setOp(r.xsiID, nil)
		return "", fmt.Errorf("park: %w", err)
	}
	return slot, nil
}

// Pickup implements sdk.PickerUpper: a call parked against from is taken
// with POST .../calls/ParkRetrieve?address=from; if none is, a call
// ringing at from with POST .../calls/DirectedCallPickup?address=from.
func (d *Driver) Pickup(ctx context.Context, device, from string) (plugins.ConnectionRef, error) {
	if device == "" || from == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("pickup: %w: device and from are required", plugins.ErrInvalidArgument)
	}
	uid := d.cfg.userID(device)
	var info xsi.CallStartInfo
	err := d.do(ctx, http.MethodPost, userPath(uid, "/calls/ParkRetrieve"), url.Values{"address": {from}}, nil, &info)
	if errors.Is(err, plugins.ErrNotFound) {
		err = d.do(ctx, http.MethodPost, userPath(uid, "/calls/DirectedCallPickup"), url.Values{"address": {from}}, nil, &info)
	}
	if err != nil {
		return plugins.ConnectionRef{}, fmt.Errorf("pickup: %w", err)
	}
	return ref(device, info), nil
}

// SetDND implements sdk.DNDSetter: PUT .../services/DoNotDisturb.
func (d *Driver) SetDND(ctx context.Context, device string, enabled bool) error {
	if device == "" {
		return fmt.Errorf("set dnd: %w: empty device", plugins.ErrInvalidArgument)
	}
	if err := d.do(ctx, http.MethodPut, userPath(d.cfg.userID(device), "/services/DoNotDisturb"), nil,
		xsi.DoNotDisturb{Active: enabled}, nil); err != nil {
		return fmt.Errorf("set dnd: %w", err)
	}
	return nil
}

// SetForwarding implements sdk.ForwardingSetter: PUT
// .../services/CallForwardingAlways (…Busy, …NoAnswer).
func (d *Driver) SetForwarding(ctx context.Context, device string, f plugins.Forwarding) error {
	svc := forwardServices[f.Type]
	switch {
	case device == "":
		return fmt.Errorf("set forwarding: %w: empty device", plugins.ErrInvalidArgument)
	case svc == "":
		return fmt.Errorf("set forwarding: %w: forwarding type %s", plugins.ErrInvalidArgument, f.Type)
	case f.Enabled && f.To == "":
		return fmt.Errorf("set forwarding: %w: a destination is required", plugins.ErrInvalidArgument)
	}
	body := xsi.Forwarding{XMLName: xml.Name{Space: xsi.Namespace, Local: svc}, Active: f.Enabled, ForwardToPhoneNumber: f.To}
	if err := d.do(ctx, http.MethodPut, userPath(d.cfg.userID(device), "/services/"+svc), nil, body, nil); err != nil {
		return fmt.Errorf("set forwarding: %w", err)
	}
	return nil
}

// SetAgentState implements sdk.AgentStateSetter: PUT .../services/CallCenter
// with agentACDState (and agentUnavailableCode from the reason when not
// ready). BroadWorks names the agent by the user, so AgentID is not sent.
func (d *Driver) SetAgentState(ctx context.Context, r plugins.AgentStateRequest) error {
	acd, ok := acdStates[r.State]
	switch {
	case r.Device == "":
		return fmt.Errorf("set agent state: %w: empty device", plugins.ErrInvalidArgument)
	case !ok:
		return fmt.Errorf("set agent state: %w: agent state %s cannot be set through Xsi", plugins.ErrInvalidArgument, r.State)
	}
	body := xsi.CallCenter{AgentACDState: acd}
	if r.State == plugins.AgentNotReady {
		body.AgentUnavailableCode = r.Reason
	}
	if err := d.do(ctx, http.MethodPut, userPath(d.cfg.userID(r.Device), "/services/"+xsi.ServiceCallCenter), nil, body, nil); err != nil {
		return fmt.Errorf("set agent state: %w", err)
	}
	return nil
}

// pbxSnapshot asks the server for m's calls (GET calls, then GET each
// call), DND and forwarding. The service queries are best effort: a
// service not assigned to the user leaves it off.
func (d *Driver) pbxSnapshot(ctx context.Context, m *monitor) (plugins.DeviceSnapshot, []*halfState, error) {
	return d.pbxSnapshotParts(ctx, m, partAll) // snapparts.go
}

// Interface guards.
var (
	_ sdk.Driver               = (*Driver)(nil)
	_ sdk.Describer            = (*Driver)(nil)
	_ sdk.Closer               = (*Driver)(nil)
	_ sdk.MakeCaller           = (*Driver)(nil)
	_ sdk.Answerer             = (*Driver)(nil)
	_ sdk.Clearer              = (*Driver)(nil)
	_ sdk.Holder               = (*Driver)(nil)
	_ sdk.Retriever            = (*Driver)(nil)
	_ sdk.Consulter            = (*Driver)(nil)
	_ sdk.Transferer           = (*Driver)(nil)
	_ sdk.SingleStepTransferer = (*Driver)(nil)
	_ sdk.Conferencer          = (*Driver)(nil)
	_ sdk.Deflecter            = (*Driver)(nil)
	_ sdk.DigitGenerator       = (*Driver)(nil)
	_ sdk.Parker               = (*Driver)(nil)
	_ sdk.PickerUpper          = (*Driver)(nil)
	_ sdk.DNDSetter            = (*Driver)(nil)
	_ sdk.ForwardingSetter     = (*Driver)(nil)
	_ sdk.AgentStateSetter     = (*Driver)(nil)
)

// Reconnect implements sdk.Reconnecter (CSTA ReconnectCall). Xsi-Actions
// has no single request for it: the consultation (active) is released
// (DELETE .../calls/{callId}) and the held call retrieved (PUT
// .../calls/{callId}/Talk). If the release fails nothing else is done; if
// the retrieve fails the error says the consultation is already gone.
func (d *Driver) Reconnect(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	if _, err := d.resolve(ctx, held); err != nil { // both known before either changes
		return plugins.ConnectionRef{}, fmt.Errorf("reconnect: %w", err)
	}
	if err := d.callAction(ctx, "reconnect", active, http.MethodDelete, "", nil); err != nil {
		return plugins.ConnectionRef{}, err
	}
	if err := d.callAction(ctx, "reconnect (consultation released)", held, http.MethodPut, "/Talk", nil); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return held, nil
}

// Alternate implements sdk.Alternater (CSTA AlternateCall): the active
// call is held (PUT .../Hold), then the held one retrieved (PUT .../Talk),
// two Xsi-Actions requests in that order so the user never has two
// active calls.
func (d *Driver) Alternate(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	if _, err := d.resolve(ctx, held); err != nil { // both known before either changes
		return plugins.ConnectionRef{}, fmt.Errorf("alternate: %w", err)
	}
	if err := d.callAction(ctx, "alternate", active, http.MethodPut, "/Hold", nil); err != nil {
		return plugins.ConnectionRef{}, err
	}
	if err := d.callAction(ctx, "alternate (active call held)", held, http.MethodPut, "/Talk", nil); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return held, nil
}

// ListDevices implements sdk.DeviceLister: GET
// .../user/{userId}/directories/Enterprise?start=&results=
// (XSIDirectories.xsd), read as the first monitored user (the directory
// is the enterprise's, whoever asks). The page token is the next 1-based
// start index. An entry's device is the monitored device of its userId,
// else its extension, else its number.
func (d *Driver) ListDevices(ctx context.Context, token string, size int) (plugins.DevicePage, error) {
	start := 1
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 1 {
			return plugins.DevicePage{}, fmt.Errorf("list devices: %w: bad page token %q", plugins.ErrInvalidArgument, token)
		}
		start = n
	}
	if size <= 0 || size > 1000 {
		size = 1000
	}
	d.mu.Lock()
	devs := make([]string, 0, len(d.monitors))
	for dev := range d.monitors {
		devs = append(devs, dev)
	}
	d.mu.Unlock()
	if len(devs) == 0 {
		return plugins.DevicePage{}, fmt.Errorf("list devices: %w: no monitored user to read the directory as", plugins.ErrFailedPrecondition)
	}
	slices.Sort(devs)
	var page xsi.Enterprise
	q := url.Values{"start": {strconv.Itoa(start)}, "results": {strconv.Itoa(size)}}
	if err := d.do(ctx, http.MethodGet, userPath(d.cfg.userID(devs[0]), "/directories/Enterprise"), q, nil, &page); err != nil {
		return plugins.DevicePage{}, fmt.Errorf("list devices: %w", err)
	}
	out := plugins.DevicePage{Devices: make([]plugins.DirectoryEntry, 0, len(page.Entries))}
	d.mu.Lock()
	for _, e := range page.Entries {
		addr := strings.TrimSpace(e.Extension)
		if addr == "" {
			addr = strings.TrimSpace(e.Number)
		}
		dev := d.deviceOf(xsi.Party{UserID: e.UserID, Address: addr})
		if dev == "" {
			continue
		}
		name := strings.TrimSpace(strings.TrimSpace(e.FirstName) + " " + strings.TrimSpace(e.LastName))
		out.Devices = append(out.Devices, plugins.DirectoryEntry{Device: dev, Name: name, Type: plugins.PartyInternal})
	}
	d.mu.Unlock()
	if n := page.NumberOfRecords; n > 0 && start-1+n < page.TotalAvailableRecords {
		out.Next = strconv.Itoa(start + n)
	}
	return out, nil
}

// ReportsMessageWaiting implements sdk.MessageWaitingReporter: with
// config message_waiting the "Voice Mail Message Summary" package
// (VoiceMailMessageSummaryEvent: new messages > 0 is the lamp on) is
// subscribed per user; Services withdraws the capability without it.
func (d *Driver) ReportsMessageWaiting() bool { return true }

// Services implements sdk.Limiter: every service the driver implements,
// message waiting only when configured.
func (d *Driver) Services() []plugins.Service {
	d.mu.Lock()
	mwi := d.cfg.MessageWaiting
	d.mu.Unlock()
	return slices.DeleteFunc(plugins.AllServices(), func(s plugins.Service) bool {
		return s == plugins.ServiceMessageWaiting && !mwi
	})
}

// servicePackages are the service event packages subscribed per user:
// channel.go's list, and Voice Mail Message Summary when configured.
func (d *Driver) servicePackages() []string {
	if !d.cfg.MessageWaiting {
		return servicePackages
	}
	return append(slices.Clone(servicePackages), xsi.PackageVoiceMailMessageSummary)
}
