package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pgRoundTrips counts the round trips the signet process pid makes to
// PostgreSQL (at port) while fn runs: its write-family syscalls on its
// TCP connections to that port. pgx sends each round trip (a query, a
// BEGIN, a COMMIT, a pipelined batch) with one write and then waits for
// the answer, so the writes are the round trips. strace -f -o FILE is
// attached to every thread for the flow alone; the connections are found
// afterwards from /proc/PID/fd and /proc/net/tcp{,6} (Linux only).
func pgRoundTrips(ctx context.Context, dir string, pid int, port int, fn func() error) (float64, error) {
	f := filepath.Join(dir, "strace-rt.out")
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "strace", "-f", "-qq", "-s", "0", "-e", "signal=none",
		"-e", "trace=write,writev,sendto,sendmsg", "-o", f, "-p", strconv.Itoa(pid))
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	time.Sleep(time.Second) // attaching to each thread takes a moment
	ferr := fn()
	socks, serr := pgSockets(pid, port) // while the connections are still open
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil && ferr == nil && !interrupted(cmd) {
		ferr = fmt.Errorf("strace: %w\n%s", err, errb.Bytes())
	}
	if ferr == nil {
		ferr = serr
	}
	if ferr != nil {
		return 0, ferr
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return 0, err
	}
	return countWrites(b, socks), nil
}

// writeCall matches a traced write-family call and its descriptor, after
// strace -f's pid column ("123 write(7, ...) = 10"); an unfinished call
// counts once, at its start.
var writeCall = regexp.MustCompile(`(?m)^\s*\d+\s+(?:write|writev|sendto|sendmsg)\((\d+),`)

// countWrites counts the calls in strace output b on a descriptor in fds.
func countWrites(b []byte, fds map[int]bool) float64 {
	n := 0
	for _, m := range writeCall.FindAllSubmatch(b, -1) {
		if fd, err := strconv.Atoi(string(m[1])); err == nil && fds[fd] {
			n++
		}
	}
	return float64(n)
}

// pgSockets returns the descriptors of process pid that are TCP
// connections to port.
func pgSockets(pid, port int) (map[int]bool, error) {
	inodes := map[string]bool{}
	for _, t := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(t)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(fs) < 10 {
				continue
			}
			_, rport, ok := strings.Cut(fs[2], ":")
			if p, err := strconv.ParseInt(rport, 16, 32); ok && err == nil && int(p) == port {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
		f.Close()
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fds := map[int]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !inodes[link] {
			continue
		}
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			fds[fd] = true
		}
	}
	if len(fds) == 0 {
		return nil, fmt.Errorf("signet (pid %d) has no connection to port %d", pid, port)
	}
	return fds, nil
}

// pgPort is the port a PostgreSQL URL names (5432 when it names none).
func pgPort(dsn string) (int, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return 0, fmt.Errorf("malformed PostgreSQL URL")
	}
	if u.Port() == "" {
		return 5432, nil
	}
	return strconv.Atoi(u.Port())
}
