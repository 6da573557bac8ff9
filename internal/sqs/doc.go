// Package sqs is Cloudlet's SQS-compatible service on the AWS endpoint,
// over internal/store, in both of SQS's wire protocols: JSON
// (x-amz-json-1.0, X-Amz-Target: AmazonSQS.*; current SDKs) and Query
// (form-encoded, XML answers; the aws CLI, boto3 as Debian ships it),
// which query.go turns into the JSON protocol's input and back.
//
// Guarantees:
//   - A message is durable when SendMessage (or SendMessageBatch)
//     answers: it is committed in the store (group committed, fsynced)
//     before the answer.
//   - Receiving marks messages in flight in the same transaction that
//     selects them, so two receivers never get one message at once; a
//     message becomes visible again when its visibility timeout passes
//     (or ChangeMessageVisibility says so), and one received more than its
//     queue's RedrivePolicy maxReceiveCount moves to the dead-letter queue
//     (keeping its id, body, attributes and first send time) instead of
//     being handed out again.
//   - Long polls (WaitTimeSeconds) answer as soon as a message is
//     committed or comes due, not at a polling interval.
//   - MD5OfMessageBody, MD5OfMessageAttributes and
//     MD5OfMessageSystemAttributes are computed as SQS computes them
//     (the SDKs check the body's).
//   - Errors are SQS's: the JSON __type (com.amazonaws.sqs#Code) and
//     message, with the Query protocol's code in x-amzn-query-error.
//   - Every operation is authorized through internal/iam with the queue's
//     ARN, before the queue is looked up.
//
// apply.go holds what the server uses besides the API: Apply for a
// deploy's AWS::SQS::Queue resources, and Receive, Delete and Arrived for
// the pollers of sqs events (internal/eventsource).
//
//   - FIFO queues: a group's messages are received in order, and none of
//     a group while one of it is in flight; a
//     deduplication id seen in the last five minutes answers as the
//     message it repeats, in the same transaction as the check.
//
//   - A queue's Policy is its resource policy in every authorization on
//     it (policy.go).
//
//   - Message move tasks move a dead-letter queue's messages back in
//     transactions of ten, kept in the store and resumed after a restart
//     (movetask.go).
//
//   - A FIFO receive retried with its ReceiveRequestAttemptId within five
//     minutes gets the messages (and receipts) it first got while they
//     are in flight. The attempt ids are kept in memory: a restart forgets
//     them, and a retry after it is a new receive.
//
// Not yet: FifoThroughputLimit is accepted and checked, not enforced (no
// throughput is limited).
package sqs
