'use strict';
// Fixture handlers for the Node bootstrap tests.
const { double } = require('lib/util'); // resolved through NODE_PATH = task root, as on Lambda

exports.hello = async (event) => ({ hello: event.name || 'world', double: double(2) });

exports.sync = (event) => ({ sync: true, n: event.n });

exports.syncUndefined = (event) => { };

exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { callback: true, n: event.n }), 1);
};

exports.callbackError = (event, context, callback) => {
  callback(new TypeError('bad input'));
};

exports.legacySucceed = (event, context) => {
  setTimeout(() => context.succeed({ legacy: 'succeed' }), 1);
};

exports.legacyFail = (event, context) => {
  context.fail(new Error('legacy failure'));
};

exports.legacyDone = (event, context) => {
  context.done(null, { legacy: 'done' });
};

exports.context = async (event, context) => {
  const first = context.getRemainingTimeInMillis();
  await new Promise((r) => setTimeout(r, 5));
  const second = context.getRemainingTimeInMillis();
  context.callbackWaitsForEmptyEventLoop = false;
  return {
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    memoryLimitInMB: context.memoryLimitInMB,
    invokedFunctionArn: context.invokedFunctionArn,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    clientContext: context.clientContext,
    identity: context.identity,
    callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
    first, second,
    traceEnv: process.env._X_AMZN_TRACE_ID || null,
    cwd: process.cwd(),
    copied: { ...context }.getRemainingTimeInMillis() > 0,
  };
};

exports.log = async (event) => {
  console.log('log %s', 'line', { a: 1 });
  console.info('info line');
  console.warn('warn line');
  console.error('error line');
  console.debug('debug line');
  console.log('multi\nline');
  process.stdout.write('raw stdout\n');
  process.stderr.write('raw stderr\n');
  return 'logged';
};

exports.throws = async () => {
  throw new TypeError('something broke');
};

exports.throwsSync = () => {
  throw new RangeError('sync throw');
};

exports.throwString = async () => {
  throw 'just a string';
};

class CustomError extends Error {
  constructor(msg) { super(msg); this.name = 'CustomError'; this.code = 42; }
}
exports.custom = async () => { throw new CustomError('custom failure'); };

exports.cycle = async () => {
  const a = {};
  a.self = a;
  return a;
};

exports.echo = async (event) => event;

exports.size = async (event) => ({ length: event.data.length });

exports.big = async (event) => ({ data: 'x'.repeat(event.n) });

exports.unhandled = async () => {
  Promise.reject(new Error('floating rejection'));
  await new Promise((r) => setTimeout(r, 50));
  return 'unreachable';
};

exports.uncaught = async () => {
  setTimeout(() => { throw new Error('thrown from a timer'); }, 1);
  await new Promise((r) => setTimeout(r, 50));
  return 'unreachable';
};

exports.neverSettles = () => new Promise(() => {});

exports.counter = (() => {
  let n = 0;
  return async () => ({ count: ++n });
})();

exports.unicode = async (event) => ({ text: event.text + ' ✓', emoji: '😀' });

exports.notAFunction = 42;

exports.nested = { deeper: { fn: async () => 'dotted function path' } };

exports.ping = async () => ({ statusCode: 200, body: 'ok' });

exports.environ = async () => ({
  env: { ...process.env },
  cwd: process.cwd(),
  child: require('child_process').execFileSync('/usr/bin/env').toString(),
  paths: require('module').globalPaths,
});

// For several invocations at once: "wait" answers only once an "open"
// invocation has arrived; both log a line.
let opened;
const openedP = new Promise((r) => { opened = r; });
exports.gate = async (event, context) => {
  console.log('gate ' + event.op);
  if (event.op === 'open') {
    opened();
    return { op: 'open', id: context.awsRequestId };
  }
  await openedP;
  console.log('released');
  return { op: 'wait', id: context.awsRequestId, remaining: context.getRemainingTimeInMillis() > 0 };
};
