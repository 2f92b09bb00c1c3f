package client

import (
	"context"
	"iter"
)

// paginate walks a paginated list (spec 1.6) from the page at token,
// yielding each item; an error is yielded once and ends the walk.
func paginate[T any](token string, fetch func(token string) ([]T, string, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, next, err := fetch(token)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" || next == token {
				return
			}
			token = next
		}
	}
}

// AllUsers iterates over every user ListUsers would page through, fetching
// pages of req.Limit as it goes.
func (c *Client) AllUsers(ctx context.Context, req ListUsersRequest) iter.Seq2[User, error] {
	return paginate(req.PaginationToken, func(tok string) ([]User, string, error) {
		req.PaginationToken = tok
		l, err := c.ListUsers(ctx, req)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.NextPageToken, nil
	})
}

// AllPermissions iterates over every permission of the org.
func (c *Client) AllPermissions(ctx context.Context, req ListRequest) iter.Seq2[Permission, error] {
	return paginate(req.PaginationToken, func(tok string) ([]Permission, string, error) {
		req.PaginationToken = tok
		l, err := c.ListPermissions(ctx, req)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.NextPageToken, nil
	})
}

// AllAssignments iterates over every assignment of a permission.
func (c *Client) AllAssignments(ctx context.Context, permissionID string, req ListRequest) iter.Seq2[Assignment, error] {
	return paginate(req.PaginationToken, func(tok string) ([]Assignment, string, error) {
		req.PaginationToken = tok
		l, err := c.ListAssignments(ctx, permissionID, req)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.NextPageToken, nil
	})
}
