package web

// ExportBatch lets the tests make the users export read in small batches.
var ExportBatch = &exportBatch
