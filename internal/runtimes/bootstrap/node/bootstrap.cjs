// Cloudlet's Node.js runtime bootstrap. It loads the function's handler and
// serves invocations over the private instance channel described in
// internal/runtimes/doc.go: frames in on fd 3, frames out on fd 4, logs on
// fd 1. It is CommonJS (.cjs) so that a package.json "type": "module" above
// the runtime folder cannot change how it is loaded.
//
// Error documents, log lines and handler resolution follow AWS's
// aws-lambda-nodejs-runtime-interface-client so that functions see what they
// see on Lambda.
'use strict';

const fs = require('fs');
const util = require('util');
const path = require('path');

const IN_FD = 3;
const OUT_FD = 4;
const LOG_FD = 1;
const MAX_FRAME = 16 << 20;
const KIND_READY = 0x59; // 'Y'
const KIND_INIT_ERROR = 0x4e; // 'N'
const KIND_RESPONSE = 0x52; // 'R'
const KIND_ERROR = 0x45; // 'E'
const KIND_INVOKE = 0x49; // 'I'

const KIND_SPECIALISE = 0x53; // 'S'

const env = process.env;
// The function's settings, read from the environment by configure(): at
// start-up, or, in a stem cell, once the 'S' frame has set the environment.
let TASK_ROOT, HANDLER, FUNCTION_NAME, FUNCTION_VERSION, MEMORY_SIZE, LOG_GROUP, LOG_STREAM, FUNCTION_ARN;

function configure() {
  TASK_ROOT = env.LAMBDA_TASK_ROOT || process.cwd();
  HANDLER = env._HANDLER || '';
  FUNCTION_NAME = env.AWS_LAMBDA_FUNCTION_NAME;
  FUNCTION_VERSION = env.AWS_LAMBDA_FUNCTION_VERSION;
  MEMORY_SIZE = env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
  LOG_GROUP = env.AWS_LAMBDA_LOG_GROUP_NAME;
  LOG_STREAM = env.AWS_LAMBDA_LOG_STREAM_NAME;
  FUNCTION_ARN =
    'arn:aws:lambda:' + (env.AWS_REGION || 'us-east-1') + ':' +
    (env.CLOUDLET_ACCOUNT_ID || '000000000000') + ':function:' + (FUNCTION_NAME || '');
}

// ---------------------------------------------------------------------------
// Blocking I/O on the channel. The fds are expected to be blocking; EAGAIN
// (a non-blocking fd) is survived by sleeping 1 ms rather than spinning.

let sleepCell;
function sleep1ms() {
  if (sleepCell === undefined) sleepCell = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, 1);
}

function writeAll(fd, buf, off, end) {
  while (off < end) {
    try {
      off += fs.writeSync(fd, buf, off, end - off);
    } catch (e) {
      if (e.code === 'EAGAIN') sleep1ms();
      else if (e.code !== 'EINTR') throw e;
    }
  }
}

function writeString(fd, s) {
  let n;
  try {
    n = fs.writeSync(fd, s);
  } catch (e) {
    if (e.code !== 'EAGAIN' && e.code !== 'EINTR') throw e;
    n = 0;
  }
  if (n === s.length) return; // ASCII, written whole (the common case)
  const b = Buffer.from(s);
  if (n < b.length) writeAll(fd, b, n, b.length);
}

let inBuf = Buffer.allocUnsafe(64 * 1024);
let inStart = 0;
let inEnd = 0;

// fill makes at least min bytes available at inBuf[inStart:]; false on EOF.
function fill(min) {
  while (inEnd - inStart < min) {
    if (inBuf.length - inStart < min) {
      if (min > inBuf.length) {
        const nb = Buffer.allocUnsafe(Math.max(min, inBuf.length * 2));
        inBuf.copy(nb, 0, inStart, inEnd);
        inBuf = nb;
      } else {
        inBuf.copy(inBuf, 0, inStart, inEnd);
      }
      inEnd -= inStart;
      inStart = 0;
    }
    let n;
    try {
      n = fs.readSync(IN_FD, inBuf, inEnd, inBuf.length - inEnd, null);
    } catch (e) {
      if (e.code === 'EAGAIN') { sleep1ms(); continue; }
      if (e.code === 'EINTR') continue;
      throw e;
    }
    if (n === 0) return false;
    inEnd += n;
  }
  return true;
}

