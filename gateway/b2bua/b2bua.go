// Package b2bua is Switchboard's back-to-back user agent: it answers a
// caller's INVITE on one leg (A, Switchboard as UAS) and places a new call
// on another (B, Switchboard as UAC), anchoring the media on the RTP relay.
//
// Call setup: registered users authenticate with digest (407); trunks and
// trusted networks call in by address (inbound.go). A dialled number goes
// to a trunk (route.go, with the numbering plan) or to every device a local
// user registered, in parallel (fork.go, ring.go: the first 2xx wins, the
// others are cancelled "completed elsewhere"), on the flow each registered
// from. Max-Forwards and our own Via branches and Call-IDs stop loops
// (loop.go); busy and unanswered users divert once (divert.go); reliable
// provisionals are PRACKed both ways (prack.go); every call ends in a CDR
// (cdr.go). Established calls (re-INVITE, UPDATE, REFER, INFO, session
// timers) are in indialog.go and the files it names.
//
// The dialog (dialog.go, one per leg) is kept apart from the call
// (call.go), and every error maps to a SIP status and a CDR cause
// (errors.go). Each piece of the protocol is written once: a leg (leg.go)
// is one side of a call, its dialog, relay side and origin, and every SDP
// taken from or given to a far end goes through its pipeline
// (acceptOffer/acceptAnswer, heard, sdpFor); B-leg INVITEs are built by
// newInvite/newInviteB (legs.go) and sent through the fork (fork.go: its
// client transactions carry the OnRetransmission hook); 2xx are ACKed by
// ack2xx (legs.go); the responses we repeat ourselves follow retransmit
// (retransmit.go).
//
// Trust: our tags are random per dialog (tags.go); an in-dialog request
// must come from its dialog's peer, by From tag and source address
// (peer.go); a transfer is a new call from the transferor and an INVITE
// with Replaces needs a party of the replaced call (refer_policy.go), or
// for a ringing call, with call_policy.pickup, a local user (pickup.go); a
// stray 2xx is answered only for our own Call-IDs, towards its source
// (stray.go).
package b2bua

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/digest"
	"github.com/switchboard-gw/switchboard/gateway/sipauth"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
	"github.com/switchboard-gw/switchboard/media/webrtc"
)

// Users answers the digest HA1 of a user; ok is false for unknown users.
type Users interface {
	HA1(username, algorithm string) (ha1 string, ok bool)
}

// Router picks the trunk for a dialled number; nil when none matches.
type Router interface {
	Route(number string) *dnssrv.Trunk
}

