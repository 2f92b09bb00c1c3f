package server

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	tests := []struct {
		name        string
		env         map[string]string
		wantSet     bool
		wantPct     string
		wantRuntime int
	}{
		{"unset: signet's default", nil, true, "400", DefaultGCPercent},
		{"empty: as unset, as the runtime reads it", map[string]string{"GOGC": ""}, true, "400", DefaultGCPercent},
		{"operator's choice kept", map[string]string{"GOGC": "100"}, false, "100", 100},
		{"off kept", map[string]string{"GOGC": "off"}, false, "off", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100) // as the runtime set it from the operator's GOGC
			pct, set := TuneGC(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if set != tt.wantSet || pct != tt.wantPct {
				t.Fatalf("TuneGC = %q, %v; want %q, %v", pct, set, tt.wantPct, tt.wantSet)
			}
			if got := debug.SetGCPercent(100); got != tt.wantRuntime {
				t.Fatalf("runtime GC percent = %d, want %d", got, tt.wantRuntime)
			}
		})
	}
}
