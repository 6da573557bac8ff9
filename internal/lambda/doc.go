// Package lambda runs functions: the registry of deployed functions, Invoke,
// a pool of instances per function, and the Lambda Runtime API.
//
// Guarantees:
//   - One invocation at a time per instance, unless the function opts in to
//     InstanceConcurrency N (Node only): then one process runs up to N, and
//     counts as N instances (slots) everywhere (limits, scaling, metrics); a
//     crash or a timeout ends every invocation that process was running.
//     A function has at most its
//     reserved concurrency (or the registry's global limit) instances; an
//     invocation that finds them all busy waits at most Options.ThrottleWait for
//     one, then fails with ErrThrottled.
//   - Instances are started on demand, reused while warm and stopped after
//     Options.IdleTimeout without work (scale to zero). A burst starts at most
//     two instances per CPU at a time, and no more than there are waiting
//     invocations. Provisioned instances start at deploy, are taken first,
//     never idle out and are replaced when they die.
//   - Cold starts take a stem cell when one is ready (stem.go): a runtime
//     started ahead, in its sandbox, that becomes the function's instance
//     with one frame; the function cannot tell it from a new process (fresh
//     globals, its own environment, Init Duration from the specialisation).
//   - Stats gives a snapshot of instances and counters for metrics.
//   - An invocation that outlives the function's timeout kills its instance's
//     whole process group and returns Sandbox.Timedout; a crashed instance
//     returns Runtime.ExitError; both instances are replaced on demand.
//   - Deploy is a transaction: every function is checked and prepared first;
//     on any error nothing changes and the previous version keeps serving. On
//     success new invocations go to the new version and old instances finish
//     their current invocation, then stop.
//   - Each instance gets a minimal, explicit environment (never the server's)
//     and runs in Options.Sandbox: isolated and limited where the machine
//     allows it (package sandbox), a plain process otherwise.
//   - Every invocation appends START, the function's output, END and REPORT to
//     the function's log, in that order.
//
// Our Node and Python bootstraps talk to their instance over two pipes with
// the private framing of package runtimes, owned by one goroutine that does
// blocking reads and writes (no netpoller round trip, no HTTP parsing). Custom
// runtimes (provided.al2, provided.al2023, go1.x) get the HTTP Runtime API at
// AWS_LAMBDA_RUNTIME_API, one loopback listener per instance, exactly as AWS
// documents it; it accepts only connections from the instance's own
// processes (peer.go). Its requests are parsed here (apiwire.go), so that
// the connection a GET next arrived on passes to the instance's goroutine,
// which writes the event, reads the answer and writes 202 with blocking
// system calls, as the pipe channel does; such instances are pinned to one
// CPU with that goroutine's thread.
//
// A pool's counts (running and starting slots, and the account's places)
// live in one type, slots (slots.go), whose invariants
// checkInvariantsLocked checks at every change while the package's tests
// run; a slot gives its account place back the moment it stops running.
package lambda
