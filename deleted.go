package allot

// Audit activities of deleted users (Entra's names).
const (
	// ActRestoreUser is a deleted user brought back from deleted items.
	ActRestoreUser = "Restore user"
	// ActHardDeleteUser is a deleted user removed for good: by an admin or
	// when its retention period ended.
	ActHardDeleteUser = "Hard Delete user"
)

// RetentionActor is the actor of deleted users purged when their retention
// period ends.
var RetentionActor = Actor{Kind: "system", ID: "allot-retention", Name: "allot deleted items retention"}
