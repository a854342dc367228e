package gwcti

import (
	"github.com/switchboard-gw/switchboard/gateway/attendant"
	"github.com/switchboard-gw/switchboard/gateway/b2bua"
)

// Interface guards.
var (
	_ attendant.Source = (*Source)(nil)
	_ Calls            = (*b2bua.B2BUA)(nil)
)
