// End-to-end test of Cloudlet's DynamoDB with the AWS SDK for JavaScript v3
// (client-dynamodb, lib-dynamodb's DocumentClient, client-dynamodb-streams).
// Started by e2e/e2e_test.go, which runs a real server and passes its
// endpoint in CLOUDLET_API.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DynamoDBClient,
  CreateTableCommand,
  DescribeTableCommand,
  ConditionalCheckFailedException,
  ResourceNotFoundException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  PutCommand,
  GetCommand,
  UpdateCommand,
  QueryCommand,
  BatchWriteCommand,
  TransactWriteCommand,
  paginateScan,
} from "@aws-sdk/lib-dynamodb";
import {
  DynamoDBStreamsClient,
  ListStreamsCommand,
  DescribeStreamCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
} from "@aws-sdk/client-dynamodb-streams";

const endpoint = process.env.CLOUDLET_API;
assert.ok(endpoint, "CLOUDLET_API must be set");
const config = { endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } };
const raw = new DynamoDBClient(config);
const doc = DynamoDBDocumentClient.from(raw);

test("the DocumentClient over a table with a stream", async () => {
  await raw.send(new CreateTableCommand({
    TableName: "js-orders",
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "customer", AttributeType: "S" },
      { AttributeName: "at", AttributeType: "N" },
    ],
    KeySchema: [
      { AttributeName: "customer", KeyType: "HASH" },
      { AttributeName: "at", KeyType: "RANGE" },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
  }));
  const d = await raw.send(new DescribeTableCommand({ TableName: "js-orders" }));
  assert.equal(d.Table.TableStatus, "ACTIVE");

  await doc.send(new PutCommand({
    TableName: "js-orders",
    Item: { customer: "c1", at: 1, total: 12.5, parts: ["a", "b"], meta: { source: "web", tags: new Set(["x"]) } },
  }));
  const got = await doc.send(new GetCommand({ TableName: "js-orders", Key: { customer: "c1", at: 1 } }));
  assert.equal(got.Item.total, 12.5);
  assert.deepEqual(got.Item.parts, ["a", "b"]);
  assert.ok(got.Item.meta.tags instanceof Set && got.Item.meta.tags.has("x"));

  const up = await doc.send(new UpdateCommand({
    TableName: "js-orders", Key: { customer: "c1", at: 1 },
    UpdateExpression: "SET #t = #t + :d, parts = list_append(parts, :more)",
    ConditionExpression: "#t < :max",
    ExpressionAttributeNames: { "#t": "total" },
    ExpressionAttributeValues: { ":d": 2.5, ":more": ["c"], ":max": 100 },
    ReturnValues: "ALL_NEW",
  }));
  assert.equal(up.Attributes.total, 15);
  assert.deepEqual(up.Attributes.parts, ["a", "b", "c"]);

  await assert.rejects(
    doc.send(new PutCommand({ TableName: "js-orders", Item: { customer: "c1", at: 1 }, ConditionExpression: "attribute_not_exists(customer)" })),
    (e) => e instanceof ConditionalCheckFailedException && e.message === "The conditional request failed",
  );
  await assert.rejects(
    doc.send(new GetCommand({ TableName: "nope", Key: { customer: "c1", at: 1 } })),
    (e) => e instanceof ResourceNotFoundException,
  );

  const puts = [];
  for (let i = 2; i <= 30; i++) puts.push({ PutRequest: { Item: { customer: i % 2 ? "c1" : "c2", at: i } } });
  for (let i = 0; i < puts.length; i += 25) {
    await doc.send(new BatchWriteCommand({ RequestItems: { "js-orders": puts.slice(i, i + 25) } }));
  }
  const q = await doc.send(new QueryCommand({
    TableName: "js-orders", KeyConditionExpression: "customer = :c AND #at BETWEEN :lo AND :hi",
    ExpressionAttributeNames: { "#at": "at" }, ExpressionAttributeValues: { ":c": "c1", ":lo": 1, ":hi": 9 },
    ScanIndexForward: false,
  }));
  assert.deepEqual(q.Items.map((i) => i.at), [9, 7, 5, 3, 1]);

  let seen = 0;
  for await (const page of paginateScan({ client: doc, pageSize: 7 }, { TableName: "js-orders", Limit: 7 })) {
    seen += page.Items.length;
  }
  assert.equal(seen, 30);

  await assert.rejects(
    doc.send(new TransactWriteCommand({ TransactItems: [
      { Put: { TableName: "js-orders", Item: { customer: "c9", at: 1 } } },
      { ConditionCheck: { TableName: "js-orders", Key: { customer: "c1", at: 1 }, ConditionExpression: "#t > :x",
        ExpressionAttributeNames: { "#t": "total" }, ExpressionAttributeValues: { ":x": 1000 } } },
    ] })),
    (e) => e instanceof TransactionCanceledException && e.CancellationReasons[1].Code === "ConditionalCheckFailed",
  );
  const none = await doc.send(new GetCommand({ TableName: "js-orders", Key: { customer: "c9", at: 1 } }));
  assert.equal(none.Item, undefined);

  const streams = new DynamoDBStreamsClient(config);
  const ls = await streams.send(new ListStreamsCommand({ TableName: "js-orders" }));
  assert.equal(ls.Streams.length, 1);
  const ds = await streams.send(new DescribeStreamCommand({ StreamArn: ls.Streams[0].StreamArn }));
  const it = await streams.send(new GetShardIteratorCommand({
    StreamArn: ls.Streams[0].StreamArn, ShardId: ds.StreamDescription.Shards[0].ShardId, ShardIteratorType: "TRIM_HORIZON",
  }));
  const recs = await streams.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  assert.equal(recs.Records.length, 31); // the put, the update, 29 batch puts; nothing of the cancelled transaction
  assert.equal(recs.Records[0].eventName, "INSERT");
  assert.equal(recs.Records[1].eventName, "MODIFY");
  assert.equal(recs.Records[1].dynamodb.NewImage.total.N, "15");
});
