package instrumented

// ScopeName is the instrumentation scope of the meters and tracers this
// package makes.
const ScopeName = "github.com/mapx-dev/mapx/instrumented"

// Version is the instrumentation version reported with ScopeName.
const Version = "0.1.0"
