// enqueue sends the request body to the jobs queue (its URL from !Ref in
// the environment); work records each job it is given, and fails on a
// poisoned one.
const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs");
const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, PutCommand } = require("@aws-sdk/lib-dynamodb");

const sqs = new SQSClient({});
const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));

exports.enqueue = async (event) => {
  const out = await sqs.send(new SendMessageCommand({
    QueueUrl: process.env.JOBS_URL,
    MessageBody: event.body,
    MessageAttributes: { source: { DataType: "String", StringValue: "api" } },
  }));
  return { statusCode: 202, body: JSON.stringify({ id: out.MessageId }) };
};

exports.work = async (event) => {
  for (const r of event.Records) {
    if (r.body === "poison") {
      throw new Error("cannot process " + r.messageId);
    }
    await db.send(new PutCommand({
      TableName: process.env.RESULTS_TABLE,
      Item: { job: r.body, source: r.messageAttributes.source.stringValue, queue: r.eventSourceARN, receives: r.attributes.ApproximateReceiveCount },
    }));
  }
};
