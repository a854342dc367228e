package config

import "time"

// WebRTC configures the media bridge for browsers (media/webrtc): a call
// leg whose SDP is WebRTC (UDP/TLS/RTP/SAVPF, ICE, DTLS) is terminated in
// the gateway and bridged to plain RTP through the relay. Its ICE
// candidates carry media.public_address when set.
type WebRTC struct {
	// Enabled turns the bridge on. Off, a WebRTC offer is refused with 488
	// (Warning 302) and browsers are offered plain RTP they cannot use.
	// Default: true.
	Enabled bool `yaml:"enabled"`

	// Port is the one UDP port every browser's ICE, DTLS and SRTP use
	// (ICE-lite on a UDP mux), outside media.port_min–port_max; 0 takes
	// any free port (tests). Default: 10000.
	Port int `yaml:"port"`

	// ConsentTimeout ends a call whose browser stopped answering ICE
	// consent checks for this long (RFC 7675 §5.1: at most 30 s), 3s to
	// 30s. Default: 20s.
	ConsentTimeout Duration `yaml:"consent_timeout"`
}

// On reports whether the bridge is enabled.
func (w WebRTC) On() bool { return w.Enabled }

func defaultWebRTC() WebRTC {
	return WebRTC{Enabled: true, Port: 10000, ConsentTimeout: Duration(20 * time.Second)}
}

func (d *decoder) validateWebRTC(w *WebRTC, m *Media) {
	if !w.On() {
		return
	}
	if w.Port < 0 || w.Port > 65535 {
		d.errorf("webrtc.port", "%d is out of range: must be from 0 (any free port) to 65535", w.Port)
	} else if w.Port >= m.PortMin && w.Port <= m.PortMax {
		d.errorf("webrtc.port", "%d is inside the relay's range media.port_min–port_max (%d–%d)", w.Port, m.PortMin, m.PortMax)
	}
	if t := w.ConsentTimeout.D(); t < 3*time.Second || t > 30*time.Second {
		d.errorf("webrtc.consent_timeout", "%s is out of range: must be from 3s to 30s (RFC 7675 §5.1)", t)
	}
}
