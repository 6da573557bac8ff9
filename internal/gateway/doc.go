// Package gateway emulates Amazon API Gateway in front of Lambda functions:
// an http.Handler that routes requests to functions, hands each function the
// Lambda proxy event AWS would (REST APIs: payload format 1.0; HTTP APIs:
// payload format 2.0) and turns the function's answer back into an HTTP
// response, or into the error API Gateway itself would send.
//
// # Guarantees
//
//   - Atomic route swap. SetRoutes builds and validates a whole new routing
//     table, then installs it with one atomic pointer store. Every request is
//     routed entirely by the old table or entirely by the new one. A
//     SetRoutes that fails (an invalid route, two routes answering the same
//     requests) changes nothing: the previous table keeps serving.
//   - No panics. Any request and any function response yield an HTTP
//     response; a response API Gateway would reject becomes its 502 (REST) or
//     500 (HTTP API) and a log line saying what was wrong with it.
//   - Limits. A request body over lambda.MaxSyncPayload (6 MB), or an event
//     over that size once built (base64 bodies grow by a third), is refused
//     with 413 {"message":"Request Too Long"} before any function runs. A
//     route has at most 16 path parameters.
//   - The invoker gets its own copy of each event; the gateway's buffers are
//     reused across requests and never reach it.
//
// # Routing
//
// A literal segment beats {param}, which beats {proxy+} (greedy: one or more
// segments, slashes included); the matcher backtracks, so /a/{x}/c still
// matches /a/b/c when /a/b exists without a c below it. At the chosen path, a
// route for the request's method beats ANY. A trailing slash is ignored. REST
// routes answer at their declared path and under /<stage>, as their AWS URL
// does; HTTP API routes only at the declared path, and the HTTP API route
// "*" ($default) takes what nothing else matched. Matching walks a trie of
// precompiled segments and does not allocate.
//
// # Where the emulation knowingly differs from AWS
//
//   - Request header names reach the event in Go's canonical form
//     (content-type arrives as Content-Type in payload 1.0): net/http
//     canonicalizes them before the gateway sees them.
//   - There is no 29-second integration timeout of its own, no authorizers,
//     no stage variables, and no X-Forwarded-* headers are added.
//   - Bodies are text (a string) when their Content-Type is absent, text/*,
//     application/json, application/xml, application/*+json,
//     application/*+xml, application/x-www-form-urlencoded or
//     application/javascript and they are valid UTF-8; anything else is
//     base64 with isBase64Encoded true, whatever binaryMediaTypes say.
package gateway
