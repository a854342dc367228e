package plugins

// This file is the shim: the only place where the driver protocol meets
// gRPC. The client half turns [Driver] calls into driverv1 calls; the server
// half, in the driver process, turns them back. Errors cross as gRPC status
// codes (see toStatus and fromStatus).

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboard-gw/switchboard/plugins/proto/driverv1"
)

// DriverPlugin is the go-plugin GRPCPlugin of the driver protocol. On the
// host it dispenses a [Driver] that speaks gRPC; in a driver process it
// serves Impl.
type DriverPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl answers the calls in the driver process; nil on the host.
	Impl Driver
}

// GRPCServer registers the driver service (driver side).
func (p *DriverPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("plugins: driver plugin served without an implementation")
	}
	pb.RegisterDriverServer(s, &grpcServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a [Driver] backed by conn (host side).
func (p *DriverPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &grpcClient{c: pb.NewDriverClient(conn)}, nil
}

var (
	_ plugin.GRPCPlugin = (*DriverPlugin)(nil)
	_ Driver            = (*grpcClient)(nil)
	_ pb.DriverServer   = (*grpcServer)(nil)
)

// ---- errors ----

var codeErrs = []struct {
	code codes.Code
	err  error
}{
	{codes.Aborted, ErrIncompatible}, // first: it may wrap another
	{codes.Unimplemented, ErrNotSupported},
	{codes.NotFound, ErrNotFound},
	{codes.InvalidArgument, ErrInvalidArgument},
	{codes.FailedPrecondition, ErrFailedPrecondition},
	{codes.Unavailable, ErrUnavailable},
	{codes.DeadlineExceeded, context.DeadlineExceeded},
	{codes.Canceled, context.Canceled},
}

// toStatus turns a driver's error into a gRPC status error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, ce := range codeErrs {
		if errors.Is(err, ce.err) {
			return status.Error(ce.code, err.Error())
		}
	}
	return status.Error(codes.Unknown, err.Error())
}

// remoteError is an error that came over the wire: its text is the
// driver's, and it unwraps to the package error of its status code.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// fromStatus turns a gRPC error into a Go error that errors.Is matches
// against ErrNotSupported, ErrUnavailable, context.DeadlineExceeded, ...
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, ce := range codeErrs {
		if st.Code() == ce.code {
			return &remoteError{msg: st.Message(), kind: ce.err}
		}
	}
	return &remoteError{msg: st.Message()}
}

// ---- conversions ----

func connToPB(c ConnectionRef) *pb.ConnectionRef {
	return &pb.ConnectionRef{Device: c.Device, CallId: c.CallID, ConnectionId: c.ConnectionID}
}

func connFromPB(c *pb.ConnectionRef) ConnectionRef {
	return ConnectionRef{Device: c.GetDevice(), CallID: c.GetCallId(), ConnectionID: c.GetConnectionId()}
}

func fwdToPB(f Forwarding) *pb.Forwarding {
	return &pb.Forwarding{Type: pb.ForwardingType(f.Type), To: f.To, Enabled: f.Enabled}
}

func fwdFromPB(f *pb.Forwarding) Forwarding {
	return Forwarding{Type: ForwardingType(f.GetType()), To: f.GetTo(), Enabled: f.GetEnabled()}
}

