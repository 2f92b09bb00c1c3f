package sqlite

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// TestSweepSpentChallenges: with no expiry index (0018) the sweep walks
// spent_challenges by key in chunks; it deletes every record past its
// grace, across several chunks, and keeps every other one (a record still
// within the grace refuses its challenge as before).
func TestSweepSpentChallenges(t *testing.T) {
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	past := now.Add(-auth.SpentChallengeGrace - time.Second) // swept
	inGrace := now.Add(-time.Second)                         // expired, kept for the grace
	live := now.Add(time.Minute)
	for _, tc := range []struct {
		name                   string
		swept, grace, liveRows int
	}{
		{"none", 0, 3, 3},
		{"less than a chunk", sweepChunk - 1, 5, 5},
		{"exactly a chunk", sweepChunk, 0, 0},
		{"several chunks, interleaved", 2*sweepChunk + 17, 300, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			kinds := []struct {
				n   int
				exp time.Time
			}{{tc.swept, past}, {tc.grace, inGrace}, {tc.liveRows, live}}
			// Interleave the keys: a record of each kind every few ids.
			var ids [3][]string
			for k, kind := range kinds {
				for i := range kind.n {
					id := fmt.Sprintf("ch-%06d-%d", i, k)
					if err := s.SpendChallenge(ctx, id, kind.exp); err != nil {
						t.Fatal(err)
					}
					ids[k] = append(ids[k], id)
				}
			}
			n, err := s.Sweep(ctx, now)
			if err != nil || n != int64(tc.swept) {
				t.Fatalf("Sweep = %d, %v; want %d", n, err, tc.swept)
			}
			for k, want := range []bool{false, true, true} {
				for _, id := range ids[k] {
					spent, err := s.ChallengeSpent(ctx, id)
					if err != nil || spent != want {
						t.Fatalf("ChallengeSpent(%s) after Sweep = %v, %v; want %v", id, spent, err, want)
					}
				}
			}
			// A kept record still refuses its challenge; a swept one is gone.
			for k, want := range []error{nil, auth.ErrUsed, auth.ErrUsed} {
				if len(ids[k]) == 0 {
					continue
				}
				if err := s.SpendChallenge(ctx, ids[k][0], live); !errors.Is(err, want) {
					t.Errorf("SpendChallenge(%s) after Sweep = %v; want %v", ids[k][0], err, want)
				}
			}
			if n, err := s.Sweep(ctx, now); err != nil || n != 0 {
				t.Errorf("second Sweep = %d, %v; want 0", n, err)
			}
		})
	}
}

// TestMigration0018: a database at 0017 holding spent challenges loses the
// expiry index and keeps every record: a spent challenge is still refused,
// and the sweep still removes the expired ones.
func TestMigration0018(t *testing.T) {
	ctx := t.Context()
	old, path := openAt(t, 17)
	now := time.Now().Truncate(time.Millisecond)
	if err := old.SpendChallenge(ctx, "ch-old", now.Add(-auth.SpentChallengeGrace-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := old.SpendChallenge(ctx, "ch-live", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	s := upgrade(t, old, path)
	checkDropped(t, s, "spent_challenges_by_expiry")
	for _, id := range []string{"ch-old", "ch-live"} {
		if err := s.SpendChallenge(ctx, id, now.Add(time.Minute)); !errors.Is(err, auth.ErrUsed) {
			t.Errorf("SpendChallenge(%s) after 0018 = %v; want ErrUsed", id, err)
		}
	}
	if n, err := s.Sweep(ctx, now); err != nil || n != 1 {
		t.Errorf("Sweep after 0018 = %d, %v; want 1", n, err)
	}
	if spent, err := s.ChallengeSpent(ctx, "ch-live"); err != nil || !spent {
		t.Errorf("ChallengeSpent(ch-live) = %v, %v; want true", spent, err)
	}
}