let outBuf = Buffer.allocUnsafe(64 * 1024);

// answerPrefix is written before the body of a response or error frame: the
// request id and a newline when several invocations run at once.
let answerPrefix = '';

function sendFrame(kind, body) {
  if (answerPrefix !== '') body = answerPrefix + body;
  let need = body.length * 3;
  if (need + 5 > outBuf.length) {
    if (need > 1 << 20) need = Buffer.byteLength(body);
    if (need + 5 > outBuf.length) outBuf = Buffer.allocUnsafe(Math.max(need + 5, outBuf.length * 2));
  }
  const n = body.length === 0 ? 0 : outBuf.write(body, 5);
  if (n + 1 > MAX_FRAME) {
    sendFrame(KIND_ERROR, JSON.stringify({
      errorMessage: 'Response payload size exceeded maximum allowed payload size (' + (MAX_FRAME - 1) + ' bytes).',
      errorType: 'Function.ResponseSizeTooLarge',
    }));
    return;
  }
  outBuf.writeUInt32LE(n + 1, 0);
  outBuf[4] = kind;
  try {
    writeAll(OUT_FD, outBuf, 0, n + 5);
  } catch (e) {
    process.exit(0); // the platform closed the channel: nobody is listening
  }
}

// ---------------------------------------------------------------------------
// Logging: console.* in Lambda's text format, written synchronously to fd 1.

let requestId = 'undefined'; // as AWS prints it during init

function emit(level, args) {
  const msg = args.length === 1 && typeof args[0] === 'string' ? args[0] : util.format.apply(null, args);
  let id = requestId;
  if (multi) {
    const c = als.getStore();
    if (c !== undefined) id = c.awsRequestId;
  }
  let line = new Date().toISOString() + '\t' + id + '\t' + level + '\t' + msg;
  if (line.indexOf('\n') !== -1) line = line.replace(/\n/g, '\r');
  try {
    writeString(LOG_FD, line + '\n');
  } catch (_) {
    // The log pipe is gone: losing the line beats failing the invocation.
  }
}

