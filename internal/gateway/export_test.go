package gateway

// ArmedChecks returns how many check contexts were armed so far (checkctx.go).
func ArmedChecks() int64 { return armedChecks.Load() }
