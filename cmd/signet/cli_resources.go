package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/signet-auth/signet/client"
)

// cliSubcommands lists the subcommands of each resource command.
var cliSubcommands = map[string][]string{
	"credential":      {"list", "add", "activate", "deactivate"},
	"pat":             {"create", "list", "get", "update", "activate", "deactivate", "delete"},
	"service-account": {"create", "list", "get", "update", "activate", "deactivate", "delete"},
	"permission":      {"create", "list", "get", "update", "archive", "assign", "revoke", "assignments"},
	"user":            {"create", "list", "get", "update", "activate", "deactivate", "delete"},
}

// cliResource runs "signet <cmd> <sub> ...".
func (m *Main) cliResource(ctx context.Context, cmd, sub string, args []string) error {
	o := m.cliFlags(cmd + " " + sub)
	switch cmd {
	case "credential":
		return o.credential(ctx, sub, args)
	case "pat":
		return o.pat(ctx, sub, args)
	case "service-account":
		return o.serviceAccount(ctx, sub, args)
	case "permission":
		return o.permission(ctx, sub, args)
	case "user":
		return o.user(ctx, sub, args)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func unknownSub(cmd, sub string) error {
	return usagef("unknown subcommand %q of %s (want %s; run: signet %s -h)", sub, cmd, strings.Join(groups[cmd], ", "), cmd)
}

// ---- the subcommand table ----

// subcmd declares one subcommand of a resource command: its positional
// arguments and what it does with them. run answers what to print, and how
// to print it on a terminal.
type subcmd struct {
	args []string
	run  func(ctx context.Context, c *client.Client, pos []string) (out any, human func(io.Writer), err error)
}

// runSub runs the subcommand sub of cmd, declared in subs (its flags are
// declared already): it parses args, builds the client, runs it and prints
// its answer.
func (o *cliOpts) runSub(ctx context.Context, cmd, sub string, args []string, subs map[string]subcmd) error {
	s, ok := subs[sub]
	if !ok {
		return unknownSub(cmd, sub)
	}
	pos, err := o.parse(args, s.args...)
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return o.explain(err)
	}
	out, human, err := s.run(ctx, c, pos)
	if err != nil {
		return o.explain(err)
	}
	return o.print(out, human)
}

// one declares a subcommand taking args whose work answers one T, shown on
// a terminal by show.
func one[T any](args []string, do func(ctx context.Context, c *client.Client, pos []string) (*T, error), show func(io.Writer, *T)) subcmd {
	return subcmd{args: args, run: func(ctx context.Context, c *client.Client, pos []string) (any, func(io.Writer), error) {
		v, err := do(ctx, c, pos)
		if err != nil {
			return nil, nil, err
		}
		return v, func(w io.Writer) { show(w, v) }, nil
	}}
}

// byID declares a subcommand whose one argument, named param, is all that
// the client method do needs, e.g. (*client.Client).GetPAT.
func byID[T any](param string, do func(*client.Client, context.Context, string) (*T, error), show func(io.Writer, *T)) subcmd {
	return one([]string{param}, func(ctx context.Context, c *client.Client, pos []string) (*T, error) {
		return do(c, ctx, pos[0])
	}, show)
}

// nextPage tells how to ask for the next page of a list, if there is one.
func nextPage(w io.Writer, token string) {
	if token != "" {
		fmt.Fprintf(w, "next page: --pagination-token %s\n", token)
	}
}

// ---- credentials ----

func (o *cliOpts) credential(ctx context.Context, sub string, args []string) error {
	var newKey, newCredID, name *string
	if sub == "add" {
		newKey = o.fs.String("new-key", "", "private key PEM of the credential to add (required)")
		newCredID = o.fs.String("new-cred-id", "", "its credential id (default: derived from the key)")
		name = o.fs.String("name", "", "credential name (default: its credential id)")
	}
	// setActive declares activate and deactivate.
	setActive := func(do func(*client.Client, context.Context, string) (*client.Message, error)) subcmd {
		return subcmd{args: []string{"CREDENTIAL_UUID"}, run: func(ctx context.Context, c *client.Client, pos []string) (any, func(io.Writer), error) {
			msg, err := do(c, ctx, pos[0])
			return msg, func(w io.Writer) { fmt.Fprintf(w, "%sd credential %s\n", sub, pos[0]) }, err
		}}
	}
	return o.runSub(ctx, "credential", sub, args, map[string]subcmd{
		"list": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.CredentialList, error) {
			return c.ListCredentials(ctx)
		}, func(w io.Writer, l *client.CredentialList) {
			fmt.Fprintln(w, "UUID\tKIND\tCREDENTIAL ID\tNAME\tSTATE\tCREATED")
			for _, cr := range l.Items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", cr.CredentialUUID, cr.Kind, cr.CredentialID, cr.Name, active(cr.IsActive), day(cr.DateCreated))
			}
		}),
		"add": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.Credential, error) {
			if *newKey == "" {
				return nil, usagef("--new-key is required (a key file from signet keygen; run: signet credential add -h)")
			}
			k, err := o.keySigner(*newKey, *newCredID)
			if err != nil {
				return nil, err
			}
			if *name == "" {
				*name = k.CredID()
			}
			return c.AddCredential(ctx, client.KindKey, *name, k)
		}, func(w io.Writer, cr *client.Credential) {
			fmt.Fprintf(w, "added credential %s (%s, %s)\n", cr.CredentialUUID, cr.Name, cr.CredentialID)
		}),
		"activate":   setActive((*client.Client).ActivateCredential),
		"deactivate": setActive((*client.Client).DeactivateCredential),
	})
}