// Options configure a B2BUA. Every field is required unless said.
type Options struct {
	Auth   *digest.Authenticator
	Users  Users
	Router Router
	// Client sends the B leg's requests and in-dialog requests on both legs.
	Client *sipgo.Client
	// Relay anchors the media of every call.
	Relay *relay.Relay
	// WebRTC bridges browsers' legs to the relay (webrtc.go). Optional.
	WebRTC *webrtc.Engine
	// MediaAddr is the address written in SDP for the relay's ports,
	// unless the relay side advertises its own (relay.Side.Advertised).
	MediaAddr netip.Addr
	// MediaSession, if set, opens a new call's relay session with each
	// side on the media interface of its leg: req is the caller's INVITE,
	// from and to the trunks of the A and B legs (nil for a phone),
	// contacts the called user's bindings. Default: Relay.NewSession.
	MediaSession func(req *sip.Request, from, to *dnssrv.Trunk, contacts []store.Binding) (*relay.Session, error)
	// Contact returns our Contact URI for a transport (udp, tcp...).
	Contact func(transport string) sip.Uri
	// Domain is the host of the From URI towards trunks.
	Domain string
	// Codecs offered to trunks. Default: sdp.DefaultCodecs.
	Codecs []sdp.Codec
	// Ringback is the tone a transferee hears while the target rings
	// without early media (ringback.go). Optional: nil plays none.
	Ringback *relay.ToneTable
	// ServerName goes in the Server header. Optional.
	ServerName string
	// Observer is told of digest failures per source. Optional.
	Observer AuthObserver
	Logger   *slog.Logger

	// Local maps a dialled number to a local user (by username or
	// extension). Optional: without it only trunks are called.
	Local LocalUsers
	// Location lists a user's registered contacts (registrar.Location).
	// Optional with Local.
	Location Locator
	// Domains are the served domains: a user's AOR is user@domain for
	// each. Default: Domain alone.
	Domains []string
	// Trunks may call in without authentication when a request comes
	// from one of their current target addresses (inbound calls). Optional.
	Trunks []*dnssrv.Trunk
	// TrustedCallers reports whether a source is in
	// security.trusted_callers: such a source calls local users without
	// proxy authentication, like a trunk (inbound.go). It says nothing
	// about rate limits or bans (security.exempt_sources, sipguard).
	// Optional.
	TrustedCallers func(netip.Addr) bool
	// Divert returns where a user's unanswered or busy calls go
	// (divert.go). Optional.
	Divert func(user string) (Divert, bool)
	// CDR takes a record of every call as it ends (answered or not).
	// Optional.
	CDR cdr.Recorder
	// RegisteredAs maps a trunk's name to the user part of the Contact we
	// register to it as (trunks[].register: contact_user, default user).
	// A PBX we register to sends its calls to that Contact (RFC 3261
	// §10.2.1), with the dialled number in To: such an INVITE is routed
	// on the To user. Optional.
	RegisteredAs map[string]string
	// Numbering rewrites numbers towards trunks and the caller numbers
	// trunks present (numbering.Plan). Optional: numbers as dialled.
	Numbering Numbering
	// Admission admits calls: class of service, deny-list, call and
	// ringing caps (policy.go). Optional: every call admitted.
	Admission Admission
	// TrunkAuth are the credentials per trunk name for its digest
	// challenges to our INVITEs (trunkauth.go). Optional: a challenge
	// then fails the call with 403.
	TrunkAuth map[string]Credentials
	// Listener names the UDP listener requests to a trunk leave from
	// (trunkauth.go's egress): the port the PBX knows and its firewall
	// opened. Optional: sipgo picks a socket (an ephemeral port).
	Listener func(transport string, remote netip.Addr) (sip.Addr, bool)
	// TrunkSettings are what each trunk, by name, sees of a call: its
	// domain, the caller identity and privacy, redirects (identity.go).
	// Optional: the zero TrunkSettings.
	TrunkSettings map[string]TrunkSettings
	// Profile returns a user's display name and extension (the users
	// table), for the identity callees see. Optional.
	Profile func(username string) (UserProfile, bool)
	// SessionExpires is the session interval we ask for (RFC 4028 §4,
	// calls.session_expires) and MinSE the smallest we accept
	// (calls.min_se). Default: 1800 s and 90 s.
	SessionExpires, MinSE time.Duration
	// Observe is told which Call-IDs make a call and how long setups
	// take (observe.go). Optional.
	Observe Observe
	// Pickup lets any authenticated local user pick up a call ringing at
	// another user's device with an INVITE with Replaces naming its early
	// dialog (BLF directed pickup, pickup.go); the call's own parties may
	// always. Optional: false refuses others with 403.
	Pickup bool
	// OnCall is told of every change of a call's state (observe.go); it
	// must not block. Optional.
	OnCall func(CallEvent)
	// DND returns the status a local user's callers get instead of its
	// devices ringing while it has do-not-disturb on (486 or 480; 486
	// takes the user's busy diversion), 0 when it has not. Optional.
	DND func(user string) int
	// Queues are the operator queues (queue.go), consulted before
	// local-user routing. Optional.
	Queues Queues
}

// Numbering rewrites numbers at the trunk boundary (numbering.Plan).
type Numbering interface {
	// Outbound is the number to send to trunk for a dialled number; an
	// error means the number cannot be called (484).
	Outbound(trunk, number string) (string, error)
	// Inbound is a caller number from trunk as phones are shown it.
	Inbound(trunk, number string) string
}

// LocalUsers resolves dialled numbers to local users.
type LocalUsers interface {
	// Local returns the username number names (a username or an
	// extension); ok is false when it names no user.
	Local(number string) (username string, ok bool)
}

// Locator lists the unexpired bindings of an AOR, best first
// (registrar.Location).
type Locator interface {
	Lookup(aor string, now time.Time) []store.Binding
}

// AuthObserver is told of digest outcomes per source address (sipguard).
type AuthObserver = sipauth.Observer

