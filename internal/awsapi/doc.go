// Package awsapi is Cloudlet's AWS front door: every AWS API on one endpoint
// (127.0.0.1:4566 by default), reached by unmodified AWS SDKs and the aws CLI.
//
// A Handler authenticates each call with SigV4, picks the Service named in the
// credential scope ("lambda"; later "s3", "dynamodb", "sqs") and hands it a
// Call: the request ID, the verified access key, the region and the body.
// LambdaService serves the Lambda API (Invoke, ListFunctions, GetFunction,
// GetFunctionConfiguration) over a lambda.Invoker and a lambda.Catalog.
//
// Guarantees:
//   - Every request except GET /_cloudlet/health is SigV4-verified before any
//     service sees it: the signature is recomputed with the AWS SDK's own
//     signer over the headers the client signed, the path exactly as it came
//     over the wire, the query, and the payload hash (X-Amz-Content-Sha256,
//     checked against the body, or the body's SHA-256), and compared in
//     constant time. Header and presigned-query authentication are accepted;
//     a signature dated more than 15 minutes from the server's clock, or for
//     another region than the server's, is refused.
//   - Every error reaches the client in AWS's shape, with AWS's code, HTTP
//     status and, where AWS has a fixed one, its message: for REST-JSON
//     services {"Type":"User","message":"..."} with x-amzn-ErrorType and
//     x-amzn-RequestId. All wire errors are rows of one table (errorTable).
//   - A body larger than the service accepts (6 MB for Lambda) is refused
//     with 413 without being read past the limit.
//   - Event invocations run in the background, at most 256 at a time; beyond
//     that the caller gets TooManyRequestsException rather than an unbounded
//     queue. LambdaService.Drain waits for them.
//
// Handler, Verifier and LambdaService are safe for concurrent use.
package awsapi
