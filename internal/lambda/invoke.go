package lambda

import (
	"context"
	"errors"
)

// Limits from the Lambda quotas page.
const (
	MaxSyncPayload  = 6 * 1024 * 1024 // request and response of a RequestResponse invoke
	MaxAsyncPayload = 1024 * 1024     // request of an Event invoke (256 KB on AWS before 2025)
)

// Errors an Invoke can return before or instead of running the function.
// A function's own failure is not an error: it is a Result with FunctionError set.
var (
	ErrFunctionNotFound = errors.New("function not found")
	ErrThrottled        = errors.New("rate exceeded") // concurrency limit reached and the bounded wait ran out
	ErrPayloadTooLarge  = errors.New("payload too large")
	ErrStopped          = errors.New("server is stopping")
)

// Request is one invocation.
type Request struct {
	Function      string // full function name, unqualified ARN or full ARN
	Payload       []byte // JSON; the caller checked its size and syntax
	ClientContext string // base64 JSON from X-Amz-Client-Context, passed to the runtime as is
	TraceID       string // optional X-Amzn-Trace-Id
	// Tail asks for the last 4 KB of the invocation's log in Result.LogTail
	// (X-Amz-Log-Type: Tail).
	Tail bool
	// RequestID is the invocation's request ID; empty, a new one is made.
	// An asynchronous invocation keeps its ID across retries, as Lambda's
	// do.
	RequestID string
}

// Result is the outcome of an invocation that ran (or tried to run) the function.
type Result struct {
	RequestID string
	Payload   []byte // the function's response, or the error document when FunctionError is set
	// FunctionError is "" on success and "Unhandled" when the function failed,
	// timed out or its runtime crashed (the X-Amz-Function-Error header).
	FunctionError string
	// ErrorType is the errorType of the error document when FunctionError is set,
	// e.g. "Sandbox.Timedout", "Runtime.ExitError", "Runtime.HandlerNotFound" or the
	// function's own error class.
	ErrorType string
	// LogTail holds the last 4 KB of the invocation's log lines (for X-Amz-Log-Type: Tail).
	LogTail []byte
}

// Invoker runs invocations synchronously. It is what the gateway and the AWS
// API need from this package; *Registry implements it.
type Invoker interface {
	Invoke(ctx context.Context, req *Request) (*Result, error)
}
