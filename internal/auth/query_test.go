package auth

import "testing"

// TestQueryBound has one row per way a received query can differ from the
// signed one (issue 10 item 1).
func TestQueryBound(t *testing.T) {
	force := []string{"force"}
	tests := []struct {
		name             string
		signed, received string
		unsigned         []string
		want             bool
	}{
		{"both empty", "", "", nil, true},
		{"equal", "a=1&b=2", "a=1&b=2", nil, true},
		{"added, nothing allowed", "", "qty=1000", nil, false},
		{"added beside signed", "a=1", "a=1&b=2", nil, false},
		{"dropped", "a=1", "", nil, false},
		{"reordered", "a=1&b=2", "b=2&a=1", nil, false},
		{"re-encoded", "a=x%20y", "a=x+y", nil, false},
		{"repeated", "a=1", "a=1&a=1", nil, false},
		{"empty pair added", "a=1", "a=1&", nil, false},
		{"allowed added", "", "force=true", force, true},
		{"allowed added twice", "", "force=true&force=false", force, true},
		{"allowed added beside signed", "a=1", "a=1&force=true", force, true},
		{"allowed, name encoded", "", "fo%72ce=true", force, true},
		{"allowed and another", "", "force=true&dryRun=false", force, false},
		{"another alone", "", "dryRun=false", force, false},
		{"allowed but signed, changed", "force=false", "force=true", force, false},
		{"allowed but signed, repeated", "force=false", "force=false&force=true", force, false},
		{"allowed but signed, equal", "force=false", "force=false", force, true},
		{"allowed name as a prefix", "", "forced=true", force, false},
		{"signed kept, order of others changed", "a=1&b=2", "b=2&force=1&a=1", force, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := queryBound(tt.signed, tt.received, tt.unsigned); got != tt.want {
				t.Errorf("queryBound(%q, %q, %q) = %v, want %v", tt.signed, tt.received, tt.unsigned, got, tt.want)
			}
		})
	}
}
