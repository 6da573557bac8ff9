// Package eventsource runs event source mappings: the `stream` events of
// a deployed project, each a poller that reads a DynamoDB table's stream
// (internal/dynamodb), and its `sqs` events, pollers that receive from a
// queue (internal/sqs, queue.go); each invokes its function with batches
// of records shaped as Lambda delivers them.
//
// Guarantees:
//   - Records reach the function in stream order, one batch at a time per
//     mapping, so each item's changes arrive in the order they were made.
//   - A mapping's position is kept in the store and advances only after a
//     batch succeeded (or was given up on): a restart, even after kill -9,
//     delivers again from the first batch not done (at least once).
//   - A failed batch (the function's error, timeout or crash) is retried
//     with exponential backoff (RetryBase doubling up to RetryMax) until it
//     succeeds, MaxRetries is exhausted or its oldest record is older than
//     MaxAge; then the failure destination, if any, is invoked with
//     Lambda's on-failure record (DDBStreamBatchInfo) and the batch is
//     skipped. Bisect retries the halves of a failed batch separately.
//   - With ReportFailures, the function's batchItemFailures mark where
//     the batch failed: the records before the earliest reported one are
//     done, and the rest is retried.
//   - Filter patterns (Lambda's event filtering language, filter.go) drop
//     records before batching; dropped records are done.
//   - Pollers wait on the DynamoDB service's commit notification, not a
//     timer, so a write reaches its stream function without a polling
//     delay.
//
// Queue mappings: a batch that succeeds is deleted (but for its reported
// batchItemFailures); one that fails is left to become visible again
// after the queue's visibility timeout, so its queue's RedrivePolicy
// moves it to the dead-letter queue after maxReceiveCount. Messages that
// match no filter are deleted, as on Lambda. A queue mapping's pollers
// scale with the backlog as Lambda's do (StartPollers, then up to
// PollersPerSecond more each second while receives find full batches),
// bounded by the mapping's Concurrency — maximumConcurrency, the
// function's reserved concurrency, the account's — and idle ones stop.
//
// Differences from Lambda: one poller per stream mapping
// (parallelizationFactor is not supported); failure destinations of
// stream mappings are functions only.
package eventsource
