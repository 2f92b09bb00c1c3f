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
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/gateway"
)

// roleEnv, when set to "targets" in the environment, makes this program
// run the baseline targets instead of the load (see startTargets).
const roleEnv = "SIGNET_LOAD_ROLE"

// targets is the child process that runs the upstream and the plain
// reverse proxy, apart from the load generator as signet is.
type targets struct {
	upstream, plain string // base URLs
	cmd             *exec.Cmd
	stdin           io.Closer
}

// startTargets runs this same program again as the targets process.
func startTargets(ctx context.Context) (*targets, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(childEnv(), roleEnv+"=targets")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := &targets{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if _, err2 := fmt.Sscanf(line, "upstream %s plain %s", &t.upstream, &t.plain); err != nil || err2 != nil {
		t.stop()
		return nil, fmt.Errorf("targets process printed %q: %v %v", line, err, err2)
	}
	return t, nil
}

// stop closes the child's stdin, which ends it.
func (t *targets) stop() {
	t.stdin.Close()
	done := make(chan struct{})
	go func() { t.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.cmd.Process.Kill()
		<-done
	}
}

// runTargets is the targets process: the upstream, a handler that reads
// the body and answers a small JSON document like a trivial API; and the
// baseline, httputil.ReverseProxy with nothing but a target. The proxy
// gets the gateway's transport so that both keep the same idle
// connections (http.DefaultTransport keeps 2 per host and would lose on
// connection churn alone at 64 clients, flattering the gateway). It prints
// both URLs and serves until its stdin closes.
func runTargets() error {
	up, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"42","item":"book","qty":2}`))
	}))
	if err != nil {
		return err
	}
	u, _ := url.Parse(up)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = gateway.NewTransport()
	plain, err := serve(rp)
	if err != nil {
		return err
	}
	fmt.Printf("upstream %s plain %s\n", up, plain)
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

// roleTargets reports whether this process was started as the targets
// process.
func roleTargets() bool { return strings.TrimSpace(os.Getenv(roleEnv)) == "targets" }