func tsToPB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsFromPB(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func eventToPB(e Event) *pb.Event {
	m := &pb.Event{
		Sequence: e.Seq, MonitorId: e.MonitorID, Device: e.Device, CallId: e.CallID,
		ConnectionId: e.ConnectionID, Type: pb.EventType(e.Type), State: pb.ConnectionState(e.State),
		Cause: pb.Cause(e.Cause), RawCause: e.RawCause, CallingDevice: e.Calling,
		CalledDevice: e.Called, OtherDevice: e.Other, OldCallId: e.OldCallID,
		PbxTime: tsToPB(e.PBXTime), Time: tsToPB(e.Time), Dnd: e.DND,
		AgentState: pb.AgentState(e.AgentState), CallingName: e.CallingName, CalledName: e.CalledName,
		OtherName: e.OtherName, OriginalCalledDevice: e.OriginalCalled, LastRedirectionDevice: e.LastRedirection,
		GlobalCallId: e.GlobalCallID, PartyType: pb.PartyType(e.PartyType), MessageWaiting: e.MessageWaiting,
		QueueLength: u32(e.QueueLength), QueuePosition: u32(e.QueuePosition),
	}
	if e.Forwarding != nil {
		m.Forwarding = fwdToPB(*e.Forwarding)
	}
	return m
}

func eventFromPB(m *pb.Event) Event {
	e := Event{
		Seq: m.GetSequence(), MonitorID: m.GetMonitorId(), Device: m.GetDevice(), CallID: m.GetCallId(),
		ConnectionID: m.GetConnectionId(), Type: EventType(m.GetType()), State: ConnectionState(m.GetState()),
		Cause: Cause(m.GetCause()), RawCause: m.GetRawCause(), Calling: m.GetCallingDevice(),
		Called: m.GetCalledDevice(), Other: m.GetOtherDevice(), OldCallID: m.GetOldCallId(),
		PBXTime: tsFromPB(m.GetPbxTime()), Time: tsFromPB(m.GetTime()), DND: m.GetDnd(),
		AgentState: AgentState(m.GetAgentState()), CallingName: m.GetCallingName(), CalledName: m.GetCalledName(),
		OtherName: m.GetOtherName(), OriginalCalled: m.GetOriginalCalledDevice(),
		LastRedirection: m.GetLastRedirectionDevice(), GlobalCallID: m.GetGlobalCallId(),
		PartyType: PartyType(m.GetPartyType()), MessageWaiting: m.GetMessageWaiting(),
		QueueLength: int(m.GetQueueLength()), QueuePosition: int(m.GetQueuePosition()),
	}
	if m.GetForwarding() != nil {
		f := fwdFromPB(m.GetForwarding())
		e.Forwarding = &f
	}
	return e
}

func snapshotToPB(s DeviceSnapshot) *pb.SnapshotResponse {
	m := &pb.SnapshotResponse{Device: s.Device, Dnd: s.DND, AgentState: pb.AgentState(s.AgentState), Sequence: s.Seq,
		Stale: s.Stale, MessageWaiting: s.MessageWaiting, Category: pb.DeviceCategory(s.Category)}
	for _, c := range s.Calls {
		m.Calls = append(m.Calls, &pb.SnapshotCall{CallId: c.CallID, ConnectionId: c.ConnectionID,
			State: pb.ConnectionState(c.State), OtherDevice: c.Other, OtherName: c.OtherName,
			PartyType: pb.PartyType(c.PartyType), GlobalCallId: c.GlobalCallID,
			OriginalCalledDevice: c.OriginalCalled, LastRedirectionDevice: c.LastRedirection,
			CallingDevice: c.Calling, CalledDevice: c.Called, QueuePosition: u32(c.QueuePosition)})
	}
	for _, f := range s.Forwarding {
		m.Forwarding = append(m.Forwarding, fwdToPB(f))
	}
	return m
}

func snapshotFromPB(m *pb.SnapshotResponse) DeviceSnapshot {
	s := DeviceSnapshot{Device: m.GetDevice(), DND: m.GetDnd(), AgentState: AgentState(m.GetAgentState()), Seq: m.GetSequence(),
		Stale: m.GetStale(), MessageWaiting: m.GetMessageWaiting(), Category: DeviceCategory(m.GetCategory())}
	for _, c := range m.GetCalls() {
		s.Calls = append(s.Calls, CallSnapshot{CallID: c.GetCallId(), ConnectionID: c.GetConnectionId(),
			State: ConnectionState(c.GetState()), Other: c.GetOtherDevice(), OtherName: c.GetOtherName(),
			PartyType: PartyType(c.GetPartyType()), GlobalCallID: c.GetGlobalCallId(),
			OriginalCalled: c.GetOriginalCalledDevice(), LastRedirection: c.GetLastRedirectionDevice(),
			Calling: c.GetCallingDevice(), Called: c.GetCalledDevice(), QueuePosition: int(c.GetQueuePosition())})
	}
	for _, f := range m.GetForwarding() {
		s.Forwarding = append(s.Forwarding, fwdFromPB(f))
	}
	return s
}

// ---- client (host side) ----

type grpcClient struct{ c pb.DriverClient }

// conn runs a unary call that answers with a connection.
func conn(resp *pb.CallResponse, err error) (ConnectionRef, error) {
	if err != nil {
		return ConnectionRef{}, fromStatus(err)
	}
	return connFromPB(resp.GetConnection()), nil
}

func ack(_ *pb.Ack, err error) error { return fromStatus(err) }

func (c *grpcClient) Start(ctx context.Context, req StartRequest) error {
	_, err := c.c.Start(ctx, &pb.StartRequest{Driver: req.Driver, Config: req.Config})
	return fromStatus(err)
}

func (c *grpcClient) Capabilities(ctx context.Context) (Capabilities, error) {
	m, err := c.c.Capabilities(ctx, &pb.CapabilitiesRequest{})
	if err != nil {
		return Capabilities{}, fromStatus(err)
	}
	caps := Capabilities{Vendor: m.GetVendor(), Version: m.GetVersion(), MaxMonitors: int(m.GetMaxMonitors())}
	for _, s := range m.GetServices() {
		caps.Services = append(caps.Services, Service(s))
	}
	return caps, nil
}

func (c *grpcClient) MonitorStart(ctx context.Context, device string) (string, error) {
	m, err := c.c.MonitorStart(ctx, &pb.MonitorStartRequest{Device: device})
	if err != nil {
		return "", fromStatus(err)
	}
	return m.GetMonitorId(), nil
}

func (c *grpcClient) MonitorStop(ctx context.Context, device string) error {
	_, err := c.c.MonitorStop(ctx, &pb.MonitorStopRequest{Device: device})
	return fromStatus(err)
}

func (c *grpcClient) Snapshot(ctx context.Context, device string) (DeviceSnapshot, error) {
	m, err := c.c.Snapshot(ctx, &pb.SnapshotRequest{Device: device})
	if err != nil {
		return DeviceSnapshot{}, fromStatus(err)
	}
	return snapshotFromPB(m), nil
}

func (c *grpcClient) Events(ctx context.Context, send func(Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.c.Events(ctx, &pb.EventsRequest{})
	if err != nil {
		return fromStatus(err)
	}
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fromStatus(err)
		}
		if err := send(eventFromPB(m)); err != nil {
			return err
		}
	}
}

