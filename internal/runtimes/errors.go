package runtimes

import "errors"

// Errors of the channel codec.
var (
	ErrEmptyFrame      = errors.New("runtime channel: frame of length 0 (a frame holds at least its kind byte)")
	ErrFrameTooLarge   = errors.New("runtime channel: frame larger than 16 MB")
	ErrMalformedInvoke = errors.New("runtime channel: malformed invoke frame")
)

// ErrUnsupportedRuntime is wrapped by Prepare and CheckHandler for a runtime
// this package cannot run.
var ErrUnsupportedRuntime = errors.New("unsupported runtime")
