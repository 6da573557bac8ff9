// Package cli implements the cloudlet command line.
//
// `up` and `server` start an internal/server in this process. Every other
// command is a client: it reaches a running server only through its public
// HTTP APIs at --api-addr (the AWS Lambda API through the AWS SDK for Go v2,
// and the SigV4-signed admin endpoints under /_cloudlet/admin/), never through
// server internals.
package cli
