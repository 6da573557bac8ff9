// Package schedule runs `schedule` events and the schedules of the
// EventBridge Scheduler API (api.go): rate(), cron() and at()
// expressions (expr.go), fired one tick at a time into the durable queue
// of asynchronous invocations (runner.go).
//
// Guarantees:
//   - Each tick fires once: the tick is recorded as fired and its event
//     queued (internal/async) in one store transaction, so a restart, even
//     after kill -9, neither fires a tick again nor skips one silently; the
//     ticks missed while the server was down are logged with their count,
//     and the schedule goes on from the next one.
//   - Expressions are parsed as EventBridge parses them, with its errors:
//     cron's six fields (minutes, hours, day of month, month, day of week,
//     year) with , - * / ? L W # and names (JAN-DEC, SUN-SAT), one of the
//     two day fields being ?; rate(N unit) with minute(s), hour(s),
//     day(s).
//   - at(yyyy-mm-ddThh:mm:ss) is one tick, at that wall-clock time in the
//     schedule's zone.
//   - Scheduler API schedules (CreateSchedule and the rest, for Lambda
//     targets, default group) are kept in the store; each tick is checked
//     against the schedule's role (lambda:InvokeFunction, as a session of
//     it named "scheduler") and dropped, logged and audited, when the
//     role does not allow it. The role's trust policy is not checked.
//
// Not yet: schedule groups, StartDate/EndDate (refused), flexible time
// windows (FLEXIBLE runs as OFF), a schedule's own RetryPolicy and
// DeadLetterConfig (kept, not applied: its events are retried as the
// function's Event invokes are).
package schedule
