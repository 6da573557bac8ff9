import { LambdaClient, ListFunctionsCommand } from "@aws-sdk/client-lambda";

export const list = async () => {
  const out = await new LambdaClient({}).send(new ListFunctionsCommand({}));
  return { names: out.Functions.map((f) => f.FunctionName).sort() };
};