// ---- access tokens ----

func printToken(w io.Writer, t *client.AccessToken) {
	fmt.Fprintf(w, "token\t%s (%s)\nname\t%s\nstate\t%s\ncredential id\t%s\ncreated\t%s\n", t.TokenID, t.Kind, t.Name, active(t.IsActive), t.CredID, day(t.DateCreated))
	if t.ExpiresAt != nil {
		fmt.Fprintf(w, "expires\t%s\n", day(*t.ExpiresAt))
	}
	for _, p := range t.PermissionAssignments {
		fmt.Fprintf(w, "permission\t%s (%s)\n", p.PermissionName, p.PermissionID)
	}
	if t.AccessToken != "" {
		fmt.Fprintf(w, "\naccess token (shown once; sign its actions with --key and --cred-id %s):\n%s\n", t.CredID, t.AccessToken)
	}
}

// tokenFlags are the flags of pat/service-account create and update.
type tokenFlags struct {
	name, publicKey, permissionID, externalID *string
	daysValid, secondsValid                   *int
}

func (o *cliOpts) tokenFlags(sub string, seconds bool) tokenFlags {
	var f tokenFlags
	switch sub {
	case "create":
		f.name = o.fs.String("name", "", "name (required)")
		f.publicKey = o.fs.String("public-key", "", "PEM file of its key: public, or private (only the public half is sent) (required)")
		f.permissionID = o.fs.String("permission-id", "", "permission to give it")
		f.externalID = o.fs.String("external-id", "", "your own id for it")
		f.daysValid = o.fs.Int("days-valid", 0, "lifetime in days (default 365, at most 730)")
		if seconds {
			f.secondsValid = o.fs.Int("seconds-valid", 0, "lifetime in seconds (wins over --days-valid)")
		}
	case "update":
		f.name = o.fs.String("name", "", "new name")
		f.externalID = o.fs.String("external-id", "", "new external id")
	}
	return f
}

// publicKeyPEM checks the required flags of create and reads --public-key.
func (f tokenFlags) publicKeyPEM() (string, error) {
	if *f.name == "" || *f.publicKey == "" {
		return "", usagef("--name and --public-key are required (the public key of a key from signet keygen)")
	}
	return readPublicKey(*f.publicKey)
}

// update is the request of update.
func (f tokenFlags) update() client.UpdateAccessTokenRequest {
	return client.UpdateAccessTokenRequest{Name: *f.name, ExternalID: *f.externalID}
}

