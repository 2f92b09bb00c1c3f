// Package mail delivers registration codes by e-mail over SMTP, for
// operators who configure --smtp-addr. It implements auth.Delivery.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/signet-auth/signet/internal/auth"
)

// Config says how to reach the SMTP server.
type Config struct {
	Addr     string // host:port
	From     string // envelope and header sender
	Username string // optional; PLAIN auth (only over TLS or to localhost, as net/smtp insists)
	Password string
	CodeTTL  time.Duration // shown in the message
}

// Sender sends registration codes by e-mail.
type Sender struct {
	cfg  Config
	from *mail.Address
}

var _ auth.Delivery = (*Sender)(nil)

// New validates cfg and returns a Sender.
func New(cfg Config) (*Sender, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("smtp address %q: %w", cfg.Addr, err)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp from %q: %w", cfg.From, err)
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = 4 * time.Hour
	}
	return &Sender{cfg: cfg, from: from}, nil
}

// SendRegistrationCode mails the code to the user, whose username must be
// an e-mail address. STARTTLS is used whenever the server offers it.
func (s *Sender) SendRegistrationCode(ctx context.Context, org *auth.Org, u *auth.User, code string) error {
	return s.sendCode(ctx, org, u, code, codeMail{
		notAddress: "username is not an e-mail address; give the user a code with `signet user invite`",
		what:       "registration code",
		intro:      "You have been invited to %s.",
		codeLabel:  "Registration code",
		closing:    []string{fmt.Sprintf("The code works once and expires in %s.", s.cfg.CodeTTL)},
	})
}

// codeMail is what differs between the messages that carry a code.
type codeMail struct {
	notAddress string   // the error when the username is not an e-mail address
	what       string   // the subject's "Your <what> for <org>"
	intro      string   // the first body line; %s is the org name
	codeLabel  string   // the label of the code line; the other labels are padded to it
	closing    []string // the lines after the code
}

// sendCode builds the RFC 5322 message that carries code to u and sends
// it. Every header value comes from validated data (names without control
// characters), and mail.Address encodes display names, so no header can be
// injected.
func (s *Sender) sendCode(ctx context.Context, org *auth.Org, u *auth.User, code string, m codeMail) error {
	to, err := mail.ParseAddress(u.Username)
	if err != nil {
		return errors.New(m.notAddress)
	}
	w := len(m.codeLabel) + 2 // "<label>: "
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", s.from.String())
	fmt.Fprintf(&b, "To: %s\r\n", to.String())
	fmt.Fprintf(&b, "Subject: Your %s for %s\r\n", m.what, oneLine(org.Name))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	fmt.Fprintf(&b, m.intro+"\r\n\r\n", oneLine(org.Name))
	fmt.Fprintf(&b, "%-*s%s\r\n", w, "Org id:", org.ID)
	fmt.Fprintf(&b, "%-*s%s\r\n", w, "Username:", u.Username)
	fmt.Fprintf(&b, "%-*s%s\r\n\r\n", w, m.codeLabel+":", code)
	for _, line := range m.closing {
		b.WriteString(line + "\r\n")
	}
	return s.send(ctx, to, []byte(b.String()))
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// SendRecoveryCode mails a recovery code to the user, whose username must
// be an e-mail address. The code lets whoever holds it, together with the
// user's recovery key, replace every credential of the account, so the
// message says so.
func (s *Sender) SendRecoveryCode(ctx context.Context, org *auth.Org, u *auth.User, code string) error {
	return s.sendCode(ctx, org, u, code, codeMail{
		notAddress: "username is not an e-mail address",
		what:       "recovery code",
		intro:      "Someone asked to recover your account in %s.",
		codeLabel:  "Recovery code",
		closing: []string{
			"The code works once and expires in a few minutes. A recovery replaces every",
			"credential, session and personal access token of your account. If you did",
			"not ask for it, ignore this message and tell your administrator.",
		},
	})
}

// SendLoginCode mails a login code to the user, whose username must be an
// e-mail address. The code hands out the user's password-protected keys
// (still encrypted with the user's password), so the message says so.
func (s *Sender) SendLoginCode(ctx context.Context, org *auth.Org, u *auth.User, code string) error {
	return s.sendCode(ctx, org, u, code, codeMail{
		notAddress: "username is not an e-mail address",
		what:       "login code",
		intro:      "Someone asked to log in to your account in %s with a password-protected key.",
		codeLabel:  "Login code",
		closing: []string{
			"The code works once and expires in a few minutes. If you did not ask for it,",
			"ignore this message and tell your administrator.",
		},
	})
}

// send delivers msg to one recipient, STARTTLS whenever the server offers
// it, giving up when ctx is done.
func (s *Sender) send(ctx context.Context, to *mail.Address, msg []byte) error {
	var a smtp.Auth
	if s.cfg.Username != "" {
		host, _, _ := net.SplitHostPort(s.cfg.Addr)
		a = smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)
	}
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(s.cfg.Addr, a, s.from.Address, []string{to.Address}, msg) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("smtp: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
