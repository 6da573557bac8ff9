package runtimes

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

const nodeRuntime = "nodejs20.x"

func startNode(t *testing.T, handler, fixture string) *instance {
	t.Helper()
	needNode(t)
	in := startInstance(t, nodeRuntime, handler, "testdata/node/"+fixture, instanceOpts{})
	in.mustReady()
	return in
}

func TestNodeHandlers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, fixture, handler, payload, want string
	}{
		{"async CommonJS", "cjs", "handler.hello", `{"name":"cloudlet"}`, `{"hello":"cloudlet","double":4}`},
		{"sync return value", "cjs", "handler.sync", `{"n":7}`, `{"sync":true,"n":7}`},
		{"sync undefined is null", "cjs", "handler.syncUndefined", `{}`, `null`},
		{"callback", "cjs", "handler.callback", `{"n":3}`, `{"callback":true,"n":3}`},
		{"context.succeed", "cjs", "handler.legacySucceed", `{}`, `{"legacy":"succeed"}`},
		{"context.done", "cjs", "handler.legacyDone", `{}`, `{"legacy":"done"}`},
		{"nested path", "cjs", "src/handlers/user.get", `{"id":21}`, `{"user":21,"double":42}`},
		{"dotted function", "cjs", "handler.nested.deeper.fn", `{}`, `"dotted function path"`},
		{"ESM .mjs with top-level await", "mjs", "handler.handler", `{}`, `{"esm":"mjs","started":"top-level await","helper":"from helper","id":"req-1"}`},
		{"package.json type=module", "typemodule", "handler.handler", `{"n":1}`, `{"esm":"type-module","base":"b.js","n":1}`},
		{"unicode", "cjs", "handler.unicode", `{"text":"héllo"}`, `{"text":"héllo ✓","emoji":"😀"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := startNode(t, c.handler, c.fixture)
			kind, body := in.call(c.payload)
			if kind != KindResponse || string(body) != c.want {
				t.Fatalf("got %q %s, want R %s\nlogs:\n%s", kind, body, c.want, in.logs.String())
			}
		})
	}
}

func TestNodeContext(t *testing.T) {
	t.Parallel()
	in := startNode(t, "handler.context", "cjs")
	deadline := time.Now().Add(10 * time.Second).UnixMilli()
	kind, body := in.invoke(Invocation{
		RequestID:       "8f5c7e0e-aaaa-bbbb-cccc-123456789012",
		DeadlineMs:      deadline,
		TraceID:         "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
		ClientContext:   `{"custom":{"k":"v"},"env":{},"client":{}}`,
		CognitoIdentity: `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
		Payload:         []byte(`{}`),
	})
	if kind != KindResponse {
		t.Fatalf("got %q %s\nlogs:\n%s", kind, body, in.logs.String())
	}
	var got struct {
		AwsRequestID, FunctionName, FunctionVersion, MemoryLimitInMB any
		InvokedFunctionArn, LogGroupName, LogStreamName              string
		ClientContext                                                map[string]any
		Identity                                                     map[string]any
		CallbackWaitsForEmptyEventLoop                               bool
		First, Second                                                int64
		TraceEnv                                                     any
		Cwd                                                          string
		Copied                                                       bool
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.AwsRequestID != "8f5c7e0e-aaaa-bbbb-cccc-123456789012" || got.FunctionName != "svc-dev-fn" ||
		got.FunctionVersion != "$LATEST" || got.MemoryLimitInMB != "1024" {
		t.Errorf("context fields: %s", body)
	}
	if got.InvokedFunctionArn != "arn:aws:lambda:eu-west-1:000000000000:function:svc-dev-fn" {
		t.Errorf("invokedFunctionArn = %q", got.InvokedFunctionArn)
	}
	if got.LogGroupName != "/aws/lambda/svc-dev-fn" || got.LogStreamName != "2026/01/01/[$LATEST]abc" {
		t.Errorf("log names: %s", body)
	}
	if got.ClientContext["custom"].(map[string]any)["k"] != "v" || got.Identity["cognitoIdentityId"] != "id-1" {
		t.Errorf("clientContext/identity: %s", body)
	}
	if got.CallbackWaitsForEmptyEventLoop {
		t.Errorf("callbackWaitsForEmptyEventLoop should be settable")
	}
	remaining := deadline - time.Now().UnixMilli()
	if got.First <= 0 || got.First > 10000 || got.Second >= got.First || got.Second < remaining-1000 {
		t.Errorf("getRemainingTimeInMillis: first %d, second %d (about %d expected)", got.First, got.Second, remaining)
	}
	if got.TraceEnv != "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1" {
		t.Errorf("_X_AMZN_TRACE_ID = %v", got.TraceEnv)
	}
	if !strings.HasSuffix(got.Cwd, "testdata/node/cjs") {
		t.Errorf("cwd = %q", got.Cwd)
	}
	if !got.Copied {
		t.Errorf("getRemainingTimeInMillis does not work on a {...context} copy")
	}

	// The next invocation without a trace id clears the variable; a base64
	// client context is accepted too.
	kind, body = in.invoke(Invocation{ClientContext: "eyJjdXN0b20iOnsiayI6InYyIn19", Payload: []byte(`{}`)})
	if kind != KindResponse {
		t.Fatalf("got %q %s", kind, body)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.TraceEnv != nil || got.ClientContext["custom"].(map[string]any)["k"] != "v2" {
		t.Errorf("second invocation: %s", body)
	}
}

func TestNodeAccountID(t *testing.T) {
	t.Parallel()
	needNode(t)
	in := startInstance(t, nodeRuntime, "handler.context", "testdata/node/cjs", instanceOpts{env: []string{"CLOUDLET_ACCOUNT_ID=123456789012"}})
	in.mustReady()
	var got struct{ InvokedFunctionArn string }
	in.mustRespond(`{}`, &got)
	if got.InvokedFunctionArn != "arn:aws:lambda:eu-west-1:123456789012:function:svc-dev-fn" {
		t.Errorf("invokedFunctionArn = %q", got.InvokedFunctionArn)
	}
}

var nodeLogLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-1\t(INFO|WARN|ERROR|DEBUG)\t`)

func TestNodeConsole(t *testing.T) {
	t.Parallel()
	in := startNode(t, "handler.log", "cjs")
	kind, body := in.call(`{}`)
	if kind != KindResponse || string(body) != `"logged"` {
		t.Fatalf("got %q %s", kind, body)
	}
	// Console writes are synchronous: they are all in the pipe before the
	// response frame was written, so they are there (or on their way through
	// the reader goroutine) now.
	logs := in.waitLog("raw stderr\n")
	want := []string{
		"\tINFO\tlog line { a: 1 }\n",
		"\tINFO\tinfo line\n",
		"\tWARN\twarn line\n",
		"\tERROR\terror line\n",
		"\tDEBUG\tdebug line\n",
		"\tINFO\tmulti\rline\n",
		"raw stdout\n",
		"raw stderr\n",
	}
	for _, w := range want {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %q:\n%s", w, logs)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if strings.HasPrefix(line, "raw ") {
			continue
		}
		if !nodeLogLine.MatchString(line) {
			t.Errorf("log line %q is not in Lambda's format", line)
		}
	}
}

func TestNodeErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, handler, wantType, wantMessage, wantTrace0 string
	}{
		{"async throw", "handler.throws", "TypeError", "something broke", "TypeError: something broke"},
		{"sync throw", "handler.throwsSync", "RangeError", "sync throw", "RangeError: sync throw"},
		{"callback error", "handler.callbackError", "TypeError", "bad input", "TypeError: bad input"},
		{"context.fail", "handler.legacyFail", "Error", "legacy failure", "Error: legacy failure"},
		{"custom error class", "handler.custom", "CustomError", "custom failure", "CustomError: custom failure"},
		{"thrown string", "handler.throwString", "string", "just a string", ""},
		{"cyclic result", "handler.cycle", "Error", "Unable to stringify response body", "Error: Unable to stringify response body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := startNode(t, c.handler, "cjs")
			kind, body := in.call(`{}`)
			if kind != KindError {
				t.Fatalf("got %q %s, want E", kind, body)
			}
			d := decodeError(t, body)
			if d.ErrorType != c.wantType || d.ErrorMessage != c.wantMessage {
				t.Errorf("got %s", body)
			}
			if c.wantTrace0 == "" && len(d.Trace) != 0 || c.wantTrace0 != "" && (len(d.Trace) < 2 || d.Trace[0] != c.wantTrace0) {
				t.Errorf("trace: %q", d.Trace)
			}
			// AWS logs the error as "Invoke Error" too (a non-Error turned into one).
			logType := c.wantType
			if logType == "string" {
				logType = "Error"
			}
			in.waitLog("\tERROR\tInvoke Error \t{\"errorType\":\"" + logType + "\"")
			// The instance survives a handled error.
			if kind, _ := in.call(`{}`); kind != KindError {
				t.Errorf("second invocation: %q", kind)
			}
		})
	}
}

func TestNodeInitErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, fixture, handler, wantType, wantMessage string
	}{
		{"missing module", "empty", "handler.getUser", "Runtime.ImportModuleError", "Error: Cannot find module 'handler'\nRequire stack:\n- "},
		{"missing export", "cjs", "handler.getUser", "Runtime.HandlerNotFound", "handler.getUser is undefined or not exported"},
		{"not a function", "cjs", "handler.notAFunction", "Runtime.HandlerNotFound", "handler.notAFunction is not a function"},
		{"syntax error", "syntax", "handler.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: "},
		{"malformed handler", "cjs", "handler", "Runtime.MalformedHandlerName", "Bad handler"},
		{"relative path", "cjs", "../cjs/handler.hello", "Runtime.MalformedHandlerName", "'../cjs/handler.hello' is not a valid handler name."},
		{"throw at init", "throwinit", "handler.handler", "Error", "init exploded"},
		{"missing ESM export", "mjs", "handler.nope", "Runtime.HandlerNotFound", "handler.nope is undefined or not exported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			needNode(t)
			in := startInstance(t, nodeRuntime, c.handler, "testdata/node/"+c.fixture, instanceOpts{})
			kind, body := in.ready()
			if kind != KindInitError {
				t.Fatalf("got %q %s, want N", kind, body)
			}
			d := decodeError(t, body)
			if d.ErrorType != c.wantType || !strings.HasPrefix(d.ErrorMessage, c.wantMessage) {
				t.Errorf("got %s", body)
			}
			if code := in.waitExit(); code == 0 {
				t.Errorf("exit code 0 after an init error")
			}
			in.waitLog("\tundefined\tERROR\tUncaught Exception \t{\"errorType\":\"" + c.wantType + "\"")
		})
	}
}

func TestNodeFatalDuringInvocation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		handler, wantType, wantMessage, wantLog string
	}{
		{"handler.unhandled", "Runtime.UnhandledPromiseRejection", "Error: floating rejection", "Unhandled Promise Rejection"},
		{"handler.uncaught", "Error", "thrown from a timer", "Uncaught Exception"},
	}
	for _, c := range cases {
		t.Run(c.handler, func(t *testing.T) {
			t.Parallel()
			in := startNode(t, c.handler, "cjs")
			kind, body := in.call(`{}`)
			if kind != KindError {
				t.Fatalf("got %q %s, want E", kind, body)
			}
			if d := decodeError(t, body); d.ErrorType != c.wantType || d.ErrorMessage != c.wantMessage {
				t.Errorf("got %s", body)
			}
			if code := in.waitExit(); code == 0 {
				t.Errorf("exit code 0 after a fatal error")
			}
			in.waitLog("\tERROR\t" + c.wantLog)
		})
	}
}

func TestNodeNeverSettles(t *testing.T) {
	t.Parallel()
	in := startNode(t, "handler.neverSettles", "cjs")
	kind, body := in.call(`{}`)
	if d := decodeError(t, body); kind != KindError || d.ErrorType != "Runtime.NodeJsExit" {
		t.Fatalf("got %q %s", kind, body)
	}
}

func TestNodeManyInvocations(t *testing.T) {
	t.Parallel()
	in := startNode(t, "handler.counter", "cjs")
	for i := 1; i <= 500; i++ {
		var got struct{ Count int }
		in.mustRespond(`{}`, &got)
		if got.Count != i {
			t.Fatalf("invocation %d: count %d (not the same process?)", i, got.Count)
		}
	}
	in.toChild.Close()
	if code := in.waitExit(); code != 0 {
		t.Errorf("exit code %d at EOF, want 0", code)
	}
}

func TestNodeLargePayloads(t *testing.T) {
	t.Parallel()
	in := startNode(t, "handler.echo", "cjs")
	data := strings.Repeat("abcdefghij", 500_000) // 5 MB
	payload := `{"data":"` + data + `"}`
	kind, body := in.call(payload)
	if kind != KindResponse || string(body) != payload {
		t.Fatalf("echo of 5 MB: got %q, %d bytes", kind, len(body))
	}
	// And again, reusing the grown buffers, then a small one.
	if kind, body := in.call(payload); kind != KindResponse || len(body) != len(payload) {
		t.Fatalf("second echo: got %q, %d bytes", kind, len(body))
	}
	if kind, body := in.call(`{"small":true}`); kind != KindResponse || string(body) != `{"small":true}` {
		t.Fatalf("small after large: %q %s", kind, body)
	}
}

func TestNodeHugeResponse(t *testing.T) {
	t.Parallel()
	in := startNode(t, "handler.big", "cjs")
	kind, body := in.call(`{"n":17000000}`)
	if d := decodeError(t, body); kind != KindError || d.ErrorType != "Function.ResponseSizeTooLarge" {
		t.Fatalf("got %q %.200s", kind, body)
	}
	var got struct{ Data string }
	in.mustRespond(`{"n":10}`, &got)
	if got.Data != "xxxxxxxxxx" {
		t.Errorf("after a too large response: %q", got.Data)
	}
}
