const { DynamoDBClient, UpdateItemCommand } = require("@aws-sdk/client-dynamodb");

const db = new DynamoDBClient({});

const count = (id) =>
  db.send(new UpdateItemCommand({
    TableName: process.env.SEEN,
    Key: { id: { S: id } },
    UpdateExpression: "ADD n :one",
    ExpressionAttributeValues: { ":one": { N: "1" } },
  }));

// Each message's body is its id.
exports.worker = async (event) => {
  for (const r of event.Records) await count(r.body);
};

// Each Event invoke's payload is {"id": ...}.
exports.record = async (event) => {
  await count(event.id);
};
