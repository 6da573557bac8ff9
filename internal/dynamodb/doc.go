// Package dynamodb is Cloudlet's DynamoDB-compatible service: the JSON API
// (x-amz-json-1.0, X-Amz-Target: DynamoDB_20120810.*) and the Streams API
// (DynamoDBStreams_20120810.*) on the AWS endpoint, over internal/store.
//
// Where things are: tables.go, update_table.go and ttl.go the control
// plane; value.go AttributeValues, sizes and the order-preserving key
// encoding; expr.go, eval.go and legacy.go the expression language and
// the legacy parameters it stands for; items.go, write.go, query.go and
// batch.go the data plane; partiql.go PartiQL; streams.go the streams;
// apply.go the tables a deploy declares; schema.go the in-memory cache of
// table descriptions.
//
// Guarantees:
//   - Every operation is authorized through internal/iam against its row
//     of the operation table (ops), with the table's (or stream's) ARN and
//     DynamoDB's condition keys (dynamodb:LeadingKeys, Attributes, Select,
//     ReturnValues); a table that does not exist is reported only to a
//     caller allowed the operation on it.
//   - A write is durable when it is answered (one store Update, group
//     committed), and its stream record commits in the same transaction:
//     the stream has exactly the writes that happened, in order. Table
//     changes (create, update, delete, Apply) are transactions too; Apply
//     changes every table of a deploy or none.
//   - Conditions are checked and updates applied inside the write's
//     transaction (the store's single writer serializes them): a
//     condition holds on the item the write replaces.
//   - Reads see a committed snapshot (read-your-writes on this node);
//     TransactGetItems reads all its items from one snapshot.
//   - Items are kept as DynamoDB's own JSON (names sorted) under
//     order-preserving key bytes: numbers as 38-digit decimals in canonical
//     form, sorted by value; strings by UTF-8 bytes; binaries bytewise.
//     Reads that need not look inside an item answer it as kept.
//   - Requests are checked as DynamoDB checks them, with its messages;
//     errors are DynamoDB's shape: {"__type": "<namespace>#<Code>",
//     "message": ...} with 400 for the caller's errors (the coral
//     namespaces for validation, serialization and authentication codes,
//     com.amazonaws.dynamodb.v20120810 for the service's own), and every
//     answer carries x-amz-crc32 of its body.
//   - Expired items (TTL) are deleted by Sweep (the server calls it every
//     few seconds) with REMOVE records by the DynamoDB service; stream
//     records older than 24 hours are dropped.
//
// Differences from AWS (the README lists them per operation): tables are
// ACTIVE at once; DeleteTable answers DELETING but the table is gone when
// it returns; one shard per stream; Scan walks items in key order.
package dynamodb
