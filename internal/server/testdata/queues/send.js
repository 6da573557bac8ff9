// Sends event.body to the queue at event.queueUrl with the SDK the
// runtime ships, under the function's own credentials.
const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs");

const sqs = new SQSClient({});

exports.handler = async (event) => {
  try {
    const out = await sqs.send(new SendMessageCommand({
      QueueUrl: event.queueUrl,
      MessageBody: event.body,
      MessageAttributes: { kind: { DataType: "String", StringValue: "job" } },
    }));
    return { ok: true, id: out.MessageId };
  } catch (e) {
    return { ok: false, code: e.name, message: e.message };
  }
};
