package store

import (
	"time"

	"allot"
)

// DeletedUser is a user in deleted items (Graph's directory/deletedItems):
// gone from the directory, its seats given back, until it is restored or
// deleted for good. Its User has ID 0: the internal id is no longer its.
type DeletedUser struct {
	*allot.User
	DeletedAt time.Time
	// Licenses are its direct licenses when deleted, with their disabled
	// plans; Groups the GUIDs of the groups it was a direct member of, in
	// the order it joined them. A restore gives both back.
	Licenses []LicenseRequest
	Groups   []string
}

// RestoreOptions are the optional parameters of a restore.
type RestoreOptions struct {
	// NewUserPrincipalName restores the user under another name, when its
	// own is taken meanwhile ("" keeps it).
	NewUserPrincipalName string
	// AutoReconcileProxyConflict drops the proxy addresses another user
	// has taken meanwhile instead of refusing the restore.
	AutoReconcileProxyConflict bool
}
