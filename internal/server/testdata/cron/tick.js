// Records what kind of event it got: the Scheduled Event (with its rule)
// or its input's job.
const { DynamoDBClient, PutItemCommand } = require("@aws-sdk/client-dynamodb");

const db = new DynamoDBClient({});

exports.handler = async (event) => {
  const kind = event.job || event["detail-type"];
  const rule = (event.resources || [""])[0];
  await db.send(new PutItemCommand({ TableName: process.env.TABLE, Item: { kind: { S: kind }, rule: { S: rule }, source: { S: event.source || "-" } } }));
};