func (c *grpcClient) MakeCall(ctx context.Context, r MakeCallRequest) (ConnectionRef, error) {
	return conn(c.c.MakeCall(ctx, &pb.MakeCallRequest{CallingDevice: r.Calling,
		CalledDirectoryNumber: r.Called, AccountCode: r.AccountCode, UserData: r.UserData}))
}

func (c *grpcClient) Answer(ctx context.Context, cr ConnectionRef) error {
	return ack(c.c.Answer(ctx, &pb.ConnectionRequest{Connection: connToPB(cr)}))
}

func (c *grpcClient) Clear(ctx context.Context, cr ConnectionRef) error {
	return ack(c.c.Clear(ctx, &pb.ConnectionRequest{Connection: connToPB(cr)}))
}

func (c *grpcClient) Hold(ctx context.Context, cr ConnectionRef) error {
	return ack(c.c.Hold(ctx, &pb.ConnectionRequest{Connection: connToPB(cr)}))
}

func (c *grpcClient) Retrieve(ctx context.Context, cr ConnectionRef) error {
	return ack(c.c.Retrieve(ctx, &pb.ConnectionRequest{Connection: connToPB(cr)}))
}

func (c *grpcClient) Consultation(ctx context.Context, existing ConnectionRef, to string) (ConnectionRef, error) {
	return conn(c.c.Consultation(ctx, &pb.ConsultationRequest{Existing: connToPB(existing), ConsultedDevice: to}))
}

func (c *grpcClient) Transfer(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error) {
	return conn(c.c.Transfer(ctx, &pb.TransferRequest{Held: connToPB(held), Active: connToPB(active)}))
}

func (c *grpcClient) SingleStepTransfer(ctx context.Context, cr ConnectionRef, to string) (ConnectionRef, error) {
	return conn(c.c.SingleStepTransfer(ctx, &pb.SingleStepTransferRequest{Connection: connToPB(cr), To: to}))
}

func (c *grpcClient) Conference(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error) {
	return conn(c.c.Conference(ctx, &pb.ConferenceRequest{Held: connToPB(held), Active: connToPB(active)}))
}

