// Package s3 serves an S3-compatible object store on the AWS endpoint:
// buckets, objects, listings, in S3's REST protocol (XML, path-style and
// virtual-hosted-style addressing).
//
// Guarantees:
//
//   - Object bodies stream to and from disk (Blobs), never held whole in
//     memory; a body is checked as it arrives against what the client
//     signed (internal/awsapi: SHA-256, aws-chunked signatures or
//     trailers), its Content-MD5 and its x-amz-checksum-* (CRC32, CRC32C,
//     SHA1, SHA256).
//
//   - An object appears only once its body is durable: the body is
//     written to a temporary file, fsynced and renamed under a random id
//     (never a name derived from the key, so no key can reach outside the
//     data directory or collide), then its metadata commits in the store.
//     A crash leaves no partial object; Sweep removes what it left.
//
//   - Every operation is authorized through internal/iam with the bucket's
//     or object's ARN (arn:aws:s3:::bucket, arn:aws:s3:::bucket/key) and
//     S3's condition keys for listings (s3:prefix, s3:delimiter,
//     s3:max-keys); errors are S3's codes and XML.
//
//   - Small bodies (up to InlineMax) are kept in the store with their
//     object's metadata; larger ones, and multipart parts, in blobs.
//
//   - A bucket's policy is the resource policy of every call on it.
//
//   - An object created or removed hands its event to the Notifier in the
//     transaction that records it (the server queues the s3 events' Event
//     invocations there).
//
//   - Versioning keeps every version of a key (versioning.go says how the
//     current one and the others are stored); a version under Object
//     Lock retention or legal hold is never deleted by its id (lock.go).
//
//   - The only requests served without a SigV4 signature of their own
//     are CORS preflights (cors.go), which change nothing, and browser
//     POST forms (post.go), whose policy signature is verified as a
//     signed call's is, and whose conditions all hold, before anything
//     is stored.
package s3