func (o *cliOpts) pat(ctx context.Context, sub string, args []string) error {
	f := o.tokenFlags(sub, true)
	return o.runSub(ctx, "pat", sub, args, map[string]subcmd{
		"create": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.AccessToken, error) {
			pub, err := f.publicKeyPEM()
			if err != nil {
				return nil, err
			}
			return c.CreatePAT(ctx, client.CreatePATRequest{
				Name: *f.name, PublicKey: pub, PermissionID: *f.permissionID, ExternalID: *f.externalID,
				DaysValid: *f.daysValid, SecondsValid: *f.secondsValid,
			})
		}, printToken),
		"list": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.AccessTokenList, error) {
			return c.ListPATs(ctx)
		}, func(w io.Writer, l *client.AccessTokenList) { listTokens(w, l.Items) }),
		"get": byID("TOKEN_ID", (*client.Client).GetPAT, printToken),
		"update": one([]string{"TOKEN_ID"}, func(ctx context.Context, c *client.Client, pos []string) (*client.AccessToken, error) {
			return c.UpdatePAT(ctx, pos[0], f.update())
		}, printToken),
		"activate":   byID("TOKEN_ID", (*client.Client).ActivatePAT, printToken),
		"deactivate": byID("TOKEN_ID", (*client.Client).DeactivatePAT, printToken),
		"delete":     byID("TOKEN_ID", (*client.Client).DeletePAT, printToken),
	})
}

func listTokens(w io.Writer, ts []client.AccessToken) {
	fmt.Fprintln(w, "TOKEN\tNAME\tSTATE\tCREDENTIAL ID\tCREATED")
	for _, t := range ts {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.TokenID, t.Name, active(t.IsActive), t.CredID, day(t.DateCreated))
	}
}

func printServiceAccount(w io.Writer, sa *client.ServiceAccount) {
	fmt.Fprintf(w, "service account\t%s\nstate\t%s\n", sa.UserInfo.UserID, active(sa.UserInfo.IsActive))
	for i := range sa.AccessTokens {
		fmt.Fprintln(w)
		printToken(w, &sa.AccessTokens[i])
	}
}

func (o *cliOpts) serviceAccount(ctx context.Context, sub string, args []string) error {
	f := o.tokenFlags(sub, false)
	var force *bool
	if sub == "deactivate" || sub == "delete" {
		force = o.fs.Bool("force", false, "bypass a policy approval")
	}
	// forced declares deactivate and delete, which may bypass a policy.
	forced := func(do func(*client.Client, context.Context, string, bool) (*client.ServiceAccount, error)) subcmd {
		return one([]string{"SERVICE_ACCOUNT_ID"}, func(ctx context.Context, c *client.Client, pos []string) (*client.ServiceAccount, error) {
			return do(c, ctx, pos[0], *force)
		}, printServiceAccount)
	}
	return o.runSub(ctx, "service-account", sub, args, map[string]subcmd{
		"create": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.ServiceAccount, error) {
			pub, err := f.publicKeyPEM()
			if err != nil {
				return nil, err
			}
			return c.CreateServiceAccount(ctx, client.CreateServiceAccountRequest{
				Name: *f.name, PublicKey: pub, PermissionID: *f.permissionID, ExternalID: *f.externalID, DaysValid: *f.daysValid,
			})
		}, printServiceAccount),
		"list": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.ServiceAccountList, error) {
			return c.ListServiceAccounts(ctx)
		}, func(w io.Writer, l *client.ServiceAccountList) {
			fmt.Fprintln(w, "ID\tNAME\tSTATE\tTOKENS")
			for _, sa := range l.Items {
				name := sa.UserInfo.Name
				if len(sa.AccessTokens) > 0 {
					name = sa.AccessTokens[0].Name
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", sa.UserInfo.UserID, name, active(sa.UserInfo.IsActive), len(sa.AccessTokens))
			}
		}),
		"get": byID("SERVICE_ACCOUNT_ID", (*client.Client).GetServiceAccount, printServiceAccount),
		"update": one([]string{"SERVICE_ACCOUNT_ID"}, func(ctx context.Context, c *client.Client, pos []string) (*client.ServiceAccount, error) {
			return c.UpdateServiceAccount(ctx, pos[0], f.update())
		}, printServiceAccount),
		"activate":   byID("SERVICE_ACCOUNT_ID", (*client.Client).ActivateServiceAccount, printServiceAccount),
		"deactivate": forced((*client.Client).DeactivateServiceAccount),
		"delete":     forced((*client.Client).DeleteServiceAccount),
	})
}

