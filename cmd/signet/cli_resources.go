package main

import (
	"context"
	"errors"
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
	return fmt.Errorf("unknown subcommand %q of %s (want %s)", sub, cmd, strings.Join(cliSubcommands[cmd], ", "))
}

// ---- credentials ----

func (o *cliOpts) credential(ctx context.Context, sub string, args []string) error {
	var newKey, newCredID, name *string
	if sub == "add" {
		newKey = o.fs.String("new-key", "", "private key PEM of the credential to add (required)")
		newCredID = o.fs.String("new-cred-id", "", "its credential id (default: derived from the key)")
		name = o.fs.String("name", "", "credential name (default: its credential id)")
	}
	want := map[string][]string{"list": nil, "add": nil, "activate": {"CREDENTIAL_UUID"}, "deactivate": {"CREDENTIAL_UUID"}}
	params, ok := want[sub]
	if !ok {
		return unknownSub("credential", sub)
	}
	pos, err := o.parse(args, params...)
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		l, err := c.ListCredentials(ctx)
		if err != nil {
			return err
		}
		return o.print(l, func(w io.Writer) {
			fmt.Fprintln(w, "UUID\tKIND\tCREDENTIAL ID\tNAME\tSTATE\tCREATED")
			for _, cr := range l.Items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", cr.CredentialUUID, cr.Kind, cr.CredentialID, cr.Name, active(cr.IsActive), day(cr.DateCreated))
			}
		})
	case "add":
		if *newKey == "" {
			return errors.New("--new-key is required")
		}
		k, err := o.keySigner(*newKey, *newCredID)
		if err != nil {
			return err
		}
		if *name == "" {
			*name = k.CredID()
		}
		cr, err := c.AddCredential(ctx, client.KindKey, *name, k)
		if err != nil {
			return err
		}
		return o.print(cr, func(w io.Writer) {
			fmt.Fprintf(w, "added credential %s (%s, %s)\n", cr.CredentialUUID, cr.Name, cr.CredentialID)
		})
	default:
		f := c.ActivateCredential
		if sub == "deactivate" {
			f = c.DeactivateCredential
		}
		msg, err := f(ctx, pos[0])
		if err != nil {
			return err
		}
		return o.print(msg, func(w io.Writer) { fmt.Fprintf(w, "%sd credential %s\n", sub, pos[0]) })
	}
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

var idArgs = map[string][]string{
	"create": nil, "list": nil, "get": {"ID"}, "update": {"ID"}, "activate": {"ID"}, "deactivate": {"ID"}, "delete": {"ID"},
}

func (o *cliOpts) pat(ctx context.Context, sub string, args []string) error {
	f := o.tokenFlags(sub, true)
	params, ok := idArgs[sub]
	if !ok {
		return unknownSub("pat", sub)
	}
	pos, err := o.parse(args, params...)
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	var t *client.AccessToken
	switch sub {
	case "create":
		if *f.name == "" || *f.publicKey == "" {
			return errors.New("--name and --public-key are required")
		}
		pub, err := readPublicKey(*f.publicKey)
		if err != nil {
			return err
		}
		t, err = c.CreatePAT(ctx, client.CreatePATRequest{
			Name: *f.name, PublicKey: pub, PermissionID: *f.permissionID, ExternalID: *f.externalID,
			DaysValid: *f.daysValid, SecondsValid: *f.secondsValid,
		})
		if err != nil {
			return err
		}
	case "list":
		l, err := c.ListPATs(ctx)
		if err != nil {
			return err
		}
		return o.print(l, func(w io.Writer) { listTokens(w, l.Items) })
	case "get":
		t, err = c.GetPAT(ctx, pos[0])
	case "update":
		t, err = c.UpdatePAT(ctx, pos[0], client.UpdateAccessTokenRequest{Name: *f.name, ExternalID: *f.externalID})
	case "activate":
		t, err = c.ActivatePAT(ctx, pos[0])
	case "deactivate":
		t, err = c.DeactivatePAT(ctx, pos[0])
	case "delete":
		t, err = c.DeletePAT(ctx, pos[0])
	}
	if err != nil {
		return err
	}
	return o.print(t, func(w io.Writer) { printToken(w, t) })
}

func listTokens(w io.Writer, ts []client.AccessToken) {
	fmt.Fprintln(w, "TOKEN\tNAME\tSTATE\tCREDENTIAL ID\tCREATED")
	for _, t := range ts {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.TokenID, t.Name, active(t.IsActive), t.CredID, day(t.DateCreated))
	}
}

