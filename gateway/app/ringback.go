package app

import (
	"fmt"

	"github.com/switchboard-gw/switchboard/gateway/config"
	"github.com/switchboard-gw/switchboard/media/relay"
)

// ringbackTone computes media.ringback's tone once for every call (the
// B2BUA plays it to transferees, gateway/b2bua/ringback.go); nil for
// "off".
func ringbackTone(cfg *config.Config) (*relay.ToneTable, error) {
	freqs, cadence, level, on := cfg.Media.Ringback.Resolve()
	if !on {
		return nil, nil
	}
	tt, err := relay.NewToneTable(relay.Tone{Freqs: freqs, Cadence: cadence, Level: float64(level)})
	if err != nil {
		return nil, fmt.Errorf("media.ringback: %w", err)
	}
	return tt, nil
}