function patchConsole() {
  const levels = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
  let min = levels.indexOf(String(env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase());
  if (min < 0) min = 0;
  const nop = function () {};
  const on = (lvl) => levels.indexOf(lvl) >= min;
  console.trace = on('TRACE') ? function trace() { emit('TRACE', arguments); } : nop;
  console.debug = on('DEBUG') ? function debug() { emit('DEBUG', arguments); } : nop;
  console.info = on('INFO') ? function info() { emit('INFO', arguments); } : nop;
  console.log = console.info;
  console.warn = on('WARN') ? function warn() { emit('WARN', arguments); } : nop;
  console.error = on('ERROR') ? function error() { emit('ERROR', arguments); } : nop;
  console.fatal = function fatal() { emit('FATAL', arguments); };
}

// ---------------------------------------------------------------------------
// Errors, shaped as AWS's runtime shapes them.

// runtimeError makes an error of one of AWS's Runtime.* classes: a subclass
// of Error whose prototype carries the name, so that the stack starts with it
// and JSON shows no own "name".
const runtimeErrorClasses = Object.create(null);
function runtimeError(name, message) {
  let C = runtimeErrorClasses[name];
  if (C === undefined) {
    C = class extends Error {};
    C.prototype.name = name;
    runtimeErrorClasses[name] = C;
  }
  const e = new C(message);
  Error.captureStackTrace(e, runtimeError);
  return e;
}

function isErrorLike(o) {
  return o && typeof o.name === 'string' && typeof o.message === 'string' &&
    typeof o.stack === 'string' && o.name && o.message && o.stack;
}

// The error document the platform returns to the caller, as AWS's Node
// runtime writes it: {errorType, errorMessage, trace}.
function errorDocument(err) {
  try {
    if (util.types.isNativeError(err) || isErrorLike(err)) {
      return JSON.stringify({
        errorType: err.name || (err.constructor && err.constructor.name) || 'Error',
        errorMessage: err.message,
        trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
      });
    }
    return JSON.stringify({ errorType: typeof err, errorMessage: String(err), trace: [] });
  } catch (_) {
    return JSON.stringify({
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    });
  }
}

function withEnumerableProperties(_k, v) {
  if (v instanceof Error) {
    const ret = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
    if (typeof v.stack === 'string') ret.stack = v.stack.split('\n');
    return ret;
  }
  return v;
}

// logError writes AWS's "<label> \t{...}" ERROR line.
function logError(label, err) {
  if (!(err instanceof Error)) err = new Error(err);
  let formatted;
  try {
    formatted = '\t' + JSON.stringify(err, withEnumerableProperties);
  } catch (_) {
    formatted = '\t' + errorDocument(err);
  }
  console.error(label, formatted);
}

// ---------------------------------------------------------------------------
// Loading the handler (UserFunction.js in AWS's runtime).

function hasTypeModule(folder) {
  for (;;) {
    if (folder.endsWith('/node_modules')) return false;
    const pj = path.join(folder, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(pj, 'utf8'));
        if (pkg) return pkg.type === 'module';
      } catch (e) {
        console.warn(pj + ' cannot be read, it will be ignored for ES module detection purposes.', e);
        return false;
      }
    }
    if (folder === '/') return false;
    folder = path.resolve(folder, '..');
  }
}

let loadedESM = false;

function importESM(file) {
  loadedESM = true;
  return import(require('url').pathToFileURL(file).href);
}

// loadModule returns the module's exports, or (loadedESM set) a promise of
// its namespace when it is an ES module.
function loadModule(moduleRoot, mod) {
  const base = path.resolve(TASK_ROOT, moduleRoot, mod);
  if (fs.existsSync(base)) return require(base);
  const esm = hasTypeModule(path.dirname(base));
  if (!esm && fs.existsSync(base + '.js')) return require(base + '.js');
  if (esm && fs.existsSync(base + '.js')) return importESM(base + '.js');
  if (fs.existsSync(base + '.mjs')) return importESM(base + '.mjs');
  if (fs.existsSync(base + '.cjs')) return require(base + '.cjs');
  // As AWS: fall back to Node's own resolution (node_modules), which also
  // produces the "Cannot find module" error.
  return require(require.resolve(mod, { paths: [TASK_ROOT, moduleRoot] }));
}

function classifyLoadError(e) {
  if (e instanceof SyntaxError) {
    const u = runtimeError('Runtime.UserCodeSyntaxError', String(e));
    u.stack = e.stack;
    return u;
  }
  if (e && e.code === 'MODULE_NOT_FOUND') return runtimeError('Runtime.ImportModuleError', String(e));
  return e;
}

function resolveHandler(exportsObj, funcPath) {
  const fn = funcPath.split('.').reduce((o, k) => o && o[k], exportsObj);
  if (!fn) throw runtimeError('Runtime.HandlerNotFound', HANDLER + ' is undefined or not exported');
  if (typeof fn !== 'function') throw runtimeError('Runtime.HandlerNotFound', HANDLER + ' is not a function');
  return fn;
}

// ---------------------------------------------------------------------------
// Invocations.

const kDeadline = Symbol('cloudlet.deadline');
const kSelf = Symbol('cloudlet.context');

let handler;
let callbackMode = false;
let initDone = false;
let current = null; // the Context of the invocation in progress, or null
let traceSet = false;
let awaiting = false; // current's handler returned a promise

