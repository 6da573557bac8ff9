// End-to-end test of Cloudlet's Lambda API with the AWS SDK for JavaScript v3.
// Started by e2e/e2e_test.go, which runs a real server and passes its endpoint
// in CLOUDLET_API.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  LambdaClient,
  InvokeCommand,
  ListFunctionsCommand,
  GetFunctionCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-lambda";

const endpoint = process.env.CLOUDLET_API;
assert.ok(endpoint, "CLOUDLET_API must be set");

const client = (secretAccessKey = "test") =>
  new LambdaClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey },
  });

const decode = (bytes) => JSON.parse(new TextDecoder().decode(bytes));

test("Invoke returns the function's response", async () => {
  const out = await client().send(
    new InvokeCommand({
      FunctionName: "user-api-dev-hello",
      Payload: JSON.stringify({ queryStringParameters: { name: "JS" } }),
      LogType: "Tail",
    }),
  );
  assert.equal(out.StatusCode, 200);
  assert.equal(out.FunctionError, undefined);
  assert.deepEqual(JSON.parse(decode(out.Payload).body), { message: "Hello, JS!" });
  const logs = Buffer.from(out.LogResult, "base64").toString();
  // As AWS's LogResult: START, the output, END, REPORT.
  assert.match(logs, /^START RequestId: \S+ Version: \$LATEST\n[\s\S]*END RequestId: [\s\S]*REPORT RequestId: /);
});

test("Invoke of a Python function", async () => {
  const out = await client().send(
    new InvokeCommand({
      FunctionName: "user-api-dev-greet",
      Payload: JSON.stringify({ body: JSON.stringify({ name: "Py" }) }),
    }),
  );
  assert.deepEqual(decode(out.Payload), { greeting: "Hello, Py!" });
});

test("ListFunctions and GetFunction", async () => {
  const list = await client().send(new ListFunctionsCommand({}));
  assert.deepEqual(
    list.Functions.map((f) => f.FunctionName),
    ["user-api-dev-getUser", "user-api-dev-greet", "user-api-dev-hello"],
  );
  const fn = await client().send(new GetFunctionCommand({ FunctionName: "user-api-dev-hello" }));
  assert.equal(fn.Configuration.Runtime, "nodejs18.x");
  assert.equal(fn.Configuration.Handler, "handler.hello");
});

test("unknown function is ResourceNotFoundException", async () => {
  await assert.rejects(
    client().send(new InvokeCommand({ FunctionName: "nope" })),
    (err) => err instanceof ResourceNotFoundException && /Function not found/.test(err.message),
  );
});

test("a wrong secret is InvalidSignatureException", async () => {
  await assert.rejects(
    client("wrong").send(new ListFunctionsCommand({})),
    (err) => err.name === "InvalidSignatureException",
  );
});
