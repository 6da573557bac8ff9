// Package dynamodb is Cloudlet's DynamoDB-compatible service: the JSON API
// (x-amz-json-1.0, X-Amz-Target: DynamoDB_20120810.*) on the AWS endpoint,
// over internal/store.
//
// So far it serves the control plane's CreateTable, DescribeTable,
// ListTables (paged by ExclusiveStartTableName and Limit), DeleteTable,
// UpdateTimeToLive and DescribeTimeToLive (the setting is kept with the
// table; expiring items comes with the data plane) and DescribeEndpoints
// (this server's own address).
// Guarantees:
//   - Every operation is authorized through internal/iam against its row
//     of the operation table (ops), before the table is looked up, with
//     the table's ARN as resource.
//   - A table is durable once CreateTable answers (one store Update), and
//     gone once DeleteTable answers; creating a name twice is
//     ResourceInUseException, whatever the timing.
//   - Requests are checked as DynamoDB checks them, with its messages:
//     table and index names, attribute types, key schemas (HASH, then
//     RANGE; every key attribute defined, every defined attribute used),
//     BillingMode against ProvisionedThroughput, projections, local
//     indexes sharing the table's hash key, stream view types.
//   - Errors are DynamoDB's shape: {"__type": "<namespace>#<Code>",
//     "message": ...} with 400 for the caller's errors (the coral
//     namespaces for validation, serialization and authentication codes,
//     com.amazonaws.dynamodb.v20120810 for the service's own), and every
//     answer carries x-amz-crc32 of its body.
//
// Differences from AWS: tables are ACTIVE at once (no CREATING phase), and
// DeleteTable answers DELETING but the table is gone when it returns.
package dynamodb
