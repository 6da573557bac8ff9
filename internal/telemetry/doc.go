// Package telemetry keeps what functions and the platform report about
// themselves: today, function logs.
//
// Logs holds, per function, the most recent log lines in memory (bounded by
// bytes, so a function that prints megabytes cannot exhaust memory) and appends
// every line to <dir>/<function>.log. Lines of one function keep the order in
// which they were appended; readers (Follow) see every line appended after they
// subscribed, unless they fall more than the in-memory window behind, in which
// case they are told how many lines they missed. File writes are buffered and
// flushed at least every 200 ms and on Close: logs are not acknowledged to
// clients, so they are not fsynced.
package telemetry
