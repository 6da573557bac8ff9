package manifest

import (
	"errors"
	"strconv"
	"strings"
)

// ErrNoManifest is returned (wrapped) by Load when the folder has no
// serverless.yml.
var ErrNoManifest = errors.New("no serverless.yml")

// Error is one problem at one place of a serverless.yml or of a file it
// includes with ${file(...)}. When a file has several problems, Load and
// Parse return them joined with errors.Join, each an *Error, in file order.
type Error struct {
	File string // base name of the file, e.g. serverless.yml
	Line int    // 1-based; 0 when unknown
	Path string // field path, e.g. functions.getUser.events[0].http.method; "" for the whole file
	Msg  string // what is wrong and, where possible, how to fix it
	Err  error  // underlying cause, or nil
}

// Error formats e as "<file>:<line>: <path>: <msg>[: <cause>]", leaving out
// the parts that are unknown. It is always one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return oneLine.Replace(b.String())
}

// oneLine escapes line breaks that user text may bring into a message.
var oneLine = strings.NewReplacer("\n", `\n`, "\r", `\r`)

func (e *Error) Unwrap() error { return e.Err }
