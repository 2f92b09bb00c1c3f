package auth

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNewActionID: an action id has the shape of every other id (Dfns's),
// sorts in the order the ids were made (what keeps the index inserts of
// signed requests on the last page), and is distinct.
func TestNewActionID(t *testing.T) {
	shape := regexp.MustCompile(`^uj-[a-z2-7]{5}-[a-z2-7]{5}-[a-z2-7]{16}$`)
	seen := map[string]bool{}
	prev := ""
	for i := range 50 {
		id := newActionID("uj")
		if !shape.MatchString(id) {
			t.Fatalf("id %q does not have the shape of an id", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		if i%10 == 0 {
			time.Sleep(2 * time.Millisecond) // a later millisecond
		}
		if prev != "" && id[:14] < prev[:14] {
			t.Errorf("id %q made after %q sorts before it", id, prev)
		}
		prev = id
	}
	// The time part sorts as the time: every digit's character is in byte
	// order, and a carry into a higher place sorts after it.
	for i := 1; i < len(sortedBase32); i++ {
		if sortedBase32[i-1] >= sortedBase32[i] {
			t.Fatalf("sortedBase32 not in byte order at %d", i)
		}
	}
	if strings.Trim(sortedBase32, "abcdefghijklmnopqrstuvwxyz234567") != "" || len(sortedBase32) != 32 {
		t.Fatal("sortedBase32 is not the alphabet of rand.Text")
	}
}
