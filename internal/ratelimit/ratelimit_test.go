package ratelimit

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Limit
		bad  bool
	}{
		{in: "300/1m", want: Limit{Rate: 300, Period: time.Minute, Burst: 300}},
		{in: "100/1s,burst=20", want: Limit{Rate: 100, Period: time.Second, Burst: 20}},
		{in: " 5/1h , burst=1", want: Limit{Rate: 5, Period: time.Hour, Burst: 1}},
		{in: "300", bad: true},
		{in: "0/1m", bad: true},
		{in: "-1/1m", bad: true},
		{in: "x/1m", bad: true},
		{in: "10/minute", bad: true},
		{in: "10/0s", bad: true},
		{in: "10/48h", bad: true},
		{in: "10/1m,burst=0", bad: true},
		{in: "10/1m,bust=3", bad: true},
		{in: "", bad: true},
	} {
		got, err := ParseLimit(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseLimit(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if again, err := ParseLimit(got.String()); err != nil || again != got {
			t.Errorf("ParseLimit(%q.String()) = %v, %v", tc.in, again, err)
		}
	}
}

// clock is a hand-moved time for Local.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLocalGCRA(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := NewLocal(0)
	l.now = c.now
	ctx := context.Background()
	lim := Limit{Rate: 60, Period: time.Minute, Burst: 3}
	for i := range 3 {
		if d := l.Allow(ctx, "a", lim); !d.Allowed {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	d := l.Allow(ctx, "a", lim)
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > time.Second {
		t.Fatalf("4th request = %+v, want refused with RetryAfter in (0, 1s]", d)
	}
	if d := l.Allow(ctx, "b", lim); !d.Allowed {
		t.Fatal("another key was refused")
	}
	c.t = c.t.Add(time.Second) // one request earned back
	if d := l.Allow(ctx, "a", lim); !d.Allowed {
		t.Fatal("refused after earning a request back")
	}
	if d := l.Allow(ctx, "a", lim); d.Allowed {
		t.Fatal("allowed beyond the earned request")
	}
	c.t = c.t.Add(time.Hour)
	for i := range 3 {
		if d := l.Allow(ctx, "a", lim); !d.Allowed {
			t.Fatalf("after a long pause, request %d refused", i+1)
		}
	}
}

func TestLocalBounded(t *testing.T) {
	l := NewLocal(localShards * 4)
	lim := Limit{Rate: 1, Period: time.Hour, Burst: 1}
	for i := range 10_000 {
		l.Allow(context.Background(), string(rune(i))+"k", lim)
	}
	n := 0
	for i := range l.shards {
		n += len(l.shards[i].tat)
	}
	if n > localShards*4 {
		t.Fatalf("Local holds %d keys, bound %d", n, localShards*4)
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrusted([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"direct ignores forwarded-for", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"forged left hop ignored", "10.1.2.3:80", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies", "10.1.2.3:80", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"garbage hop stops the walk", "10.1.2.3:80", []string{"198.51.100.1, nonsense"}, "10.1.2.3"},
		{"trusted without header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"ipv6 keyed by /64", "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{"ipv6 trusted loopback", "[::1]:443", []string{"2001:db8::9"}, "2001:db8::/64"},
		{"mapped ipv4", "[::ffff:203.0.113.7]:1", nil, "203.0.113.7"},
		{"unparsable peer", "pipe", nil, "unknown"},
	} {
		if got := ClientAddr(tc.remote, tc.xff, trusted); got != tc.want {
			t.Errorf("%s: ClientAddr = %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := ParseTrusted([]string{"10.0.0.0/33"}); err == nil {
		t.Error("ParseTrusted accepted a bad CIDR")
	}
	if _, err := ParseTrusted([]string{"proxy.local"}); err == nil {
		t.Error("ParseTrusted accepted a host name")
	}
	if p, _ := ParseTrusted([]string{"192.168.1.1"}); len(p) != 1 || p[0] != netip.MustParsePrefix("192.168.1.1/32") {
		t.Errorf("bare address = %v", p)
	}
}