// ---- permissions ----

func printPermission(w io.Writer, p *client.Permission) {
	fmt.Fprintf(w, "permission\t%s\nname\t%s\narchived\t%v\nimmutable\t%v\noperations\t%s\n", p.ID, p.Name, p.IsArchived, p.IsImmutable, strings.Join(p.Operations, ", "))
}

func (o *cliOpts) permission(ctx context.Context, sub string, args []string) error {
	var name, ops, pageToken *string
	var limit *int
	var undo *bool
	switch sub {
	case "create", "update":
		name = o.fs.String("name", "", "permission name")
		ops = o.fs.String("operations", "", "comma-separated operations, e.g. Auth:Users:Read,Permissions:Read")
	case "list", "assignments":
		limit = o.fs.Int("limit", 0, "page size")
		pageToken = o.fs.String("pagination-token", "", "nextPageToken of the previous page")
	case "archive":
		undo = o.fs.Bool("undo", false, "restore an archived permission")
	}
	splitOps := func() []string {
		var out []string
		for _, op := range strings.Split(*ops, ",") {
			if op = strings.TrimSpace(op); op != "" {
				out = append(out, op)
			}
		}
		return out
	}
	page := func() client.ListRequest { return client.ListRequest{Limit: *limit, PaginationToken: *pageToken} }
	id := []string{"PERMISSION_ID"}
	return o.runSub(ctx, "permission", sub, args, map[string]subcmd{
		"create": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.Permission, error) {
			if *name == "" || *ops == "" {
				return nil, usagef("--name and --operations are required (run: signet permission create -h)")
			}
			return c.CreatePermission(ctx, client.CreatePermissionRequest{Name: *name, Operations: splitOps()})
		}, printPermission),
		"update": one(id, func(ctx context.Context, c *client.Client, pos []string) (*client.Permission, error) {
			return c.UpdatePermission(ctx, pos[0], client.UpdatePermissionRequest{Name: *name, Operations: splitOps()})
		}, printPermission),
		"get": byID(id[0], (*client.Client).GetPermission, printPermission),
		"archive": one(id, func(ctx context.Context, c *client.Client, pos []string) (*client.Permission, error) {
			return c.ArchivePermission(ctx, pos[0], !*undo)
		}, printPermission),
		"list": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.PermissionList, error) {
			return c.ListPermissions(ctx, page())
		}, func(w io.Writer, l *client.PermissionList) {
			fmt.Fprintln(w, "ID\tNAME\tOPERATIONS\tSTATE")
			for _, p := range l.Items {
				state := "active"
				if p.IsArchived {
					state = "archived"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", p.ID, p.Name, len(p.Operations), state)
			}
			nextPage(w, l.NextPageToken)
		}),
		"assign": one([]string{"PERMISSION_ID", "IDENTITY_ID"}, func(ctx context.Context, c *client.Client, pos []string) (*client.Assignment, error) {
			return c.CreateAssignment(ctx, pos[0], pos[1])
		}, func(w io.Writer, a *client.Assignment) {
			fmt.Fprintf(w, "assigned %s to %s: %s\n", a.PermissionID, a.IdentityID, a.ID)
		}),
		"revoke": {args: []string{"PERMISSION_ID", "ASSIGNMENT_ID"}, run: func(ctx context.Context, c *client.Client, pos []string) (any, func(io.Writer), error) {
			if err := c.DeleteAssignment(ctx, pos[0], pos[1]); err != nil {
				return nil, nil, err
			}
			return map[string]string{"message": "success"}, func(w io.Writer) { fmt.Fprintf(w, "revoked %s\n", pos[1]) }, nil
		}},
		"assignments": one(id, func(ctx context.Context, c *client.Client, pos []string) (*client.AssignmentList, error) {
			return c.ListAssignments(ctx, pos[0], page())
		}, func(w io.Writer, l *client.AssignmentList) {
			fmt.Fprintln(w, "ASSIGNMENT\tIDENTITY\tCREATED")
			for _, a := range l.Items {
				fmt.Fprintf(w, "%s\t%s\t%s\n", a.ID, a.IdentityID, day(a.DateCreated))
			}
			nextPage(w, l.NextPageToken)
		}),
	})
}

