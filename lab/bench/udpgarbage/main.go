// Command udpgarbage sends UDP junk at a SIP listener for bench-flood: half
// random bytes, half SIP-looking start lines followed by junk (which the
// gateway answers 400 or drops), from each of the given source addresses
// in turn, at a fixed total rate, until -duration ends. It prints how many
// datagrams it sent.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	target := flag.String("target", "", "host:port of the SIP listener (UDP)")
	from := flag.String("from", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9", "source addresses, comma separated")
	rate := flag.Int("rate", 1000, "datagrams per second, in total")
	duration := flag.Duration("duration", 30*time.Second, "how long to send")
	flag.Parse()
	if err := run(*target, strings.Split(*from, ","), *rate, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "udpgarbage:", err)
		os.Exit(1)
	}
}

func run(target string, from []string, rate int, d time.Duration) error {
	to, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	conns := make([]*net.UDPConn, 0, len(from))
	for _, ip := range from {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(strings.TrimSpace(ip))})
		if err != nil {
			return fmt.Errorf("bind %s: %w", ip, err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	const tick = 10 * time.Millisecond
	perTick := max(1, rate*int(tick)/int(time.Second))
	buf := make([]byte, 1400)
	sent := 0
	end := time.Now().Add(d)
	t := time.NewTicker(tick)
	defer t.Stop()
	for now := time.Now(); now.Before(end); now = <-t.C {
		for range perTick {
			n := garbage(buf)
			if _, err := conns[sent%len(conns)].WriteToUDP(buf[:n], to); err == nil {
				sent++
			}
		}
	}
	fmt.Printf("udpgarbage: %d datagrams\n", sent)
	return nil
}

// garbage fills b with one junk datagram and returns its length.
func garbage(b []byte) int {
	n := 20 + rand.IntN(len(b)-20)
	for i := range n {
		b[i] = byte(rand.IntN(256))
	}
	if rand.IntN(2) == 0 {
		n += copy(b, fmt.Sprintf("INVITE sip:%d@example.com SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK%d\r\n", rand.IntN(1e6), rand.Uint64()))
		n = min(n, len(b))
	}
	return n
}
