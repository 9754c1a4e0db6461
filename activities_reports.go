package allot

// Audit activities of report exports (store/sqlstore/exports.go).
const (
	ActStartExport  = "Start report export"
	ActFinishExport = "Finish report export"
)