// The context's methods are shared functions, not per-invocation closures;
// they find their invocation through symbol properties, which survive
// {...context} copies.
function currentCtx() {
  if (multi) {
    const c = als.getStore();
    return c === undefined ? null : c;
  }
  return current;
}
function getRemainingTimeInMillis() {
  const c = this != null && this[kDeadline] !== undefined ? this : currentCtx();
  return (c ? c[kDeadline] : 0) - Date.now();
}
function ctxOf(self) {
  return self != null && self[kSelf] !== undefined ? self[kSelf] : currentCtx();
}
function succeed(result) { complete(ctxOf(this), null, result); }
function fail(err) { complete(ctxOf(this), err === undefined || err === null ? 'handled' : err, null); }
function done(err, result) { complete(ctxOf(this), err, result); }

function Context(id, deadline, clientContext, identity) {
  this.callbackWaitsForEmptyEventLoop = true;
  this.succeed = succeed;
  this.fail = fail;
  this.done = done;
  this.functionVersion = FUNCTION_VERSION;
  this.functionName = FUNCTION_NAME;
  this.memoryLimitInMB = MEMORY_SIZE;
  this.logGroupName = LOG_GROUP;
  this.logStreamName = LOG_STREAM;
  this.clientContext = clientContext;
  this.identity = identity;
  this.invokedFunctionArn = FUNCTION_ARN;
  this.awsRequestId = id;
  this.getRemainingTimeInMillis = getRemainingTimeInMillis;
  this[kDeadline] = deadline;
  this[kSelf] = this;
}

function parseHeaderJSON(s, name) {
  if (s === '') return undefined;
  let c = s.charCodeAt(0);
  if (c !== 0x7b && c !== 0x5b && c !== 0x20) s = Buffer.from(s, 'base64').toString('utf8'); // base64 of the JSON
  try {
    return JSON.parse(s);
  } catch (err) {
    throw new Error('Cannot parse ' + name + ' as json: ' + err.toString());
  }
}

// complete reports the outcome of ctx's invocation once; later calls (a
// second callback, a context.succeed after a returned promise settled) are
// ignored, as in AWS's runtime.
function complete(ctx, err, result) {
  if (multi) {
    if (ctx === null || inflight.get(ctx.awsRequestId) !== ctx) return;
    inflight.delete(ctx.awsRequestId);
    answerPrefix = ctx.awsRequestId + '\n';
  } else {
    if (ctx === null || ctx !== current) return;
    current = null;
  }
  awaiting = false;
  if (err !== undefined && err !== null) {
    logError('Invoke Error', err);
    sendFrame(KIND_ERROR, errorDocument(err));
  } else {
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (_) {
      const e = new Error('Unable to stringify response body');
      logError('Invoke Error', e);
      sendFrame(KIND_ERROR, errorDocument(e));
      answerPrefix = '';
      if (!multi) scheduleNext();
      return;
    }
    if (body === undefined) body = 'null'; // a function or symbol result
    sendFrame(KIND_RESPONSE, body);
  }
  answerPrefix = '';
  if (!multi) scheduleNext();
}

// scheduleNext arranges for the next blocking read. A turn of the event loop
// (setImmediate) lets I/O callbacks, due timers and promise-rejection
// tracking of the last invocation run first, but costs ~20% of a trivial
// invocation's round trip; process.nextTick does not. So the loop gets a
// turn before the first read of every millisecond: under load that is about
// once per millisecond. (Blocked in read, the instance is frozen, as on
// Lambda between invocations.)
let lastTurn = 0;
function scheduleNext() {
  const now = Date.now();
  if (now !== lastTurn) {
    lastTurn = now;
    setImmediate(loop);
  } else {
    process.nextTick(loop);
  }
}

async function settle(ctx, promise) {
  let v;
  try {
    v = await promise;
  } catch (e) {
    complete(ctx, e === undefined || e === null ? 'handled' : e, null);
    return;
  }
  complete(ctx, null, v);
}