// B2BUA carries calls. Register its handlers on the SIP server with
// Handlers.
type B2BUA struct {
	o      Options
	auth   *sipauth.Checker
	log    *slog.Logger
	sender *dnssrv.Sender

	mu      sync.Mutex
	dialogs map[string]*leg  // by dialogKey, both legs of every call
	early   map[string]*call // by the caller's dialogKey, while it may PRACK (prack.go)
	calls   sync.WaitGroup
	ctx     context.Context
	stop    context.CancelFunc
	markKey [32]byte  // keys the loop marks of our branches and Call-IDs (loop.go)
	tags    tagMemory // To tags given outside a dialog (tags.go)
	strays  strays    // stray 2xx already hung up (stray.go)
	// foreignReqs counts in-dialog requests from strangers (peer.go).
	foreignReqs atomic.Uint64
	// strayForeign counts stray 2xx for Call-IDs we did not make (stray.go).
	strayForeign atomic.Uint64
	// pickCh and pickable: ringing calls that take pickups, and their
	// early dialogs by dialogKey (pickup.go).
	pickCh   map[*call]chan *pickupReq
	pickable map[string]pickable
	// byRef: every call by its observer ID, while it runs (observe.go).
	byRef map[string]*call
	// lv are the settings of the last reload (live.go).
	lv atomic.Pointer[Live]
}

// New makes a B2BUA.
func New(o Options) *B2BUA {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if len(o.Codecs) == 0 {
		o.Codecs = sdp.DefaultCodecs
	}
	ctx, stop := context.WithCancel(context.Background())
	b := &B2BUA{o: o, log: o.Logger, dialogs: map[string]*leg{}, ctx: ctx, stop: stop}
	_, _ = rand.Read(b.markKey[:])
	b.sender = &dnssrv.Sender{Client: o.Client, Prepare: b.prepareTrunk}
	b.auth = &sipauth.Checker{Auth: o.Auth, HA1: o.Users.HA1, Observer: o.Observer, Log: o.Logger}
	return b
}

// Handlers returns the request handlers by method.
func (b *B2BUA) Handlers() map[sip.RequestMethod]sipgo.RequestHandler {
	return map[sip.RequestMethod]sipgo.RequestHandler{
		sip.INVITE: b.onInvite,
		sip.ACK:    b.onAck,
		sip.BYE:    b.onBye,
		sip.PRACK:  b.onPrack,
		sip.UPDATE: b.onUpdate, // RFC 3311 (reinvite.go)
		sip.INFO:   b.onInfo,   // RFC 6086 (info.go)
		sip.REFER:  b.onRefer,  // RFC 3515 (refer.go)
		sip.NOTIFY: b.onNotify, // in-dialog NOTIFY (info.go)
	}
}

// MediaAddr is the address written in SDP for the relay.
func (b *B2BUA) MediaAddr() netip.Addr { return b.o.MediaAddr }

// newMedia opens the relay session of a call from the caller c to tgt.
func (b *B2BUA) newMedia(req *sip.Request, c caller, tgt target) (*relay.Session, error) {
	if b.o.MediaSession == nil {
		return b.o.Relay.NewSession()
	}
	return b.o.MediaSession(req, c.trunk, tgt.trunk, tgt.contacts)
}

// Len returns the number of calls with an established or pending dialog.
func (b *B2BUA) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.dialogs) / 2
}

// Close hangs up every call and waits for them to end.
func (b *B2BUA) Close() {
	b.stop()
	b.calls.Wait()
}

// addDialogs lists both legs of an answered call (leg.go) for the
// requests that reach them.
func (b *B2BUA) addDialogs(c *call) {
	b.mu.Lock()
	a, bl := c.legsLocked(true)
	b.dialogs[c.a.key()] = a
	b.dialogs[c.b.key()] = bl
	b.mu.Unlock()
}

func (b *B2BUA) removeDialogs(c *call) {
	b.mu.Lock()
	delete(b.dialogs, c.a.key())
	if c.b != nil {
		delete(b.dialogs, c.b.key())
	}
	b.mu.Unlock()
}

// lookup finds the leg of an in-dialog request (RFC 3261 §12.2.2): by
// Call-ID and our tag, and only when the request comes from the dialog's
// peer (peer.go); nil otherwise.
func (b *B2BUA) lookup(req *sip.Request) *leg {
	l, err := b.find(req)
	if err != nil {
		b.foreign(req, err)
		return nil
	}
	return l
}