func (c *grpcClient) Deflect(ctx context.Context, cr ConnectionRef, to string) error {
	return ack(c.c.Deflect(ctx, &pb.DeflectRequest{Connection: connToPB(cr), To: to}))
}

func (c *grpcClient) GenerateDigits(ctx context.Context, cr ConnectionRef, digits string) error {
	return ack(c.c.GenerateDigits(ctx, &pb.GenerateDigitsRequest{Connection: connToPB(cr), Digits: digits}))
}

func (c *grpcClient) Park(ctx context.Context, cr ConnectionRef, slot string) (string, error) {
	m, err := c.c.Park(ctx, &pb.ParkRequest{Connection: connToPB(cr), Slot: slot})
	if err != nil {
		return "", fromStatus(err)
	}
	return m.GetSlot(), nil
}

func (c *grpcClient) Pickup(ctx context.Context, device, from string) (ConnectionRef, error) {
	return conn(c.c.Pickup(ctx, &pb.PickupRequest{Device: device, From: from}))
}

func (c *grpcClient) SetDND(ctx context.Context, device string, enabled bool) error {
	return ack(c.c.SetDND(ctx, &pb.SetDNDRequest{Device: device, Enabled: enabled}))
}

func (c *grpcClient) SetForwarding(ctx context.Context, device string, f Forwarding) error {
	return ack(c.c.SetForwarding(ctx, &pb.SetForwardingRequest{Device: device, Forwarding: fwdToPB(f)}))
}

func (c *grpcClient) SetAgentState(ctx context.Context, r AgentStateRequest) error {
	return ack(c.c.SetAgentState(ctx, &pb.SetAgentStateRequest{Device: r.Device, AgentId: r.AgentID,
		State: pb.AgentState(r.State), Reason: r.Reason}))
}

func (c *grpcClient) Reconnect(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error) {
	return conn(c.c.Reconnect(ctx, &pb.ReconnectRequest{Held: connToPB(held), Active: connToPB(active)}))
}

func (c *grpcClient) Alternate(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error) {
	return conn(c.c.Alternate(ctx, &pb.AlternateRequest{Held: connToPB(held), Active: connToPB(active)}))
}

func (c *grpcClient) ListDevices(ctx context.Context, token string, size int) (DevicePage, error) {
	m, err := c.c.ListDevices(ctx, &pb.ListDevicesRequest{PageToken: token, PageSize: uint32(max(size, 0))})
	if err != nil {
		return DevicePage{}, fromStatus(err)
	}
	p := DevicePage{Next: m.GetNextPageToken(), Devices: make([]DirectoryEntry, 0, len(m.GetDevices()))}
	for _, d := range m.GetDevices() {
		p.Devices = append(p.Devices, DirectoryEntry{Device: d.GetDevice(), Name: d.GetName(), Type: PartyType(d.GetType()),
			Category: DeviceCategory(d.GetCategory())})
	}
	return p, nil
}

// ---- server (driver side) ----

type grpcServer struct {
	pb.UnimplementedDriverServer
	impl Driver
}

var ackMsg = &pb.Ack{}

func callResp(c ConnectionRef, err error) (*pb.CallResponse, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.CallResponse{Connection: connToPB(c)}, nil
}

func ackResp(err error) (*pb.Ack, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	return ackMsg, nil
}

func (s *grpcServer) Start(ctx context.Context, r *pb.StartRequest) (*pb.StartResponse, error) {
	if err := s.impl.Start(ctx, StartRequest{Driver: r.GetDriver(), Config: r.GetConfig()}); err != nil {
		return nil, toStatus(err)
	}
	return &pb.StartResponse{}, nil
}

