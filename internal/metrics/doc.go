// Package metrics exposes the platform's state in the Prometheus text
// format: per function, the instances running, busy and starting, the
// invocations queued, and counters of invocations, cold starts (from new
// processes and from stem cells) and throttles; for the account, the
// concurrency limit and the stem cells ready; per function too, its
// asynchronous invocations: queued, the oldest one's age, and counters of
// outcomes (received, succeeded, retried, throttled, dropped and why) and
// of destination records sent or refused.
//
// Values are read from the registry when scraped (lambda.Registry.Stats),
// so a scrape always shows the present state and costs nothing between
// scrapes. Counters start at zero when the server starts and survive
// deploys. The handler serves GET /metrics on the AWS API address, without
// SigV4 (it is not an AWS API), like the health check; that address listens
// on loopback unless told otherwise.
package metrics