// ---- users ----

func printUser(w io.Writer, u *client.User) {
	fmt.Fprintf(w, "user\t%s\nusername\t%s\nkind\t%s\nstate\t%s\nregistered\t%v\n", u.UserID, u.Username, u.Kind, active(u.IsActive), u.IsRegistered)
	for _, p := range u.PermissionAssignments {
		fmt.Fprintf(w, "permission\t%s (%s)\n", p.PermissionName, p.PermissionID)
	}
}

func (o *cliOpts) user(ctx context.Context, sub string, args []string) error {
	var username, kind, pageToken, externalID *string
	var limit *int
	var sso *bool
	switch sub {
	case "create":
		username = o.fs.String("username", "", "username (an email or any unique name) (required)")
		o.m.deprecate(o.fs, "email", "username")
		kind = o.fs.String("kind", string(client.CustomerEmployee), "CustomerEmployee")
		externalID = o.fs.String("external-id", "", "your own id for the user")
	case "list":
		kind = o.fs.String("kind", "", "CustomerEmployee or EndUser")
		limit = o.fs.Int("limit", 0, "page size")
		pageToken = o.fs.String("pagination-token", "", "nextPageToken of the previous page")
	case "update":
		sso = o.fs.Bool("sso-required", false, "whether the user must log in with SSO")
	}
	return o.runSub(ctx, "user", sub, args, map[string]subcmd{
		"create": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.User, error) {
			if *username == "" {
				return nil, usagef("--username is required (run: signet user create -h)")
			}
			u, err := c.CreateUser(ctx, client.CreateUserRequest{Email: *username, Kind: client.UserKind(*kind), ExternalID: *externalID})
			if err == nil {
				o.onboardingHint(u)
			}
			return u, err
		}, printUser),
		"list": one(nil, func(ctx context.Context, c *client.Client, _ []string) (*client.UserList, error) {
			return c.ListUsers(ctx, client.ListUsersRequest{Limit: *limit, PaginationToken: *pageToken, Kind: client.UserKind(*kind)})
		}, func(w io.Writer, l *client.UserList) {
			fmt.Fprintln(w, "ID\tUSERNAME\tKIND\tSTATE\tREGISTERED")
			for _, u := range l.Items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", u.UserID, u.Username, u.Kind, active(u.IsActive), u.IsRegistered)
			}
			nextPage(w, l.NextPageToken)
		}),
		"get": byID("USER_ID", (*client.Client).GetUser, printUser),
		"update": one([]string{"USER_ID"}, func(ctx context.Context, c *client.Client, pos []string) (*client.User, error) {
			return c.UpdateUser(ctx, pos[0], client.UpdateUserRequest{IsSSORequired: *sso})
		}, printUser),
		"activate":   byID("USER_ID", (*client.Client).ActivateUser, printUser),
		"deactivate": byID("USER_ID", (*client.Client).DeactivateUser, printUser),
		"delete":     byID("USER_ID", (*client.Client).DeleteUser, printUser),
	})
}

// onboardingHint tells, on stderr, how the user just created gets in: the
// API never returns a registration code (as Dfns's does not), so either the
// server mailed it or its operator prints one.
func (o *cliOpts) onboardingHint(u *client.User) {
	org := u.OrgID
	if org == "" {
		org = "ORG_ID"
	}
	fmt.Fprintf(o.m.Stderr, `created user %[1]s (%[2]s). Next, %[1]s needs a registration code:
  - if the server mails codes (serve --smtp-addr), it has been mailed to %[1]s;
  - otherwise the operator prints one on the server:
      signet user invite --org %[3]s --username %[1]s [--database ... --key-file ...]
Then %[1]s registers with it, e.g. signet keygen --out key.pem &&
  signet register --org %[3]s --username %[1]s --code CODE --key key.pem
(or signs up with a passkey on the server's page), and an admin gives them a permission:
  signet permission assign PERMISSION_ID %[2]s
`, u.Username, u.UserID, org)
}
