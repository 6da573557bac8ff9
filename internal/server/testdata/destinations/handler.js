const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs");

const sqs = new SQSClient({});

// Fails when asked to; otherwise answers with the event's id and the
// request ID it ran under.
exports.work = async (event, context) => {
  if (event.fail) throw new Error("asked to fail: " + event.id);
  return { ok: event.id, requestId: context.awsRequestId };
};

// Receives work's success records and forwards each to the succeeded
// queue, for the test to read.
exports.after = async (record) => {
  await sqs.send(new SendMessageCommand({ QueueUrl: process.env.SUCCEEDED_URL, MessageBody: JSON.stringify(record) }));
};
