// Takes its time, then records the event's id.
const { DynamoDBClient, PutItemCommand } = require("@aws-sdk/client-dynamodb");

const db = new DynamoDBClient({});

exports.handler = async (event) => {
  await new Promise((resolve) => setTimeout(resolve, 250));
  await db.send(new PutItemCommand({ TableName: process.env.TABLE, Item: { id: { S: event.id } } }));
};
