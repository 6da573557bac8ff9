package lambda

import "time"

// Config is what the Lambda API reports about a deployed function
// (the FunctionConfiguration shape of ListFunctions and GetFunction).
type Config struct {
	Name         string // full name, e.g. user-api-dev-getUser
	ARN          string // arn:aws:lambda:<region>:<account>:function:<name>
	Runtime      string
	Handler      string
	MemorySize   int // MB
	Timeout      int // seconds
	Environment  map[string]string
	Role         string // arn:aws:iam::<account>:role/<service>-<stage>-<region>-lambdaRole
	CodeSha256   string // base64 SHA-256 of the function's code, as AWS reports it
	CodeSize     int64
	LastModified time.Time
	// ReservedConcurrency is nil when unset.
	ReservedConcurrency *int
	// EphemeralStorage is the size of /tmp in MB.
	EphemeralStorage int
}

// Catalog lists deployed functions. *Registry implements it.
type Catalog interface {
	// Functions returns every deployed function, sorted by name.
	Functions() []Config
	// Function finds a function by full name, partial ARN (<account>:function:<name>)
	// or full ARN, optionally qualified with :$LATEST.
	Function(nameOrARN string) (Config, bool)
}
