package client

import (
	"context"
	"net/http"
)

// DeletedUser is a user in deleted items.
type DeletedUser struct {
	User
	DeletedDateTime string `json:"deletedDateTime"`
}

// RestoreRequest is the optional body of a restore.
type RestoreRequest struct {
	NewUserPrincipalName       string `json:"newUserPrincipalName,omitempty"`
	AutoReconcileProxyConflict bool   `json:"autoReconcileProxyConflict,omitempty"`
}

// DeletedUsers lists the deleted users that can still be restored.
func (c *Client) DeletedUsers(ctx context.Context, o ListOptions) ([]DeletedUser, bool, error) {
	return list[DeletedUser](ctx, c, "/v1.0/directory/deletedItems/microsoft.graph.user", o)
}

// RestoreUser brings a deleted user (by id) back with its groups and
// licenses.
func (c *Client) RestoreUser(ctx context.Context, id string, r RestoreRequest) (*User, error) {
	var u User
	_, err := c.Do(ctx, http.MethodPost, "/v1.0/directory/deletedItems/"+esc(id)+"/restore", r, &u)
	return &u, err
}

// PurgeDeletedUser deletes a deleted user for good.
func (c *Client) PurgeDeletedUser(ctx context.Context, id string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/v1.0/directory/deletedItems/"+esc(id), nil, nil)
	return err
}