func (s *grpcServer) Capabilities(ctx context.Context, _ *pb.CapabilitiesRequest) (*pb.CapabilitiesResponse, error) {
	c, err := s.impl.Capabilities(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	m := &pb.CapabilitiesResponse{Vendor: c.Vendor, Version: c.Version, MaxMonitors: uint32(max(c.MaxMonitors, 0))}
	for _, svc := range c.Services {
		m.Services = append(m.Services, pb.Service(svc))
	}
	return m, nil
}

func (s *grpcServer) MonitorStart(ctx context.Context, r *pb.MonitorStartRequest) (*pb.MonitorStartResponse, error) {
	id, err := s.impl.MonitorStart(ctx, r.GetDevice())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.MonitorStartResponse{MonitorId: id}, nil
}

func (s *grpcServer) MonitorStop(ctx context.Context, r *pb.MonitorStopRequest) (*pb.MonitorStopResponse, error) {
	if err := s.impl.MonitorStop(ctx, r.GetDevice()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.MonitorStopResponse{}, nil
}

func (s *grpcServer) Snapshot(ctx context.Context, r *pb.SnapshotRequest) (*pb.SnapshotResponse, error) {
	snap, err := s.impl.Snapshot(ctx, r.GetDevice())
	if err != nil {
		return nil, toStatus(err)
	}
	return snapshotToPB(snap), nil
}

func (s *grpcServer) Events(_ *pb.EventsRequest, stream grpc.ServerStreamingServer[pb.Event]) error {
	return toStatus(s.impl.Events(stream.Context(), func(e Event) error {
		return stream.Send(eventToPB(e))
	}))
}

func (s *grpcServer) MakeCall(ctx context.Context, r *pb.MakeCallRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.MakeCall(ctx, MakeCallRequest{Calling: r.GetCallingDevice(),
		Called: r.GetCalledDirectoryNumber(), AccountCode: r.GetAccountCode(), UserData: r.GetUserData()}))
}

func (s *grpcServer) Answer(ctx context.Context, r *pb.ConnectionRequest) (*pb.Ack, error) {
	return ackResp(s.impl.Answer(ctx, connFromPB(r.GetConnection())))
}

func (s *grpcServer) Clear(ctx context.Context, r *pb.ConnectionRequest) (*pb.Ack, error) {
	return ackResp(s.impl.Clear(ctx, connFromPB(r.GetConnection())))
}

func (s *grpcServer) Hold(ctx context.Context, r *pb.ConnectionRequest) (*pb.Ack, error) {
	return ackResp(s.impl.Hold(ctx, connFromPB(r.GetConnection())))
}

func (s *grpcServer) Retrieve(ctx context.Context, r *pb.ConnectionRequest) (*pb.Ack, error) {
	return ackResp(s.impl.Retrieve(ctx, connFromPB(r.GetConnection())))
}

func (s *grpcServer) Consultation(ctx context.Context, r *pb.ConsultationRequest) (*pb.CallResponse, error) {
	if r.GetAccountCode() != "" {
		return callResp(s.impl.ConsultationAccount(ctx, connFromPB(r.GetExisting()), r.GetConsultedDevice(), r.GetAccountCode()))
	}
	return callResp(s.impl.Consultation(ctx, connFromPB(r.GetExisting()), r.GetConsultedDevice()))
}

func (s *grpcServer) Transfer(ctx context.Context, r *pb.TransferRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.Transfer(ctx, connFromPB(r.GetHeld()), connFromPB(r.GetActive())))
}

func (s *grpcServer) SingleStepTransfer(ctx context.Context, r *pb.SingleStepTransferRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.SingleStepTransfer(ctx, connFromPB(r.GetConnection()), r.GetTo()))
}

func (s *grpcServer) Conference(ctx context.Context, r *pb.ConferenceRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.Conference(ctx, connFromPB(r.GetHeld()), connFromPB(r.GetActive())))
}

func (s *grpcServer) Deflect(ctx context.Context, r *pb.DeflectRequest) (*pb.Ack, error) {
	return ackResp(s.impl.Deflect(ctx, connFromPB(r.GetConnection()), r.GetTo()))
}

func (s *grpcServer) GenerateDigits(ctx context.Context, r *pb.GenerateDigitsRequest) (*pb.Ack, error) {
	return ackResp(s.impl.GenerateDigits(ctx, connFromPB(r.GetConnection()), r.GetDigits()))
}

func (s *grpcServer) Park(ctx context.Context, r *pb.ParkRequest) (*pb.ParkResponse, error) {
	slot, err := s.impl.Park(ctx, connFromPB(r.GetConnection()), r.GetSlot())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ParkResponse{Slot: slot}, nil
}

