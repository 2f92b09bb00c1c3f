package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProbeOneClientGET is a measuring aid, not a check (it runs only with
// SIGNET_PROBE=1): the load command's one-client GET against the plain
// proxy and each signet binary in SIGNET_PROBE_BIN (comma-separated; the
// test's own build if empty), in interleaved rounds of sequential GETs on
// one connection. It prints per target the median p50 latency, the server
// process's CPU and voluntary context switches per GET, and with
// SIGNET_PROBE_STRACE=1 the syscalls per GET (strace -f -c of the server
// process over one round). With SIGNET_PROBE_TRACE=DIR it saves a runtime
// trace of each signet process during one round (go tool trace).
func TestProbeOneClientGET(t *testing.T) {
	if os.Getenv("SIGNET_PROBE") != "1" {
		t.Skip("a measuring aid: set SIGNET_PROBE=1")
	}
	ctx := t.Context()
	tg, err := startTargets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.stop()
	c := newClients(1)[0]
	defer c.CloseIdleConnections()
	type target struct {
		name, base, tok, debug string
		pid                    int
		p50                    []time.Duration
		cpu, csw               []float64
	}
	targets := []*target{{name: "plain", base: tg.plain, pid: tg.pid(tg.plain)}}
	bins := strings.Split(os.Getenv("SIGNET_PROBE_BIN"), ",")
	if bins[0] == "" {
		bins = []string{signetBin}
	}
	for i, bin := range bins {
		s, err := startSignet(ctx, bin, filepath.Join(t.TempDir(), strconv.Itoa(i)), store{name: "SQLite FULL", sync: "full"}, tg.upstream, "warn", true, c)
		if err != nil {
			t.Fatal(err)
		}
		defer s.stop()
		targets = append(targets, &target{name: filepath.Base(bin), base: s.base, tok: s.user.token, debug: s.debug, pid: s.pid()})
	}
	n, rounds := 2000, 7
	if v, err := strconv.Atoi(os.Getenv("SIGNET_PROBE_N")); err == nil {
		n = v
	}
	if v, err := strconv.Atoi(os.Getenv("SIGNET_PROBE_ROUNDS")); err == nil {
		rounds = v
	}
	getOnce := func(tg *target) time.Duration {
		d, err := get(tg.base, tg.tok)(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tg := range targets {
		for range 500 {
			getOnce(tg)
		}
	}
	for r := range rounds {
		for _, tg := range targets {
			var st *exec.Cmd
			if r == 0 && os.Getenv("SIGNET_PROBE_STRACE") == "1" {
				out := filepath.Join(os.TempDir(), "probe-strace-"+tg.name)
				st = exec.Command("strace", "-f", "-c", "-o", out, "-p", strconv.Itoa(tg.pid))
				if err := st.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
			}
			if dir := os.Getenv("SIGNET_PROBE_TRACE"); r == 1 && dir != "" && tg.debug != "" {
				go func() {
					res, err := http.Get("http://" + tg.debug + "/debug/pprof/trace?seconds=1")
					if err == nil {
						f, _ := os.Create(filepath.Join(dir, tg.name+".trace"))
						io.Copy(f, res.Body)
						f.Close()
						res.Body.Close()
					}
				}()
				time.Sleep(100 * time.Millisecond)
			}
			cpu0, csw0 := cpuTime(tg.pid), voluntarySwitches(tg.pid)
			lat := make([]time.Duration, n)
			for i := range lat {
				lat[i] = getOnce(tg)
			}
			cpu, csw := cpuTime(tg.pid)-cpu0, voluntarySwitches(tg.pid)-csw0
			slices.Sort(lat)
			tg.p50 = append(tg.p50, lat[n/2])
			tg.cpu = append(tg.cpu, float64(cpu.Microseconds())/float64(n))
			tg.csw = append(tg.csw, float64(csw)/float64(n))
			if st != nil {
				st.Process.Signal(syscall.SIGINT)
				st.Wait()
			}
		}
	}
	for _, tg := range targets {
		slices.Sort(tg.p50)
		slices.Sort(tg.cpu)
		slices.Sort(tg.csw)
		t.Logf("%-16s p50 median %v (min %v max %v)  cpu/GET %.0f us  voluntary csw/GET %.2f", tg.name, tg.p50[len(tg.p50)/2], tg.p50[0], tg.p50[len(tg.p50)-1], tg.cpu[len(tg.cpu)/2], tg.csw[len(tg.csw)/2])
	}
	fmt.Println()
}

// voluntarySwitches sums voluntary_ctxt_switches over pid's threads.
func voluntarySwitches(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	sum := 0
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				sum += n
			}
		}
	}
	return sum
}
