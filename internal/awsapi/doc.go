// Package awsapi is Cloudlet's AWS front door: every AWS API on one endpoint
// (127.0.0.1:4566 by default), reached by unmodified AWS SDKs and the aws CLI.
//
// A Handler authenticates each call with SigV4, picks the Service named in the
// credential scope ("lambda", "sts", "dynamodb", "sqs", "scheduler", "s3") and hands
// it a Call: the request ID, the verified key and its principal, the region
// and the body. Services authorize each operation with Call.Authorize
// against their operation table (authz.go, sts.go; internal/iam says how).
// LambdaService serves the Lambda API (Invoke, ListFunctions, GetFunction,
// GetFunctionConfiguration, the function's resource policy, and the
// EventInvokeConfig operations over internal/async's settings) over a
// lambda.Invoker and a lambda.Catalog;
// STSService serves GetCallerIdentity and AssumeRole (Query protocol).
//
// Guarantees:
//   - Every request except GET /_cloudlet/health and those an
//     UnsignedServer takes (unsigned.go: S3's CORS preflights and browser
//     POST forms, whose policy signature the service checks with
//     Unsigned.VerifyPolicy before it acts) is SigV4-verified before any
//     service sees it: the signature is recomputed with the AWS SDK's own
//     signer over the headers the client signed, the path exactly as it came
//     over the wire, the query, and the payload hash (X-Amz-Content-Sha256,
//     checked against the body, or the body's SHA-256), and compared in
//     constant time. Header and presigned-query authentication are accepted;
//     a signature dated more than 15 minutes from the server's clock, or for
//     another region than the server's, is refused.
//   - With an Authorizer, every call of a caller other than the admin is
//     decided by internal/iam before the service acts on it; an expired
//     session gets ExpiredTokenException, a revoked one
//     UnrecognizedClientException, a denied call the service's
//     AccessDenied error with AWS's message. Lambda authorizes before it
//     looks the function up.
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
