package sipserver

import (
	"reflect"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestUnsupportedRequire(t *testing.T) {
	cases := []struct {
		method  sip.RequestMethod
		require []string
		want    []string
	}{
		{sip.INVITE, nil, nil},
		{sip.INVITE, []string{"100rel, timer", "Replaces"}, nil},
		{sip.INVITE, []string{"100rel, precondition", "x-foo"}, []string{"precondition", "x-foo"}},
		{sip.OPTIONS, []string{"nothingSupportsThis, nothingSupportsThisEither"}, []string{"nothingSupportsThis", "nothingSupportsThisEither"}},
		{sip.OPTIONS, []string{"path, outbound"}, nil},
		{sip.BYE, []string{"outbound"}, []string{"outbound"}},
		{sip.REFER, []string{"norefersub"}, nil},
		// The registrar judges its own; ACK and CANCEL ignore Require
		// (RFC 3261 §8.2.2.3); no method means no handler (405/501 first).
		{sip.REGISTER, []string{"gruu"}, nil},
		{sip.ACK, []string{"x-foo"}, nil},
		{sip.CANCEL, []string{"x-foo"}, nil},
		{"", []string{"x-foo"}, nil},
	}
	for _, c := range cases {
		req := sip.NewRequest(c.method, sip.Uri{Scheme: "sip", Host: "example.com"})
		for _, r := range c.require {
			req.AppendHeader(sip.NewHeader("Require", r))
		}
		if got := unsupportedRequire(c.method, req); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s Require %q: %q, want %q", c.method, c.require, got, c.want)
		}
	}
	if supportedHeader != "100rel, norefersub, outbound, path, replaces, timer" {
		t.Errorf("Supported %q", supportedHeader)
	}
}
