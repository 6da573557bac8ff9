// Test function for package lambda: each mode exercises one platform behaviour.
let invocations = 0;
exports.handler = async (event, context) => {
  invocations++;
  switch (event.mode) {
    case "error":
      throw new TypeError("asked to fail");
    case "sleep":
      await new Promise((r) => setTimeout(r, event.ms || 60000));
      return { slept: true };
    case "exit":
      process.exit(7);
    case "log":
      for (let i = 0; i < (event.lines || 1); i++) console.log("line " + i);
      return { logged: true };
    case "big-log":
      process.stdout.write("x".repeat(event.bytes) + "\n");
      return { logged: event.bytes };
    case "env":
      return {
        keys: Object.keys(process.env).sort(),
        name: process.env.AWS_LAMBDA_FUNCTION_NAME,
        custom: process.env.CUSTOM,
        initType: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
        pid: process.pid,
      };
    case "barrier": {
      // Holds the invocation until event.n invocations have arrived (each
      // leaves a file in event.dir): proves that n run at once.
      const fs = require("fs");
      fs.writeFileSync(event.dir + "/" + context.awsRequestId, String(process.pid));
      while (fs.readdirSync(event.dir).length < event.n) {
        if (context.getRemainingTimeInMillis() < 500) throw new Error("barrier not reached");
        await new Promise((r) => setTimeout(r, 5));
      }
      return { pid: process.pid };
    }
    case "context":
      return {
        requestId: context.awsRequestId,
        functionName: context.functionName,
        memory: context.memoryLimitInMB,
        arn: context.invokedFunctionArn,
        remaining: context.getRemainingTimeInMillis(),
      };
    default:
      return { echo: event, invocations, pid: process.pid };
  }
};
exports.missing = undefined;
