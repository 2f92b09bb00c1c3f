package ratelimit

import (
	"net"
	"net/netip"
	"strings"
)

// ClientAddr returns the address a request's limits are keyed by. It is
// the connection's peer (remoteAddr, "host:port") unless that peer is a
// trusted proxy: then the X-Forwarded-For values (every header line, in
// order) are walked from the right, skipping trusted proxies, and the
// first hop that is not trusted is the client. A hop that does not parse
// ends the walk at the last good address, so a client cannot choose its
// key by sending a forged header through a proxy that appends to it
// (the right-most untrusted hop is the one the trusted proxy saw).
//
// The key of an IPv6 address is its /64, the block one subscriber is
// usually given; an IPv4 address (or an IPv4-mapped IPv6 one) is itself.
func ClientAddr(remoteAddr string, xff []string, trusted []netip.Prefix) string {
	peer, ok := parseHost(remoteAddr)
	if !ok {
		return "unknown"
	}
	addr := peer
	if isTrusted(addr, trusted) {
		hops := forwarded(xff)
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = a.Unmap()
			if !isTrusted(addr, trusted) {
				break
			}
		}
	}
	return key(addr)
}

func parseHost(remoteAddr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap(), true
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func forwarded(xff []string) []string {
	var hops []string
	for _, line := range xff {
		hops = append(hops, strings.Split(line, ",")...)
	}
	return hops
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func key(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// ParseTrusted reads the CIDRs of --trusted-proxy ("10.0.0.0/8",
// "::1/128"); a bare address counts as that one address.
func ParseTrusted(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(c)
		if err != nil {
			return nil, &net.ParseError{Type: "CIDR address", Text: c}
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
