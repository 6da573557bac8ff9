package manifest

// Project is a loaded, validated serverless.yml with every variable resolved.
// It is runtime-independent: nothing in it says how a function is started.
type Project struct {
	Dir      string // absolute path of the folder holding serverless.yml
	File     string // absolute path of serverless.yml
	Service  string
	Provider Provider
	// Functions in the order they appear in the file.
	Functions []*Function
	// Roles are the IAM roles the functions run with: the provider's
	// shared role first, then the functions' own.
	Roles []*Role
	// Tables are the DynamoDB tables of resources.Resources, in the
	// file's order.
	Tables []*Table
	// Queues are the SQS queues of resources.Resources, in the file's
	// order.
	Queues []*Queue
	// Buckets are the S3 buckets of resources.Resources, then those the
	// s3 events name without existing: true.
	Buckets []*Bucket
	// Warnings name settings that were accepted but have no effect in
	// Cloudlet (plugins, resources, s3 events, ...), one message each,
	// formatted like errors: "serverless.yml:12: plugins: ...".
	Warnings []string
}

// Provider holds the provider block with defaults applied.
type Provider struct {
	Name        string // always "aws"
	Runtime     string // e.g. nodejs18.x; may be empty when every function sets its own
	Stage       string // default "dev"
	Region      string // default "us-east-1"
	MemorySize  int    // MB, default 1024
	Timeout     int    // seconds, default 6
	Environment map[string]string
	// LogRetentionInDays keeps function logs this long (0: until rotated away).
	LogRetentionInDays int
}

// Function is one entry of the functions block, with provider defaults merged in.
type Function struct {
	Key         string            // the key in serverless.yml, e.g. "getUser"
	Name        string            // full name: <service>-<stage>-<key>, or the explicit `name:`
	Handler     string            // e.g. handler.getUser, src/handlers/user.get, bin/hello
	Runtime     string            // effective runtime (function's, else provider's)
	MemorySize  int               // effective MB
	Timeout     int               // effective seconds
	Environment map[string]string // provider environment overlaid by the function's
	Description string            // `description:`, or ""
	// EphemeralStorageSize is the size of /tmp in MB (512 to 10240, default 512).
	EphemeralStorageSize int
	// LogRetentionInDays keeps the function's logs this long (its own, else
	// the provider's; 0: until rotated away).
	LogRetentionInDays int
	// ReservedConcurrency is nil when not set.
	ReservedConcurrency *int
	// ProvisionedConcurrency is how many instances are kept initialised at
	// all times (0: none).
	ProvisionedConcurrency int
	// InstanceConcurrency is how many invocations one instance may run at
	// once (Cloudlet's extension; 0 when not set: one, as on Lambda).
	InstanceConcurrency int
	Events              []Event
	// Async holds maximumRetryAttempts, maximumEventAge, destinations and
	// onError; nil when none is set (Lambda's defaults).
	Async *AsyncConfig
	// Role is the name of the function's IAM role (one of Project.Roles).
	Role string
	Line int // line of the function's key in serverless.yml, for errors
}

// Event is one entry of a function's events list. Exactly one field is set;
// events of kinds Cloudlet does not support yet are left out (with a
// warning on the Project).
type Event struct {
	HTTP     *HTTPEvent     // `http:` — API Gateway REST API, payload 1.0
	HTTPAPI  *HTTPEvent     // `httpApi:` — API Gateway HTTP API, payload 2.0
	Stream   *StreamEvent   // `stream:` — a DynamoDB table's stream
	SQS      *SQSEvent      // `sqs:` — a queue
	Schedule *ScheduleEvent // `schedule:` — rate() or cron()
	S3       *S3Event       // `s3:` — a bucket's object events
	Line     int
}

// HTTPEvent is an `http` or `httpApi` event.
type HTTPEvent struct {
	// Method is upper-case: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS,
	// or ANY for any method (written any, ANY or * in serverless.yml).
	Method string
	// Path always starts with "/", e.g. "/user/{id}" or "/{proxy+}"; for
	// `httpApi: '*'` it is "*" (the catch-all route).
	Path string
	CORS bool // `cors: true` or a cors mapping
}
