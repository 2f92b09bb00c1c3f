package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/gateway"
)

// roleEnv, when set in the environment, makes this program run one of the
// baseline processes instead of the load: "targets" the upstream, "proxy"
// the plain reverse proxy in front of the upstream at upstreamEnv (see
// startTargets).
const (
	roleEnv     = "SIGNET_LOAD_ROLE"
	upstreamEnv = "SIGNET_LOAD_UPSTREAM"
)

// targets are the child processes of the baselines: the upstream, and the
// plain reverse proxy in a process of its own, as signet's gateway is. A
// proxy sharing the upstream's process would hand each request to the
// upstream without waking another process, a hop signet always pays, and
// the ratios would charge signet for that difference rather than for its
// own work (at one client it was most of the gap: docs/performance.md,
// "GET at one client").
type targets struct {
	upstream, plain, floor string // base URLs
	floorPG                string // the floor on PostgreSQL (floorpg.go), "" without -postgres
	// floorKeys sign the floor cells' requests (floor.go); floorPubs is
	// how the floor processes are told the public keys.
	floorKeys floorKeys
	floorPubs string
	procs     []*child
}

// child is one baseline process; closing its stdin ends it.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

// startTargets runs this same program again three times: as the upstream,
// then as the plain proxy and as the floor (floor.go) in front of it.
func startTargets(ctx context.Context) (*targets, error) {
	t := &targets{}
	var err error
	if t.upstream, err = t.start("targets", ""); err != nil {
		return nil, err
	}
	if t.plain, err = t.start("proxy", t.upstream); err != nil {
		t.stop()
		return nil, err
	}
	if t.floorKeys, t.floorPubs, err = newFloorKeys(); err == nil {
		t.floor, err = t.start("floor", t.upstream, floorKeyEnv+"="+t.floorPubs)
	}
	if err != nil {
		t.stop()
		return nil, err
	}
	return t, nil
}

// startFloorPG runs the floor on PostgreSQL, in dsn's schema.
func (t *targets) startFloorPG(dsn string) (err error) {
	t.floorPG, err = t.start("floor-pg", t.upstream, floorKeyEnv+"="+t.floorPubs, floorPGEnv+"="+dsn)
	return err
}

// pid is the process id of the baseline process serving base, 0 if none.
func (t *targets) pid(base string) int {
	for i, u := range []string{t.upstream, t.plain, t.floor, t.floorPG} {
		if u == base && i < len(t.procs) {
			return t.procs[i].cmd.Process.Pid
		}
	}
	return 0
}

// start runs one baseline process in role, with env added to its
// environment, and returns the URL it serves.
func (t *targets) start(role, upstream string, env ...string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(append(childEnv(), roleEnv+"="+role, upstreamEnv+"="+upstream), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	t.procs = append(t.procs, &child{cmd: cmd, stdin: stdin})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var u string
	if _, err2 := fmt.Sscanf(line, role+" %s", &u); err != nil || err2 != nil {
		return "", fmt.Errorf("%s process printed %q: %v %v", role, line, err, err2)
	}
	return u, nil
}

// stop ends every baseline process, the proxy first.
func (t *targets) stop() {
	for _, c := range slices.Backward(t.procs) {
		c.stop()
	}
}

// stop closes the child's stdin, which ends it.
func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// runRole is a baseline process (role is roleEnv's value): "targets" is
// the upstream, a handler that reads the body and answers a small JSON
// document like a trivial API; "proxy" is the baseline,
// httputil.ReverseProxy with nothing but a target; "floor" is that proxy
// behind the least an RFC 9421 verifier must do (floor.go). The proxy gets the
// gateway's transport so that both keep the same idle connections
// (http.DefaultTransport keeps 2 per host and would lose on connection
// churn alone at 64 clients, flattering the gateway). It prints its role
// and URL and serves until its stdin closes.
func runRole(role string) error {
	var h http.Handler
	switch role {
	case "targets":
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"42","item":"book","qty":2}`))
		})
	case "proxy", "floor", "floor-pg":
		u, err := url.Parse(os.Getenv(upstreamEnv))
		if err != nil || u.Host == "" {
			return fmt.Errorf("%s: upstream %q: %v", role, os.Getenv(upstreamEnv), err)
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = gateway.NewTransport()
		h = rp
		var db *floorDB
		if role == "floor-pg" {
			if db, err = openFloorDB(context.Background()); err != nil {
				return err
			}
		}
		if role != "proxy" {
			if h, err = floorHandler(rp, db); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown %s %q", roleEnv, role)
	}
	base, err := serve(h)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", role, base)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

func serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// role is this process's baseline role, "" for the load generator.
func role() string { return strings.TrimSpace(os.Getenv(roleEnv)) }
