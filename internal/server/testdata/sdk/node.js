const { LambdaClient, ListFunctionsCommand } = require("@aws-sdk/client-lambda");
const os = require("os");

exports.list = async () => {
  const out = await new LambdaClient({}).send(new ListFunctionsCommand({}));
  return { names: out.Functions.map((f) => f.FunctionName).sort(), home: os.homedir() };
};

// The project's own copy of a package wins over the runtime's.
exports.own = async () => require("@aws-sdk/client-sts").marker;
