package provision

import (
	"bytes"
	"fmt"
	"image/png"
	"net"
	"net/url"
	"strconv"

	qrcode "github.com/skip2/go-qrcode"
)

// Listener is a SIP listener of the gateway as clients reach it.
type Listener struct {
	Transport string // udp, tcp, tls, ws, wss
	Host      string
	Port      int
	Path      string // ws and wss
}

// Registrar is one way to register, in the account settings.
type Registrar struct {
	Transport string `json:"transport"`
	Host      string `json:"host"`
	Port      int    `json:"port"`
	// URI is the registrar/outbound proxy URI (sip:host:port;transport=x,
	// or the ws:/wss: URL for WebSocket, RFC 7118).
	URI string `json:"uri"`
}

// ICECredentials is a STUN/TURN server with credentials, as
// RTCIceServer (W3C WebRTC §4.2.1).
type ICECredentials struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Credentials are a user's SIP credentials as the store keeps them: the
// digest HA1 values for the realm (RFC 7616 §3.4.2), never a password.
// Clients that take an HA1 (Linphone's ha1, many desk phones) use it in
// place of the password.
type Credentials struct {
	AuthUsername string `json:"auth_username"`
	Realm        string `json:"realm"`
	HA1MD5       string `json:"ha1_md5"`
	HA1SHA256    string `json:"ha1_sha256,omitempty"`
}

// Account is the per-user provisioning document.
type Account struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name,omitempty"`
	Extension   string `json:"extension,omitempty"`
	// URI is the address of record, sip:username@domain.
	URI        string      `json:"uri"`
	Domain     string      `json:"domain"`
	Realm      string      `json:"realm"`
	Registrars []Registrar `json:"registrars"`
	// OutboundProxy is the preferred registrar: TLS, else TCP, else the
	// first.
	OutboundProxy string `json:"outbound_proxy,omitempty"`
	// STUNHost and STUNPort name the STUN server (the names seed 003
	// uses in its client profile).
	STUNHost string `json:"stun_host,omitempty"`
	STUNPort int    `json:"stun_port,omitempty"`
	// SettingsURL is the 46xxsettings.txt for Avaya Workplace.
	SettingsURL string `json:"settings_url,omitempty"`
	// WebPhoneURL opens the web phone with the user named.
	WebPhoneURL string `json:"web_phone_url"`
	// Credentials and ICEServers are given to the user only, never to
	// an admin reading someone else's account.
	Credentials *Credentials     `json:"credentials,omitempty"`
	ICEServers  []ICECredentials `json:"ice_servers,omitempty"`
}

// AccountInput is what an Account is built from.
type AccountInput struct {
	Username, DisplayName, Extension string
	Domain, Realm, Host              string
	Listeners                        []Listener
	STUN                             []ICEServer
	SettingsURL                      string
	// WebPhoneBase is the web phone's URL without the user, as
	// https://host:8443/phone.
	WebPhoneBase string
}

// BuildAccount returns the account settings of in (without credentials).
func BuildAccount(in AccountInput) Account {
	a := Account{
		Username: in.Username, DisplayName: in.DisplayName, Extension: in.Extension,
		URI: "sip:" + in.Username + "@" + in.Domain, Domain: in.Domain, Realm: in.Realm,
		Registrars: []Registrar{}, SettingsURL: in.SettingsURL, WebPhoneURL: WebPhoneURL(in.WebPhoneBase, in.Username),
	}
	rank := map[string]int{"tls": 0, "tcp": 1, "udp": 2, "wss": 3, "ws": 4}
	best := 99
	for _, l := range in.Listeners {
		hp := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
		var uri string
		switch l.Transport {
		case "ws", "wss":
			path := l.Path
			if path == "" {
				path = "/"
			}
			uri = (&url.URL{Scheme: l.Transport, Host: hp, Path: path}).String()
		default:
			uri = "sip:" + hp + ";transport=" + l.Transport
		}
		a.Registrars = append(a.Registrars, Registrar{Transport: l.Transport, Host: l.Host, Port: l.Port, URI: uri})
		if r, ok := rank[l.Transport]; ok && r < best && r <= 2 {
			best, a.OutboundProxy = r, uri
		}
	}
	if len(in.STUN) > 0 {
		a.STUNHost, a.STUNPort = in.STUN[0].Host, in.STUN[0].Port
	}
	return a
}

// WebPhoneURL is base?user=username.
func WebPhoneURL(base, username string) string {
	return base + "?" + url.Values{"user": {username}}.Encode()
}

// QRPNG encodes text as a QR code PNG of size pixels (ISO/IEC 18004,
// error correction level M).
func QRPNG(text string, size int) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, q.Image(size)); err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	return b.Bytes(), nil
}
