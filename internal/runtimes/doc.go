// Package runtimes knows how to start a function instance for each Lambda
// runtime, and defines the private channel between the platform and the
// instances of the runtimes that Cloudlet itself implements.
//
// # Runtimes
//
// nodejs<N>.x and python3.<N> run Cloudlet's own bootstraps, embedded in the
// binary and written to disk by Install; they speak the private channel
// (Protocol Pipe), about 6× faster than the HTTP Runtime API. provided,
// provided.al2, provided.al2023 and go1.x run the function's own executable
// (TaskRoot/bootstrap, or TaskRoot/<handler> for go1.x), which speaks the HTTP
// Lambda Runtime API served by internal/lambda (Protocol RuntimeAPI). Prepare
// says how to start an instance; CheckHandler is the deploy-time check.
//
// # The private channel
//
// The instance gets fd 3, the read end of a pipe from the platform, and fd 4,
// the write end of a pipe to it. Both must be blocking. Its stdout and stderr
// are one log pipe read by the platform.
//
// Every frame, in both directions, is a 4-byte little-endian uint32 N, then N
// bytes: one kind byte and the body. 1 ≤ N ≤ MaxFrameSize (16 MB).
//
// Platform → runtime:
//
//	'I' invoke: requestId \n deadlineMs \n traceId \n clientContext \n cognitoIdentity \n payload
//
// deadlineMs is decimal Unix milliseconds; the four header fields never hold
// '\n' (AppendInvoke replaces it); empty ones are empty strings; clientContext
// and cognitoIdentity are JSON (base64 of the JSON is accepted for the client
// context too); payload, the raw event JSON, is the rest of the frame.
//
//	'S' specialise: KEY=value NUL KEY=value NUL … (stem cells only, below)
//	'X' exec: path NUL KEY=value NUL … (exec stem cells only, below)
//
// Runtime → platform:
//
//	'Y' init done (empty body): sent once, after the handler is loaded (a
//	    stem cell also sends one when it is ready to be specialised)
//	'N' init error: body is the error document; the process then exits non-zero
//	'R' response: body is the JSON-encoded result (undefined/None → null;
//	    a Python handler returning bytes sends them as they are)
//	'E' invocation error: body is the error document
//
// The error document is exactly what AWS's runtime for that language returns
// to Invoke callers, so the platform forwards it unchanged: Node writes
// {"errorType","errorMessage","trace":[stack lines, the first included]},
// Python {"errorMessage","errorType","requestId","stackTrace":[frames]}. Both
// always have errorType and errorMessage strings. errorType Runtime.* names
// the runtime's own failures: ImportModuleError, HandlerNotFound,
// UserCodeSyntaxError, MalformedHandlerName (Node and Python);
// UnhandledPromiseRejection and NodeJsExit (Node); MarshalError,
// UnmarshalError, BuiltInModuleConflict (Python). A response too large for a
// frame is turned into an 'E' with errorType Function.ResponseSizeTooLarge.
//
// # Guarantees
//
// One invocation at a time: the runtime reads the next 'I' only after it has
// written the previous one's 'R' or 'E', and writes exactly one of them per
// 'I' unless the process dies. Between invocations it blocks in a read of
// fd 3, like a frozen Lambda instance; end of file on fd 3 makes it exit 0.
// Everything the handler wrote to stdout/stderr before returning is in the
// log pipe before its 'R' or 'E' frame is written (Node's console writes and
// stdout writes to pipes are synchronous; Python runs unbuffered). An
// uncaught exception or unhandled rejection during an invocation is reported
// as that invocation's 'E', and the process then exits non-zero (128/129,
// as on AWS); sys.exit in a Python handler ends the process with no frame.
// An unknown frame kind or a malformed frame makes the runtime exit with
// status 2.
//
// # Several invocations at once (Node only)
//
// With CLOUDLET_INSTANCE_CONCURRENCY=N (N > 1) in its environment, the Node
// bootstrap reads fd 3 asynchronously and starts every 'I' frame as it
// arrives, so that up to N handlers run at once in one process (the
// platform never sends more than N). The body of every 'R' and 'E' frame
// then starts with the request id and a newline; log lines carry the id of
// the invocation whose code wrote them (AsyncLocalStorage). An uncaught
// exception fails every invocation in flight with its error document, then
// the process exits. _X_AMZN_TRACE_ID is the latest invocation's. The
// channel's pending read keeps the event loop from ever being empty, so a
// handler that returns nothing is answered null once nothing else is
// pending (unless context answers first), and a callback handler must call
// back.
//
// # Stem cells
//
// Started with CLOUDLET_STEM=1 in its environment, a bootstrap loads the
// runtime but no function: it sends 'Y' and blocks reading fd 3. The first
// frame must then be 'S', which carries the whole environment of the
// function's instance; the bootstrap replaces its environment with it (the
// C environment too, so child processes inherit it), changes directory to
// LAMBDA_TASK_ROOT and carries on as an instance started with that
// environment would: it loads the handler and sends 'Y' or 'N'. The function
// sees nothing of the cell's past: no code of its own ran before 'S'.
// Variables the interpreter reads only when it starts (NODE_OPTIONS, for
// instance) cannot take effect this way; StartupOnly says which, and the
// platform starts such functions the ordinary way.
//
// Runtimes that run the function's own executable have exec stem cells
// (ExecStem): a small Python program that sends 'Y', waits for one 'X'
// frame, changes directory to LAMBDA_TASK_ROOT, closes fds 3 and 4 and execs
// the program with exactly the environment given, which then speaks the
// HTTP Runtime API like any instance. If the exec fails it writes why to
// stderr and exits 127.
//
// # Environment
//
// The platform sets the standard Lambda variables (_HANDLER,
// LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, …) and runs the instance in
// TaskRoot with a minimal environment; Launch.Env adds AWS_EXECUTION_ENV,
// LAMBDA_RUNTIME_DIR and, for Node, NODE_PATH=TaskRoot (as on Lambda, where
// NODE_PATH ends with /var/task). The bootstraps also read:
//
//   - CLOUDLET_ACCOUNT_ID: the account in the context's invokedFunctionArn,
//     arn:aws:lambda:$AWS_REGION:$CLOUDLET_ACCOUNT_ID:function:$AWS_LAMBDA_FUNCTION_NAME
//     (default 000000000000);
//   - AWS_LAMBDA_LOG_LEVEL: the least level logged (Node console; Python
//     root logger), as on AWS;
//   - PYTHONPATH, PYTHONDONTWRITEBYTECODE: honoured by the Python bootstrap
//     although the interpreter runs with -I.
//
// Prepare itself reads CLOUDLET_NODE and CLOUDLET_PYTHON, the interpreters
// to use instead of those found on PATH.
//
// # Logs
//
// Node's console.log/info/warn/error/debug/trace write Lambda's text format,
// "<ISO time>\t<requestId>\t<LEVEL>\t<message>\n", with util.format, and, as
// AWS does, every '\n' inside a message replaced by '\r' so that one call is
// one line (turn '\r' back into '\n' to display it). Python's root logger
// writes "[LEVEL]\t<time>\t<requestId>\t<message>\n" once logging is
// imported; print writes to stdout as it is. Errors are also logged as AWS
// logs them ("Invoke Error", "Uncaught Exception", "[ERROR] Type: message").
// Before the first invocation the Node request id is "undefined", as on AWS.
package runtimes