// Every handler gets the callback argument, as on AWS (wrappers that forward
// `arguments` rely on it); it is bound to its own invocation so that a late
// call cannot complete the next one.
function callbackFor(ctx) {
  return function callback(err, result) { complete(ctx, err, result); };
}

const nl = [0, 0, 0, 0, 0]; // offsets of the header fields' newlines

// nextFrame reads the next frame, blocking, and returns the offset of its
// end in inBuf (the frame is inBuf[inStart+4:end]); -1 on EOF.
function nextFrame() {
  if (!fill(4)) return -1;
  const len = inBuf.readUInt32LE(inStart);
  if (len === 0 || len > MAX_FRAME) fatalProtocol('bad frame length ' + len);
  if (!fill(4 + len)) fatalProtocol('channel closed inside a frame');
  return inStart + 4 + len;
}

// invokeNext reads and starts one invocation; false on EOF.
function invokeNext() {
  const end = nextFrame();
  if (end < 0) return false;
  startInvocation(inStart + 4, end);
  return true;
}

// startInvocation starts the invocation of the 'I' frame at inBuf[start:end].
function startInvocation(start, end) {
  inStart = end;
  if (inBuf[start] !== KIND_INVOKE) fatalProtocol('unexpected frame kind ' + inBuf[start]);
  let p = start + 1;
  for (let i = 0; i < 5; i++) {
    const j = inBuf.indexOf(10, p);
    if (j < 0 || j >= end) fatalProtocol('malformed invoke frame');
    nl[i] = j;
    p = j + 1;
  }
  const id = inBuf.latin1Slice(start + 1, nl[0]);
  const deadline = Number(inBuf.latin1Slice(nl[0] + 1, nl[1]));
  const trace = nl[2] > nl[1] + 1 ? inBuf.latin1Slice(nl[1] + 1, nl[2]) : '';
  const cc = nl[3] > nl[2] + 1 ? inBuf.toString('utf8', nl[2] + 1, nl[3]) : '';
  const ci = nl[4] > nl[3] + 1 ? inBuf.toString('utf8', nl[3] + 1, nl[4]) : '';
  const payload = inBuf.toString('utf8', p, end);
  if (inStart === inEnd) inStart = inEnd = 0;

  if (!multi) requestId = id;
  if (trace !== '') {
    env._X_AMZN_TRACE_ID = trace;
    traceSet = true;
  } else if (traceSet) {
    delete env._X_AMZN_TRACE_ID;
    traceSet = false;
  }

  let ctx = null;
  let r;
  try {
    ctx = new Context(id, deadline, parseHeaderJSON(cc, 'ClientContext'), parseHeaderJSON(ci, 'CognitoIdentity'));
    enter(ctx);
    r = multi ? als.run(ctx, handler, JSON.parse(payload), ctx, callbackFor(ctx)) : handler(JSON.parse(payload), ctx, callbackFor(ctx));
  } catch (e) {
    if (ctx === null) { ctx = new Context(id, deadline, undefined, undefined); enter(ctx); }
    complete(ctx, e, null);
    return;
  }
  if (r !== undefined && r !== null && typeof r.then === 'function') {
    awaiting = true;
    if (multi) als.run(ctx, settle, ctx, r);
    else settle(ctx, r);
  } else if (r !== undefined && !callbackMode) {
    complete(ctx, null, r);
  } else if (multi && !callbackMode) {
    answerWhenIdle(ctx);
  }
  // else: a callback handler, or one that returned nothing, has not answered
  // yet: its callback or context.succeed/fail/done will, or, when the event
  // loop has nothing left to do, beforeExit answers null (as AWS does). With
  // several invocations at once, a callback handler must call back.
}

