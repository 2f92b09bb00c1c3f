package mail_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signet-auth/signet/internal/auth"
	"github.com/signet-auth/signet/internal/mail"
	"github.com/signet-auth/signet/internal/mail/mailtest"
)

func TestSendRegistrationCode(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := mail.New(mail.Config{Addr: srv.Addr, From: "signet <signet@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	org := &auth.Org{ID: "or-1", Name: "Acme"}
	u := &auth.User{ID: "us-1", Username: "alice@example.com"}
	if err := s.SendRegistrationCode(context.Background(), org, u, "ABCDE-FGHIJ"); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "signet@example.com" || len(m.To) != 1 || m.To[0] != "alice@example.com" {
		t.Fatalf("envelope: %+v", m)
	}
	for _, want := range []string{"ABCDE-FGHIJ", "or-1", "Subject: Your registration code for Acme"} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Data)
		}
	}
}

func TestRefusesNonEmailUsername(t *testing.T) {
	srv := mailtest.Start(t)
	s, _ := mail.New(mail.Config{Addr: srv.Addr, From: "signet@example.com"})
	u := &auth.User{Username: "not an address\r\nBcc: evil@example.com"}
	if err := s.SendRegistrationCode(context.Background(), &auth.Org{Name: "x"}, u, "CODE"); err == nil {
		t.Fatal("sent to a non-address")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []mail.Config{{Addr: "nohost", From: "a@b.c"}, {Addr: "127.0.0.1:25", From: "not an address"}} {
		if _, err := mail.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestSendLoginCode(t *testing.T) {
	srv := mailtest.Start(t)
	s, err := mail.New(mail.Config{Addr: srv.Addr, From: "signet@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	u := &auth.User{ID: "us-1", Username: "bob@example.com"}
	if err := s.SendLoginCode(context.Background(), &auth.Org{ID: "or-1", Name: "Acme"}, u, "KLMNO-PQRST"); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "bob@example.com" {
		t.Fatalf("messages: %+v", msgs)
	}
	for _, want := range []string{"Login code: KLMNO-PQRST", "Subject: Your login code for Acme", "or-1"} {
		if !strings.Contains(msgs[0].Data, want) {
			t.Errorf("message lacks %q:\n%s", want, msgs[0].Data)
		}
	}
}
