package client

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestParseClaims(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	hdr := enc(`{"alg":"EdDSA"}`)
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name        string
		token       string
		wantErr     bool
		wantUser    string
		wantExpired bool
	}{
		{"live", hdr + "." + enc(`{"exp":1700000060,"https://custom/app_metadata":{"userId":"us-1","orgId":"or-1"}}`) + ".sig", false, "us-1", false},
		{"expired", hdr + "." + enc(`{"exp":1699999999,"https://custom/app_metadata":{"userId":"us-2"}}`) + ".sig", false, "us-2", true},
		{"expires now", hdr + "." + enc(`{"exp":1700000000}`) + ".sig", false, "", true},
		{"no exp", hdr + "." + enc(`{}`) + ".sig", false, "", false},
		{"two parts", hdr + "." + enc(`{}`), true, "", false},
		{"not base64", hdr + ".%%%.sig", true, "", false},
		{"not JSON", hdr + "." + enc(`[1`) + ".sig", true, "", false},
		{"opaque", "abc", true, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseClaims(tt.token)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if c.App.UserID != tt.wantUser {
				t.Errorf("userId = %q, want %q", c.App.UserID, tt.wantUser)
			}
			if got := c.Expired(now); got != tt.wantExpired {
				t.Errorf("Expired = %v, want %v", got, tt.wantExpired)
			}
		})
	}
}
