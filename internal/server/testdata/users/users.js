// Users through the DocumentClient of the SDK the runtime ships; the
// table names come from the environment (!Ref in serverless.yml).
const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const { DynamoDBDocumentClient, PutCommand, GetCommand, QueryCommand } = require("@aws-sdk/lib-dynamodb");

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));

exports.create = async (event) => {
  const user = JSON.parse(event.body);
  try {
    await db.send(new PutCommand({
      TableName: process.env.USERS_TABLE,
      Item: { ...user, createdAt: Date.now() },
      ConditionExpression: "attribute_not_exists(id)",
    }));
  } catch (e) {
    if (e.name === "ConditionalCheckFailedException") {
      return { statusCode: 409, body: JSON.stringify({ error: "exists" }) };
    }
    return { statusCode: 500, body: JSON.stringify({ error: e.name, message: e.message }) };
  }
  return { statusCode: 201, body: JSON.stringify(user) };
};

exports.get = async (event) => {
  const id = event.pathParameters.id;
  if (id.includes("@")) {
    const out = await db.send(new QueryCommand({
      TableName: process.env.USERS_TABLE, IndexName: "byEmail",
      KeyConditionExpression: "email = :e", ExpressionAttributeValues: { ":e": id },
    }));
    return { statusCode: out.Items.length ? 200 : 404, body: JSON.stringify(out.Items[0] || {}) };
  }
  const out = await db.send(new GetCommand({ TableName: process.env.USERS_TABLE, Key: { id } }));
  if (!out.Item) {
    return { statusCode: 404, body: JSON.stringify({ error: "not found" }) };
  }
  return { statusCode: 200, body: JSON.stringify(out.Item) };
};

// audit writes one record per change it is given, keyed by the change's
// sequence number.
exports.audit = async (event) => {
  for (const r of event.Records) {
    await db.send(new PutCommand({
      TableName: process.env.AUDIT_TABLE,
      Item: { seq: r.dynamodb.SequenceNumber, event: r.eventName, id: r.dynamodb.Keys.id.S, source: r.eventSourceARN },
    }));
  }
};