func (s *grpcServer) Pickup(ctx context.Context, r *pb.PickupRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.Pickup(ctx, r.GetDevice(), r.GetFrom()))
}

func (s *grpcServer) SetDND(ctx context.Context, r *pb.SetDNDRequest) (*pb.Ack, error) {
	return ackResp(s.impl.SetDND(ctx, r.GetDevice(), r.GetEnabled()))
}

func (s *grpcServer) SetForwarding(ctx context.Context, r *pb.SetForwardingRequest) (*pb.Ack, error) {
	return ackResp(s.impl.SetForwarding(ctx, r.GetDevice(), fwdFromPB(r.GetForwarding())))
}

func (s *grpcServer) SetAgentState(ctx context.Context, r *pb.SetAgentStateRequest) (*pb.Ack, error) {
	return ackResp(s.impl.SetAgentState(ctx, AgentStateRequest{Device: r.GetDevice(), AgentID: r.GetAgentId(),
		State: AgentState(r.GetState()), Reason: r.GetReason()}))
}

func (s *grpcServer) Reconnect(ctx context.Context, r *pb.ReconnectRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.Reconnect(ctx, connFromPB(r.GetHeld()), connFromPB(r.GetActive())))
}

func (s *grpcServer) Alternate(ctx context.Context, r *pb.AlternateRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.Alternate(ctx, connFromPB(r.GetHeld()), connFromPB(r.GetActive())))
}

func (s *grpcServer) ListDevices(ctx context.Context, r *pb.ListDevicesRequest) (*pb.ListDevicesResponse, error) {
	p, err := s.impl.ListDevices(ctx, r.GetPageToken(), int(min(r.GetPageSize(), 1<<20)))
	if err != nil {
		return nil, toStatus(err)
	}
	m := &pb.ListDevicesResponse{NextPageToken: p.Next}
	for _, d := range p.Devices {
		m.Devices = append(m.Devices, &pb.DirectoryEntry{Device: d.Device, Name: d.Name, Type: pb.PartyType(d.Type),
			Category: pb.DeviceCategory(d.Category)})
	}
	return m, nil
}

// u32 is n as a proto uint32 (negative: 0).
func u32(n int) uint32 { return uint32(min(max(n, 0), 1<<31)) }

func (c *grpcClient) GroupPickup(ctx context.Context, device, group string) (ConnectionRef, error) {
	return conn(c.c.GroupPickup(ctx, &pb.GroupPickupRequest{Device: device, Group: group}))
}

func (c *grpcClient) CampOn(ctx context.Context, cr ConnectionRef) error {
	return ack(c.c.CampOn(ctx, &pb.ConnectionRequest{Connection: connToPB(cr)}))
}

func (c *grpcClient) CallBack(ctx context.Context, cr ConnectionRef) error {
	return ack(c.c.CallBack(ctx, &pb.ConnectionRequest{Connection: connToPB(cr)}))
}

func (c *grpcClient) Intrude(ctx context.Context, cr ConnectionRef) (ConnectionRef, error) {
	return conn(c.c.Intrude(ctx, &pb.ConnectionRequest{Connection: connToPB(cr)}))
}

func (c *grpcClient) ConsultationAccount(ctx context.Context, existing ConnectionRef, to, account string) (ConnectionRef, error) {
	return conn(c.c.Consultation(ctx, &pb.ConsultationRequest{Existing: connToPB(existing), ConsultedDevice: to, AccountCode: account}))
}

func (s *grpcServer) GroupPickup(ctx context.Context, r *pb.GroupPickupRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.GroupPickup(ctx, r.GetDevice(), r.GetGroup()))
}

func (s *grpcServer) CampOn(ctx context.Context, r *pb.ConnectionRequest) (*pb.Ack, error) {
	return ackResp(s.impl.CampOn(ctx, connFromPB(r.GetConnection())))
}

func (s *grpcServer) CallBack(ctx context.Context, r *pb.ConnectionRequest) (*pb.Ack, error) {
	return ackResp(s.impl.CallBack(ctx, connFromPB(r.GetConnection())))
}

func (s *grpcServer) Intrude(ctx context.Context, r *pb.ConnectionRequest) (*pb.CallResponse, error) {
	return callResp(s.impl.Intrude(ctx, connFromPB(r.GetConnection())))
}
