// Package telemetry keeps what functions and the platform report about
// themselves: today, function logs.
//
// Logs holds, per function, the most recent log lines in memory (bounded by
// bytes, so a function that prints megabytes cannot exhaust memory) and
// appends every line to <dir>/<function>.log. Lines of one function keep the
// order in which they were appended; readers (Follow) see every line
// appended after they subscribed, unless they fall more than the in-memory
// window behind; Stream.Since counts the lines asked for that are gone.
//
// The invocation path never touches the disk: an append formats the line
// into the function's pending buffer under that function's own lock (callers
// keep the function's Stream, so no global lock is taken either), and one
// flusher goroutine, which owns the files, writes the buffers out at least
// every 200 ms (sooner when one fills) and on Close. A function that prints
// faster than the disk takes its lines loses what exceeds 32 MB of pending
// output, and its file says how many lines. Logs are not acknowledged to
// clients, so they are not fsynced.
//
// Files rotate at FileBytes (16 MB): <function>.log becomes
// <function>.log.1, replacing the one before, so a function holds about
// twice that on disk. With a retention (logRetentionInDays), lines older
// than it leave memory, the open file is rotated once it is older than it,
// and the rotated one is removed once its newest line is.
package telemetry
