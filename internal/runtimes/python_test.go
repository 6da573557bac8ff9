package runtimes

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

const pythonRuntime = "python3.11"

func startPython(t *testing.T, handler, fixture string) *instance {
	t.Helper()
	needPython(t)
	in := startInstance(t, pythonRuntime, handler, "testdata/python/"+fixture, instanceOpts{})
	in.mustReady()
	return in
}

func TestPythonHandlers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, handler, payload, want string
	}{
		{"module.function", "handler.hello", `{"name":"cloudlet"}`, `{"hello": "cloudlet", "double": 4}`},
		{"None is null", "handler.none", `{}`, `null`},
		{"dotted package", "pkg.mod.fn", `{}`, `{"module": "pkg.mod"}`},
		{"slashed path", "src/handlers/user.get", `{"id":21}`, `{"user": 21, "double": 42, "module": "src.handlers.user"}`},
		{"dotted path", "src.handlers.user.get", `{"id":1}`, `{"user": 1, "double": 2, "module": "src.handlers.user"}`},
		{"decimal", "handler.decimal", `{}`, `{"int": 10, "frac": 1.5}`},
		{"unicode is escaped before 3.12", "handler.unicode", `{"text":"héllo"}`, `{"text": "h\u00e9llo \u2713"}`},
		{"bytes are returned as is", "handler.raw_bytes", `{}`, `raw bytes`},
		{"whitespace around the event", "handler.echo", " \n{\"a\": [1, 2.5, null, true]} \n", `{"a": [1, 2.5, null, true]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := startPython(t, c.handler, "app")
			kind, body := in.call(c.payload)
			if kind != KindResponse || string(body) != c.want {
				t.Fatalf("got %q %s, want R %s\nlogs:\n%s", kind, body, c.want, in.logs.String())
			}
		})
	}
}

func TestPythonUnicode312(t *testing.T) {
	t.Parallel()
	needPython(t)
	in := startInstance(t, pythonRuntime, "handler.unicode", "testdata/python/app",
		instanceOpts{env: []string{"AWS_EXECUTION_ENV=AWS_Lambda_python3.12"}})
	in.mustReady()
	if kind, body := in.call(`{"text":"héllo"}`); kind != KindResponse || string(body) != `{"text": "héllo ✓"}` {
		t.Fatalf("got %q %s", kind, body)
	}
}

func TestPythonContext(t *testing.T) {
	t.Parallel()
	in := startPython(t, "handler.context_fields", "app")
	deadline := time.Now().Add(10 * time.Second).UnixMilli()
	kind, body := in.invoke(Invocation{
		RequestID:       "8f5c7e0e-aaaa-bbbb-cccc-123456789012",
		DeadlineMs:      deadline,
		TraceID:         "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
		ClientContext:   `{"custom":{"k":"v"},"env":{},"client":{"app_title":"app"}}`,
		CognitoIdentity: `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`,
		Payload:         []byte(`{}`),
	})
	if kind != KindResponse {
		t.Fatalf("got %q %s\nlogs:\n%s", kind, body, in.logs.String())
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"aws_request_id":       "8f5c7e0e-aaaa-bbbb-cccc-123456789012",
		"function_name":        "svc-dev-fn",
		"function_version":     "$LATEST",
		"memory_limit_in_mb":   "1024",
		"invoked_function_arn": "arn:aws:lambda:eu-west-1:000000000000:function:svc-dev-fn",
		"log_group_name":       "/aws/lambda/svc-dev-fn",
		"log_stream_name":      "2026/01/01/[$LATEST]abc",
		"client_app_title":     "app",
		"identity_id":          "id-1",
		"identity_pool":        "pool-1",
		"trace_env":            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if cc, _ := got["client_custom"].(map[string]any); cc["k"] != "v" {
		t.Errorf("client_context.custom = %v", got["client_custom"])
	}
	first, second := got["first"].(float64), got["second"].(float64)
	if first <= 0 || first > 10000 || second >= first {
		t.Errorf("get_remaining_time_in_millis: %v then %v", first, second)
	}
	if !strings.HasSuffix(got["cwd"].(string), "testdata/python/app") || got["path0"] != got["cwd"] {
		t.Errorf("cwd %v, sys.path[0] %v: both should be the task root", got["cwd"], got["path0"])
	}

	// Without a trace id the variable is gone; no client context gives None.
	kind, body = in.invoke(Invocation{Payload: []byte(`{}`)})
	if kind != KindResponse {
		t.Fatalf("got %q %s", kind, body)
	}
	got = nil
	json.Unmarshal(body, &got)
	if got["trace_env"] != nil || got["client_custom"] != nil || got["identity_id"] != nil {
		t.Errorf("second invocation: %s", body)
	}
}

var pythonLogLine = regexp.MustCompile(`\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-1\tinfo via logging arg\n`)

func TestPythonLogging(t *testing.T) {
	t.Parallel()
	in := startPython(t, "handler.log", "app")
	kind, body := in.call(`{}`)
	if kind != KindResponse || string(body) != `"logged"` {
		t.Fatalf("got %q %s", kind, body)
	}
	logs := in.waitLog("stderr line\n")
	for _, w := range []string{"printed line\n", "\treq-1\tchild warning\n", "[WARNING]\t"} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %q:\n%s", w, logs)
		}
	}
	if !pythonLogLine.MatchString(logs) {
		t.Errorf("no logging line in Lambda's format:\n%s", logs)
	}
}

func TestPythonErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, handler, wantType, wantMessage, wantFrame string
	}{
		{"raise", "handler.raises", "ValueError", "something broke", `in raises`},
		{"custom exception, nested frames", "handler.custom", "CustomError", "custom failure", `in helper_that_raises`},
		{"not serializable", "handler.unserializable", "Runtime.MarshalError", "Unable to marshal response: Object of type object is not JSON serializable", ""},
		{"cycle", "handler.cycle", "Runtime.MarshalError", "Unable to marshal response: Circular reference detected", ""},
		{"not callable", "handler.not_a_function", "TypeError", "'int' object is not callable", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := startPython(t, c.handler, "app")
			kind, body := in.call(`{}`)
			if kind != KindError {
				t.Fatalf("got %q %s, want E", kind, body)
			}
			d := decodeError(t, body)
			if d.ErrorType != c.wantType || d.ErrorMessage != c.wantMessage || d.RequestID == nil || *d.RequestID != "req-1" {
				t.Errorf("got %s", body)
			}
			if c.wantFrame != "" {
				if len(d.StackTrace) == 0 || !strings.Contains(d.StackTrace[0], "handler.py") ||
					!strings.Contains(strings.Join(d.StackTrace, ""), c.wantFrame) {
					t.Errorf("stackTrace %q should start in handler.py and contain %q", d.StackTrace, c.wantFrame)
				}
				for _, f := range d.StackTrace {
					if strings.Contains(f, "_cloudlet_runtime.py") {
						t.Errorf("stackTrace shows the runtime's frames: %q", d.StackTrace)
					}
				}
			}
			in.waitLog("[ERROR] " + c.wantType + ": ")
			// The instance survives a handled error, and a bad payload.
			if kind, _ := in.call(`{}`); kind != KindError {
				t.Errorf("second invocation: %q", kind)
			}
		})
	}
}

func TestPythonBadEvent(t *testing.T) {
	t.Parallel()
	in := startPython(t, "handler.echo", "app")
	kind, body := in.call(`{"unterminated":`)
	if d := decodeError(t, body); kind != KindError || d.ErrorType != "Runtime.UnmarshalError" ||
		!strings.HasPrefix(d.ErrorMessage, "Unable to unmarshal input: Expecting value") {
		t.Fatalf("got %q %s", kind, body)
	}
	if kind, body := in.call(`{"ok":1}`); kind != KindResponse || string(body) != `{"ok": 1}` {
		t.Fatalf("after a bad event: %q %s", kind, body)
	}
}

func TestPythonInitErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, fixture, handler, wantType, wantMessage string
	}{
		{"missing module", "empty", "handler.get_user", "Runtime.ImportModuleError", "Unable to import module 'handler': No module named 'handler'"},
		{"missing function", "app", "handler.get_user", "Runtime.HandlerNotFound", "Handler 'get_user' missing on module 'handler'"},
		{"syntax error", "syntax", "handler.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'handler': "},
		{"malformed handler", "app", "handler", "Runtime.MalformedHandlerName", "Bad handler 'handler': "},
		{"built-in module", "app", "sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"},
		{"raise at import", "throwinit", "handler.handler", "RuntimeError", "init exploded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			needPython(t)
			in := startInstance(t, pythonRuntime, c.handler, "testdata/python/"+c.fixture, instanceOpts{})
			kind, body := in.ready()
			if kind != KindInitError {
				t.Fatalf("got %q %s, want N", kind, body)
			}
			d := decodeError(t, body)
			if d.ErrorType != c.wantType || !strings.HasPrefix(d.ErrorMessage, c.wantMessage) || d.RequestID == nil || *d.RequestID != "" {
				t.Errorf("got %s", body)
			}
			if code := in.waitExit(); code == 0 {
				t.Errorf("exit code 0 after an init error")
			}
			in.waitLog("[ERROR] " + c.wantType + ": ")
		})
	}
}

func TestPythonExitDuringInvocation(t *testing.T) {
	t.Parallel()
	in := startPython(t, "handler.exits", "app")
	in.out = AppendInvoke(in.out[:0], &Invocation{RequestID: "r", DeadlineMs: 1, Payload: []byte(`{}`)})
	if _, err := in.toChild.Write(in.out); err != nil {
		t.Fatal(err)
	}
	if code := in.waitExit(); code != 3 {
		t.Errorf("exit code %d, want 3 (sys.exit(3) in the handler)", code)
	}
}

func TestPythonManyInvocations(t *testing.T) {
	t.Parallel()
	in := startPython(t, "handler.counter", "app")
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

func TestPythonLargePayloads(t *testing.T) {
	t.Parallel()
	in := startPython(t, "handler.echo", "app")
	data := strings.Repeat("abcdefghij", 500_000) // 5 MB
	payload := `{"data": "` + data + `"}`
	kind, body := in.call(payload)
	if kind != KindResponse || string(body) != payload {
		t.Fatalf("echo of 5 MB: got %q, %d bytes", kind, len(body))
	}
	if kind, body := in.call(payload); kind != KindResponse || len(body) != len(payload) {
		t.Fatalf("second echo: got %q, %d bytes", kind, len(body))
	}
	if kind, body := in.call(`{"small": true}`); kind != KindResponse || string(body) != `{"small": true}` {
		t.Fatalf("small after large: %q %s", kind, body)
	}
}

func TestPythonHugeResponse(t *testing.T) {
	t.Parallel()
	in := startPython(t, "handler.big", "app")
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
