package allot

// Audit activities of license pools (docs/design.md rule 18).
const (
	ActAddPool    = "Add license pool"
	ActUpdatePool = "Update license pool"
	ActDeletePool = "Delete license pool"
)