// find is lookup without counting strangers: a nil leg with an error for
// a request that names a dialog of ours but is not from its peer.
func (b *B2BUA) find(req *sip.Request) (*leg, error) {
	to := req.To()
	cid := req.CallID()
	if to == nil || cid == nil {
		return nil, nil
	}
	tag, _ := to.Params.Get("tag")
	b.mu.Lock()
	l := b.dialogs[dialogKey(string(*cid), tag)]
	b.mu.Unlock()
	if l == nil {
		return nil, nil
	}
	if err := b.checkPeer(l.d, req); err != nil {
		return nil, err
	}
	return l, nil
}

// onAck takes the caller's ACK for our 2xx; the B leg was ACKed when its
// 2xx came (RFC 3261 §13.2.2.4).
func (b *B2BUA) onAck(req *sip.Request, _ sip.ServerTransaction) {
	if l := b.lookup(req); l != nil {
		// Only the ACK of the INVITE's 2xx (its CSeq number, RFC 3261
		// §13.2.2.4) stops the 2xx retransmissions: the ACK of the 407
		// before it has the same tags (tags.go) and, handled late on a
		// loaded gateway, came after the 2xx.
		if cs := req.CSeq(); l.isA && (l.d.inviteSeq == 0 || cs != nil && cs.SeqNo == l.d.inviteSeq) {
			l.c.ackAnswer(req) // the answer to a late offer (lateoffer.go)
			l.c.acked()
		}
		b.onAckInDialog(l, req) // ACK of a re-INVITE's 2xx (reinvite.go)
	}
}

// onBye ends the call from either side (RFC 3261 §15.1.2): 200 to the BYE,
// then BYE on the other leg.
func (b *B2BUA) onBye(req *sip.Request, tx sip.ServerTransaction) {
	l := b.lookup(req)
	if l == nil {
		b.respond(tx, req, 481, "Call/Transaction Does Not Exist", nil)
		return
	}
	then, inTransfer := l.c.markByeInTransfer(l.d, l.isA)
	b.respond(tx, req, 200, "OK", nil)
	if inTransfer {
		if then != nil {
			then()
		}
		return // RFC 5589: the transferor's BYE ends its leg only (transferor.go)
	}
	l.c.hangup(!l.isA, nil, reasonsOf(req)...) // RFC 3326 (reason.go)
}

// prepare sets the B leg INVITE's Request-URI host to the target chosen
// (RFC 3263 §4: the request goes to the server found for the trunk).
func (b *B2BUA) prepare(req *sip.Request, t dnssrv.Target) {
	if !b.keepHost(req.Recipient.Host) { // a trunk's own domain stays (identity.go)
		req.Recipient.Host = t.Addr.Addr().String()
		req.Recipient.Port = int(t.Addr.Port())
	}
	if via := req.Via(); via != nil {
		via.Params.Add("branch", b.newBranch()) // ours, for loop detection (loop.go)
	}
	c := b.o.Contact(t.Transport.Network())
	req.ReplaceHeader(&sip.ContactHeader{Address: c})
}

// respond answers req with code, adding Server and hs.
func (b *B2BUA) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, body []byte, hs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	if to := res.To(); code > 100 && to != nil && !req.To().Params.Has("tag") {
		// RFC 3261 §8.2.6.2: a To tag on every response but 100.
		to.Params.Add("tag", b.localTag(req))
	}
	for _, h := range hs {
		res.AppendHeader(h)
	}
	if b.o.ServerName != "" {
		res.AppendHeader(sip.NewHeader("Server", b.o.ServerName))
	}
	if err := tx.Respond(res); err != nil {
		b.log.Debug("sending response", "code", code, "error", err)
	}
}

// number is the dialled number: the user part of the Request-URI.
func number(req *sip.Request) string {
	return strings.TrimSpace(req.Recipient.User)
}

// dialled is the number a call is for. A trunk we register to addresses
// its calls to our registered Contact, whose user part names the
// registration, not the callee; the callee is then the To user
// (RFC 3261 §8.1.1.2: To is the logical recipient).
func (b *B2BUA) dialled(req *sip.Request, who caller) string {
	n := number(req)
	if who.trunk == nil || req.To() == nil {
		return n
	}
	if as := b.live().RegisteredAs[who.trunk.Name()]; n == "" || (as != "" && n == as) {
		if to := strings.TrimSpace(req.To().Address.User); to != "" {
			return to
		}
	}
	return n
}
