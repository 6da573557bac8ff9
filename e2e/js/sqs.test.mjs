// End-to-end test of Cloudlet's SQS with the AWS SDK for JavaScript v3
// (client-sqs, which speaks the JSON protocol and checks the MD5s of what
// it sends and receives). Started by e2e/e2e_test.go, which runs a real
// server and passes its endpoint in CLOUDLET_API.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SQSClient,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SendMessageBatchCommand,
  ReceiveMessageCommand,
  DeleteMessageBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteQueueCommand,
  QueueDoesNotExist,
} from "@aws-sdk/client-sqs";

const endpoint = process.env.CLOUDLET_API;
assert.ok(endpoint, "CLOUDLET_API must be set");
const sqs = new SQSClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });

test("a standard queue: send, batch, receive, change visibility, delete", async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "js-jobs", Attributes: { VisibilityTimeout: "30" } }));
  assert.match(QueueUrl, /\/000000000000\/js-jobs$/);
  const sent = await sqs.send(new SendMessageCommand({
    QueueUrl,
    MessageBody: "héllo ✓",
    MessageAttributes: {
      kind: { DataType: "String", StringValue: "job" },
      n: { DataType: "Number", StringValue: "42" },
      raw: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 255]) },
    },
  }));
  assert.ok(sent.MessageId && sent.MD5OfMessageAttributes); // the SDK checked both MD5s
  const batch = await sqs.send(new SendMessageBatchCommand({
    QueueUrl,
    Entries: [{ Id: "a", MessageBody: "one" }, { Id: "b", MessageBody: "two", DelaySeconds: 0 }],
  }));
  assert.equal(batch.Successful.length, 2);

  const got = [];
  while (got.length < 3) {
    const r = await sqs.send(new ReceiveMessageCommand({
      QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"],
    }));
    got.push(...(r.Messages ?? []));
  }
  const first = got.find((m) => m.Body === "héllo ✓");
  assert.ok(first, "the first message");
  assert.equal(first.MessageAttributes.kind.StringValue, "job");
  assert.deepEqual([...first.MessageAttributes.raw.BinaryValue], [0, 1, 2, 255]);
  assert.equal(first.Attributes.ApproximateReceiveCount, "1");

  // back to visible at once, then received again
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0 }));
  const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["All"] }));
  assert.equal(again.Messages[0].Body, "héllo ✓");
  assert.equal(again.Messages[0].Attributes.ApproximateReceiveCount, "2");

  const entries = [...got.filter((m) => m !== first), again.Messages[0]].map((m, i) => ({ Id: "d" + i, ReceiptHandle: m.ReceiptHandle }));
  const del = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: entries }));
  assert.equal(del.Successful.length, 3);
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
  assert.equal(attrs.Attributes.ApproximateNumberOfMessages, "0");
  assert.equal(attrs.Attributes.ApproximateNumberOfMessagesNotVisible, "0");

  await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  await assert.rejects(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "x" })), (e) => e instanceof QueueDoesNotExist);
});

test("a FIFO queue: order within a group, deduplication", async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({
    QueueName: "js-orders.fifo", Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" },
  }));
  const a = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "first", MessageGroupId: "g" }));
  const dup = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "first", MessageGroupId: "g" }));
  assert.equal(dup.MessageId, a.MessageId, "a repeat within five minutes is the message it repeats");
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "second", MessageGroupId: "g" }));
  const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ["SequenceNumber"] }));
  assert.deepEqual(r.Messages.map((m) => m.Body), ["first", "second"]);
  assert.ok(BigInt(r.Messages[0].Attributes.SequenceNumber) < BigInt(r.Messages[1].Attributes.SequenceNumber));
});