// answerWhenIdle answers null for a handler that returned nothing while
// several invocations run at once. AWS answers such a handler once the event
// loop is empty, which the channel's pending read never lets happen here;
// so the answer comes once nothing but that read (and this check's own
// timer) is pending, unless context.succeed/fail/done answers first.
function answerWhenIdle(ctx) {
  const check = () => {
    if (inflight.get(ctx.awsRequestId) !== ctx) return; // answered meanwhile
    let reads = 0, timers = 0, other = 0;
    for (const r of process.getActiveResourcesInfo()) {
      if (r === 'FSReqCallback') reads++;
      else if (r === 'Timeout') timers++;
      else other++;
    }
    if (other === 0 && reads <= 1 && timers <= 1) complete(ctx, null, null);
    else setTimeout(check, 5);
  };
  setTimeout(check, 0);
}

function enter(ctx) {
  if (multi) inflight.set(ctx.awsRequestId, ctx);
  else current = ctx;
}

// ---------------------------------------------------------------------------
// Several invocations at once (CLOUDLET_INSTANCE_CONCURRENCY > 1, an opt-in
// per function): frames are read asynchronously, so that the handlers'
// promises progress meanwhile; every answer starts with its request id and a
// newline; log lines carry the id of the invocation whose code wrote them
// (AsyncLocalStorage). The platform never sends more invocations at once than
// the concurrency it set.

let multi = false;
let als; // AsyncLocalStorage of the invocation's Context
const inflight = new Map(); // request id → Context

function readMore() {
  if (inStart === inEnd) inStart = inEnd = 0;
  if (inBuf.length - inEnd < 16 * 1024) {
    const need = inEnd - inStart + 64 * 1024;
    const nb = need > inBuf.length ? Buffer.allocUnsafe(Math.max(need, inBuf.length * 2)) : inBuf;
    inBuf.copy(nb, 0, inStart, inEnd);
    inBuf = nb;
    inEnd -= inStart;
    inStart = 0;
  }
  fs.read(IN_FD, inBuf, inEnd, inBuf.length - inEnd, null, (err, n) => {
    if (err) {
      if (err.code === 'EAGAIN' || err.code === 'EINTR') { setTimeout(readMore, 1); return; }
      throw err;
    }
    if (n === 0) process.exit(0);
    inEnd += n;
    while (inEnd - inStart >= 4) {
      const len = inBuf.readUInt32LE(inStart);
      if (len === 0 || len > MAX_FRAME) fatalProtocol('bad frame length ' + len);
      if (inEnd - inStart < 4 + len) {
        if (4 + len > inBuf.length - inStart) { // make room for the rest of a large frame
          const nb = Buffer.allocUnsafe(Math.max(4 + len, inBuf.length * 2));
          inBuf.copy(nb, 0, inStart, inEnd);
          inBuf = nb;
          inEnd -= inStart;
          inStart = 0;
        }
        break;
      }
      startInvocation(inStart + 4, inStart + 4 + len);
    }
    readMore();
  });
}

function loop() {
  if (current !== null) return;
  if (!invokeNext()) process.exit(0);
}

function fatalProtocol(msg) {
  writeString(2, 'cloudlet runtime: protocol error: ' + msg + '\n');
  process.exit(2);
}