func (o *cliOpts) serviceAccount(ctx context.Context, sub string, args []string) error {
	f := o.tokenFlags(sub, false)
	var force *bool
	if sub == "deactivate" || sub == "delete" {
		force = o.fs.Bool("force", false, "bypass a policy approval")
	}
	params, ok := idArgs[sub]
	if !ok {
		return unknownSub("service-account", sub)
	}
	pos, err := o.parse(args, params...)
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	var sa *client.ServiceAccount
	switch sub {
	case "create":
		if *f.name == "" || *f.publicKey == "" {
			return errors.New("--name and --public-key are required")
		}
		pub, err := readPublicKey(*f.publicKey)
		if err != nil {
			return err
		}
		sa, err = c.CreateServiceAccount(ctx, client.CreateServiceAccountRequest{
			Name: *f.name, PublicKey: pub, PermissionID: *f.permissionID, ExternalID: *f.externalID, DaysValid: *f.daysValid,
		})
		if err != nil {
			return err
		}
	case "list":
		l, err := c.ListServiceAccounts(ctx)
		if err != nil {
			return err
		}
		return o.print(l, func(w io.Writer) {
			fmt.Fprintln(w, "ID\tNAME\tSTATE\tTOKENS")
			for _, sa := range l.Items {
				name := sa.UserInfo.Name
				if len(sa.AccessTokens) > 0 {
					name = sa.AccessTokens[0].Name
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", sa.UserInfo.UserID, name, active(sa.UserInfo.IsActive), len(sa.AccessTokens))
			}
		})
	case "get":
		sa, err = c.GetServiceAccount(ctx, pos[0])
	case "update":
		sa, err = c.UpdateServiceAccount(ctx, pos[0], client.UpdateAccessTokenRequest{Name: *f.name, ExternalID: *f.externalID})
	case "activate":
		sa, err = c.ActivateServiceAccount(ctx, pos[0])
	case "deactivate":
		sa, err = c.DeactivateServiceAccount(ctx, pos[0], *force)
	case "delete":
		sa, err = c.DeleteServiceAccount(ctx, pos[0], *force)
	}
	if err != nil {
		return err
	}
	return o.print(sa, func(w io.Writer) {
		fmt.Fprintf(w, "service account\t%s\nstate\t%s\n", sa.UserInfo.UserID, active(sa.UserInfo.IsActive))
		for i := range sa.AccessTokens {
			fmt.Fprintln(w)
			printToken(w, &sa.AccessTokens[i])
		}
	})
}

// ---- permissions ----

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
	want := map[string][]string{
		"create": nil, "list": nil, "get": {"PERMISSION_ID"}, "update": {"PERMISSION_ID"}, "archive": {"PERMISSION_ID"},
		"assign": {"PERMISSION_ID", "IDENTITY_ID"}, "revoke": {"PERMISSION_ID", "ASSIGNMENT_ID"}, "assignments": {"PERMISSION_ID"},
	}
	params, ok := want[sub]
	if !ok {
		return unknownSub("permission", sub)
	}
	pos, err := o.parse(args, params...)
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
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
	var p *client.Permission
	switch sub {
	case "create":
		if *name == "" || *ops == "" {
			return errors.New("--name and --operations are required")
		}
		p, err = c.CreatePermission(ctx, client.CreatePermissionRequest{Name: *name, Operations: splitOps()})
	case "update":
		p, err = c.UpdatePermission(ctx, pos[0], client.UpdatePermissionRequest{Name: *name, Operations: splitOps()})
	case "get":
		p, err = c.GetPermission(ctx, pos[0])
	case "archive":
		p, err = c.ArchivePermission(ctx, pos[0], !*undo)
	case "list":
		l, err := c.ListPermissions(ctx, client.ListRequest{Limit: *limit, PaginationToken: *pageToken})
		if err != nil {
			return err
		}
		return o.print(l, func(w io.Writer) {
			fmt.Fprintln(w, "ID\tNAME\tOPERATIONS\tSTATE")
			for _, p := range l.Items {
				state := "active"
				if p.IsArchived {
					state = "archived"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", p.ID, p.Name, len(p.Operations), state)
			}
			if l.NextPageToken != "" {
				fmt.Fprintf(w, "next page: --pagination-token %s\n", l.NextPageToken)
			}
		})
	case "assign":
		a, err := c.CreateAssignment(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		return o.print(a, func(w io.Writer) { fmt.Fprintf(w, "assigned %s to %s: %s\n", a.PermissionID, a.IdentityID, a.ID) })
	case "revoke":
		if err := c.DeleteAssignment(ctx, pos[0], pos[1]); err != nil {
			return err
		}
		return o.print(map[string]string{"message": "success"}, func(w io.Writer) { fmt.Fprintf(w, "revoked %s\n", pos[1]) })
	case "assignments":
		l, err := c.ListAssignments(ctx, pos[0], client.ListRequest{Limit: *limit, PaginationToken: *pageToken})
		if err != nil {
			return err
		}
		return o.print(l, func(w io.Writer) {
			fmt.Fprintln(w, "ASSIGNMENT\tIDENTITY\tCREATED")
			for _, a := range l.Items {
				fmt.Fprintf(w, "%s\t%s\t%s\n", a.ID, a.IdentityID, day(a.DateCreated))
			}
			if l.NextPageToken != "" {
				fmt.Fprintf(w, "next page: --pagination-token %s\n", l.NextPageToken)
			}
		})
	}
	if err != nil {
		return err
	}
	return o.print(p, func(w io.Writer) {
		fmt.Fprintf(w, "permission\t%s\nname\t%s\narchived\t%v\nimmutable\t%v\noperations\t%s\n", p.ID, p.Name, p.IsArchived, p.IsImmutable, strings.Join(p.Operations, ", "))
	})
}

// ---- users ----

func (o *cliOpts) user(ctx context.Context, sub string, args []string) error {
	var email, kind, pageToken, externalID *string
	var limit *int
	var sso *bool
	switch sub {
	case "create":
		email = o.fs.String("email", "", "username (an email or any unique name) (required)")
		kind = o.fs.String("kind", string(client.CustomerEmployee), "CustomerEmployee")
		externalID = o.fs.String("external-id", "", "your own id for the user")
	case "list":
		kind = o.fs.String("kind", "", "CustomerEmployee or EndUser")
		limit = o.fs.Int("limit", 0, "page size")
		pageToken = o.fs.String("pagination-token", "", "nextPageToken of the previous page")
	case "update":
		sso = o.fs.Bool("sso-required", false, "whether the user must log in with SSO")
	}
	params, ok := idArgs[sub]
	if !ok {
		return unknownSub("user", sub)
	}
	pos, err := o.parse(args, params...)
	if err != nil {
		return err
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	var u *client.User
	switch sub {
	case "create":
		if *email == "" {
			return errors.New("--email is required")
		}
		u, err = c.CreateUser(ctx, client.CreateUserRequest{Email: *email, Kind: client.UserKind(*kind), ExternalID: *externalID})
	case "list":
		l, err := c.ListUsers(ctx, client.ListUsersRequest{Limit: *limit, PaginationToken: *pageToken, Kind: client.UserKind(*kind)})
		if err != nil {
			return err
		}
		return o.print(l, func(w io.Writer) {
			fmt.Fprintln(w, "ID\tUSERNAME\tKIND\tSTATE\tREGISTERED")
			for _, u := range l.Items {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", u.UserID, u.Username, u.Kind, active(u.IsActive), u.IsRegistered)
			}
			if l.NextPageToken != "" {
				fmt.Fprintf(w, "next page: --pagination-token %s\n", l.NextPageToken)
			}
		})
	case "get":
		u, err = c.GetUser(ctx, pos[0])
	case "update":
		u, err = c.UpdateUser(ctx, pos[0], client.UpdateUserRequest{IsSSORequired: *sso})
	case "activate":
		u, err = c.ActivateUser(ctx, pos[0])
	case "deactivate":
		u, err = c.DeactivateUser(ctx, pos[0])
	case "delete":
		u, err = c.DeleteUser(ctx, pos[0])
	}
	if err != nil {
		return err
	}
	return o.print(u, func(w io.Writer) {
		fmt.Fprintf(w, "user\t%s\nusername\t%s\nkind\t%s\nstate\t%s\nregistered\t%v\n", u.UserID, u.Username, u.Kind, active(u.IsActive), u.IsRegistered)
		for _, p := range u.PermissionAssignments {
			fmt.Fprintf(w, "permission\t%s (%s)\n", p.PermissionName, p.PermissionID)
		}
	})
}
