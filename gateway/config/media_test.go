package config

import (
	"os"
	"testing"
)

// The example of media interfaces loads, and Interface gives each name's
// IPv4 and IPv6 entries.
func TestMediaInterfaces(t *testing.T) {
	data, err := os.ReadFile("testdata/valid/media_interfaces.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("media_interfaces.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	m := &c.Media
	v4, v6, ok := m.Interface("public")
	if !ok || v4 == nil || v4.Address != "192.168.1.10" || v4.Advertise != "203.0.113.5" ||
		v6 == nil || v6.Address != "2001:db8::10" {
		t.Fatalf("public: %+v %+v %v", v4, v6, ok)
	}
	v4, v6, ok = m.Interface("lan")
	if !ok || v4 == nil || v4.Address != "10.0.0.2" || v6 != nil {
		t.Fatalf("lan: %+v %+v %v", v4, v6, ok)
	}
	if _, _, ok := m.Interface("wan"); ok {
		t.Fatal("wan found")
	}
	if c.Trunks[0].MediaInterface != "lan" || m.RelayThreads != 2 ||
		len(m.Listeners) != 1 || m.Listeners[0].Interface != "lan" {
		t.Fatalf("trunk %q, threads %d, listeners %+v", c.Trunks[0].MediaInterface, m.RelayThreads, m.Listeners)
	}
}

// Without interfaces, a trunk cannot name one: the error says none is
// configured.
func TestMediaInterfaceWithoutInterfaces(t *testing.T) {
	_, err := Parse("x.yaml", []byte("trunks:\n  - {name: pbx, target: 'sip:10.0.0.5', media_interface: lan}\n"))
	if err == nil {
		t.Fatal("accepted")
	}
	const want = `x.yaml:2: trunks[0].media_interface: "lan" is not one of media.interfaces (none is configured)`
	if err.Error() != want {
		t.Fatalf("got %q\nwant %q", err, want)
	}
}