// The event loop ran dry with an invocation unfinished. For a callback
// handler that never called back AWS answers null; for a promise that can
// never settle it reports Runtime.NodeJsExit.
process.on('beforeExit', () => {
  if (current === null) return;
  if (awaiting) {
    complete(current, runtimeError('Runtime.NodeJsExit',
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled.'), null);
  } else {
    complete(current, null, null);
  }
});

function onUncaught(err, exitCode) {
  if (!initDone) {
    sendFrame(KIND_INIT_ERROR, errorDocument(err));
  } else if (multi) {
    // The process ends: every invocation in flight fails with the error.
    const doc = errorDocument(err);
    for (const id of inflight.keys()) {
      answerPrefix = id + '\n';
      sendFrame(KIND_ERROR, doc);
    }
    inflight.clear();
  } else if (current !== null) {
    current = null;
    sendFrame(KIND_ERROR, errorDocument(err));
  }
  process.exit(exitCode);
}

process.on('uncaughtException', (err) => {
  logError('Uncaught Exception', err);
  onUncaught(err, 129);
});

process.on('unhandledRejection', (reason) => {
  const err = runtimeError('Runtime.UnhandledPromiseRejection', String(reason));
  err.reason = reason;
  logError('Unhandled Promise Rejection', err);
  onUncaught(err, 128);
});

function ready(fn) {
  handler = fn;
  callbackMode = fn.length >= 3;
  initDone = true;
  sendFrame(KIND_READY, '');
  if ((Number(env.CLOUDLET_INSTANCE_CONCURRENCY) || 1) > 1) {
    multi = true;
    als = new (require('async_hooks').AsyncLocalStorage)();
    readMore();
    return;
  }
  setImmediate(loop);
}

function initFailed(err) {
  logError('Uncaught Exception', err);
  sendFrame(KIND_INIT_ERROR, errorDocument(err));
  process.exit(129);
}

// specialise turns a stem cell into an instance of a function: it waits for
// the 'S' frame, takes the environment it carries as its own and moves to the
// function's code (doc.go, "Stem cells").
function specialise() {
  sendFrame(KIND_READY, '');
  const end = nextFrame();
  if (end < 0) process.exit(0);
  const start = inStart + 4;
  inStart = end;
  if (inBuf[start] !== KIND_SPECIALISE) fatalProtocol('unexpected frame kind ' + inBuf[start] + ' in a stem cell');
  const entries = inBuf.toString('utf8', start + 1, end).split('\0');
  if (inStart === inEnd) inStart = inEnd = 0;
  for (const k of Object.keys(env)) delete env[k];
  for (const e of entries) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  if (env.LAMBDA_TASK_ROOT) process.chdir(env.LAMBDA_TASK_ROOT);
  // NODE_PATH is read when Node starts; recompute the global module paths.
  require('module')._initPaths();
}

// aws-sdk v2 never reads AWS_ENDPOINT_URL: give its global config
// Cloudlet's endpoint when the function loads it (the copy nodejs16.x and
// older ship, or a project's own on any runtime), so that clients made
// without an endpoint reach Cloudlet, as v3 clients do.
function patchSDKv2() {
  if (!env.AWS_ENDPOINT_URL) return;
  const Module = require('module');
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    const mod = load.apply(this, arguments);
    if (request === 'aws-sdk' && mod && mod.config && typeof mod.config.update === 'function') {
      Module._load = load;
      if (!mod.config.endpoint) mod.config.update({ endpoint: env.AWS_ENDPOINT_URL, s3ForcePathStyle: true });
    }
    return mod;
  };
}

function main() {
  if (env.CLOUDLET_STEM === '1') specialise();
  configure();
  patchSDKv2();
  patchConsole();
  globalThis.awslambda = {
    streamifyResponse() {
      throw runtimeError('Runtime.MalformedStreamingHandler', 'response streaming is not supported by Cloudlet yet');
    },
  };
  let funcPath;
  let mod;
  try {
    if (HANDLER.includes('..')) {
      throw runtimeError('Runtime.MalformedHandlerName',
        "'" + HANDLER + "' is not a valid handler name. Use absolute paths when specifying root directories in handler names.");
    }
    const base = path.basename(HANDLER);
    const moduleRoot = HANDLER.substring(0, HANDLER.indexOf(base));
    const dot = base.indexOf('.');
    if (dot < 0) throw runtimeError('Runtime.MalformedHandlerName', 'Bad handler');
    funcPath = base.slice(dot + 1);
    try {
      mod = loadModule(moduleRoot, base.slice(0, dot));
    } catch (e) {
      throw classifyLoadError(e);
    }
    if (!loadedESM) {
      ready(resolveHandler(mod, funcPath));
      return;
    }
  } catch (e) {
    initFailed(e);
    return;
  }
  mod.then(
    (ns) => {
      let fn;
      try { fn = resolveHandler(ns, funcPath); } catch (e) { initFailed(e); return; }
      ready(fn);
    },
    (e) => initFailed(classifyLoadError(e)),
  );
}

main();
