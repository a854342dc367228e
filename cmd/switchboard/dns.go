package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/app"
)

// stringsFlag collects a repeated flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

const dnsUsage = "usage: switchboard dns resolve [--config FILE] [--server IP:PORT]... [--probe] [--json] URI|TRUNK"

// cmdDNS runs `switchboard dns resolve`: it prints the targets a URI (or a
// trunk of the config) resolves to, in the order they would be tried.
func cmdDNS(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "resolve" {
		fmt.Fprintln(stderr, dnsUsage)
		return 2
	}
	fs := flag.NewFlagSet("dns resolve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (dns servers and trunks)")
	var servers stringsFlag
	fs.Var(&servers, "server", "DNS server IP:PORT to ask instead of dns.servers (repeatable)")
	probe := fs.Bool("probe", false, "send one SIP OPTIONS to each target and show its health")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 2*time.Second, "probe timeout")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, dnsUsage)
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	o := app.ResolverOptions(cfg.DNS)
	if len(servers) > 0 {
		o.Servers = servers
	}
	r, err := dnssrv.NewResolver(o)
	if err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	defer r.Close()
	uri := fs.Arg(0)
	for _, t := range cfg.Trunks {
		if t.Name == uri {
			uri = t.Target
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts, err := r.Resolve(ctx, uri)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %s: %v\n", uri, err)
		return 1
	}
	health := make([]string, len(ts))
	for i := range health {
		health[i] = string(dnssrv.StateUnknown)
	}
	if *probe {
		if err := probeAll(ctx, ts, health, *timeout); err != nil {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 1
		}
	}
	if *asJSON {
		type row struct {
			dnssrv.Target
			Health string `json:"health"`
		}
		rows := make([]row, len(ts))
		for i, t := range ts {
			rows[i] = row{t, health[i]}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"uri": uri, "servers": r.Servers(), "targets": rows})
		return 0
	}
	fmt.Fprintf(stdout, "%s (DNS %s)\n", uri, strings.Join(r.Servers(), ", "))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tTRANSPORT\tADDRESS\tHOST\tPRIORITY\tWEIGHT\tTTL\tSOURCE\tHEALTH")
	for i, t := range ts {
		ttl := "-"
		if t.Source != dnssrv.SourceIP {
			ttl = t.TTL.Truncate(time.Second).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n",
			i+1, t.Transport, t.Addr, t.Host, t.Priority, t.Weight, ttl, t.Source, health[i])
	}
	_ = tw.Flush()
	return 0
}

// probeAll sends one OPTIONS to each target at once and writes up (with
// the round trip) or down (with why) into health.
func probeAll(ctx context.Context, ts []dnssrv.Target, health []string, timeout time.Duration) error {
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler)) // sipgo's transport chatter
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard " + version))
	if err != nil {
		return err
	}
	defer ua.Close()
	c, err := sipgo.NewClient(ua)
	if err != nil {
		return err
	}
	p := &dnssrv.OptionsProber{Client: c}
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			if err := p.Probe(pctx, t); err != nil {
				health[i] = "down (" + err.Error() + ")"
				return
			}
			health[i] = fmt.Sprintf("up (%s)", time.Since(start).Round(100*time.Microsecond))
		})
	}
	wg.Wait()
	return nil
}
