package lambda

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudlet/cloudlet/internal/sandbox"
)

// runtimeAPI serves the Lambda Runtime API (2018-06-01) to one instance of a
// custom runtime, on its own loopback listener.
type runtimeAPI struct {
	in    *instance
	addr  string
	ln    net.Listener
	srv   *http.Server
	next  chan *call // the instance goroutine hands the call over here
	reply chan apiReply
	ready chan struct{}
	init  chan []byte // an init error document

	mu        sync.Mutex
	readyOnce sync.Once
	current   *call // the call the runtime holds, between next and its answer
}

type apiReply struct {
	body      []byte
	errorType string // "" for a response
}

const runtimeAPIPrefix = "/2018-06-01/runtime/"

// newRuntimeAPI listens for the instance whose processes are in lim's cgroup
// (nil: not isolated, any local connection is taken).
func newRuntimeAPI(in *instance, lim *sandbox.Limits) (*runtimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &runtimeAPI{
		in: in, ln: ln, addr: ln.Addr().String(),
		next: make(chan *call), reply: make(chan apiReply, 1),
		ready: make(chan struct{}), init: make(chan []byte, 1),
	}
	a.srv = &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go a.srv.Serve(ownListener{ln, func(c net.Conn) bool {
		if lim == nil {
			return true // not isolated: nothing to check against
		}
		return fromInstance(c, lim.Procs())
	}})
	return a, nil
}

func (a *runtimeAPI) close() { a.srv.Close() }

// waitReady waits for the runtime's first "next" (initialisation done), its
// init error, or its death.
func (a *runtimeAPI) waitReady() error {
	select {
	case <-a.ready:
		return nil
	case doc := <-a.init:
		a.in.kill()
		return &initError{doc: doc, errorType: errorTypeOf(doc)}
	case <-a.in.exited:
		if err := a.in.deathError(""); err != nil {
			return err
		}
		return a.in.initTimeoutError()
	}
}

// invokeAPI hands c to the runtime and waits for its answer.
func (in *instance) invokeAPI(c *call) bool {
	a := in.api
	select {
	case a.next <- c:
	case <-in.exited:
		if !in.timedOut.Load() {
			in.f.fail(c, in.deathError(c.id))
		}
		return false
	}
	defer func() {
		// Wait until the runtime's handler no longer reads c.
		a.mu.Lock()
		a.current = nil
		a.mu.Unlock()
	}()
	select {
	case r := <-a.reply:
		if r.errorType == "" {
			in.setResponse(c, r.body)
		} else {
			c.res.Payload, c.res.FunctionError, c.res.ErrorType = r.body, "Unhandled", r.errorType
		}
		return true
	case <-in.exited:
		if !in.timedOut.Load() {
			in.f.fail(c, in.deathError(c.id))
		}
		return false
	}
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, runtimeAPIPrefix)
	if !ok {
		apiError(w, http.StatusNotFound, "InvalidRequest", "unknown path "+r.URL.Path)
		return
	}
	switch {
	case path == "invocation/next" && r.Method == http.MethodGet:
		a.nextInvocation(w, r)
	case path == "init/error" && r.Method == http.MethodPost:
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		select {
		case a.init <- errorBody(body, r.Header.Get("Lambda-Runtime-Function-Error-Type")):
		default:
		}
		accepted(w)
	case strings.HasPrefix(path, "invocation/") && r.Method == http.MethodPost:
		rest := strings.TrimPrefix(path, "invocation/")
		id, verb, _ := strings.Cut(rest, "/")
		if verb != "response" && verb != "error" {
			apiError(w, http.StatusNotFound, "InvalidRequest", "unknown path "+r.URL.Path)
			return
		}
		a.answer(w, r, id, verb == "error")
	default:
		apiError(w, http.StatusNotFound, "InvalidRequest", "unknown path "+r.URL.Path)
	}
}

func (a *runtimeAPI) nextInvocation(w http.ResponseWriter, r *http.Request) {
	a.readyOnce.Do(func() { close(a.ready) })
	var c *call
	select {
	case c = <-a.next:
	case <-r.Context().Done():
		return
	case <-a.in.exited:
		return
	}
	// a.mu is held while c is read, so that whoever next takes it (the
	// runtime's answer, or the instance giving up on a dead runtime) knows
	// this handler is done with c.
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.in.exited:
		// The instance gave up on c (timeout, crash) before we took the lock:
		// c may already be answered and reused.
		return
	default:
	}
	a.current = c
	h := w.Header()
	h["Lambda-Runtime-Aws-Request-Id"] = []string{c.id}
	h["Lambda-Runtime-Deadline-Ms"] = []string{strconv.FormatInt(c.deadline.UnixMilli(), 10)}
	h["Lambda-Runtime-Invoked-Function-Arn"] = []string{a.in.f.cfg.ARN}
	if c.req.TraceID != "" {
		h["Lambda-Runtime-Trace-Id"] = []string{c.req.TraceID}
	}
	if c.req.ClientContext != "" {
		h["Lambda-Runtime-Client-Context"] = []string{c.req.ClientContext}
	}
	h["Content-Type"] = []string{"application/json"}
	w.Write(c.req.Payload)
}

func (a *runtimeAPI) answer(w http.ResponseWriter, r *http.Request, id string, isError bool) {
	a.mu.Lock()
	c := a.current
	if c == nil || c.id != id {
		a.mu.Unlock()
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	a.current = nil
	a.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxSyncPayload+1))
	if err != nil {
		body = errorDoc("Runtime.InvalidResponse", "reading the response: "+err.Error())
		isError = true
	}
	if !isError && len(body) > MaxSyncPayload {
		a.reply <- apiReply{body: errorDoc("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(MaxSyncPayload)+" bytes)."), errorType: "Function.ResponseSizeTooLarge"}
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response payload too large")
		return
	}
	if isError {
		doc := errorBody(body, r.Header.Get("Lambda-Runtime-Function-Error-Type"))
		a.reply <- apiReply{body: doc, errorType: errorTypeOf(doc)}
	} else {
		a.reply <- apiReply{body: body}
	}
	accepted(w)
}

// errorBody normalises an error a runtime posted: a JSON error document is
// kept; anything else becomes one, typed by the header.
func errorBody(body []byte, headerType string) []byte {
	var doc struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &doc) == nil && (doc.ErrorType != "" || doc.ErrorMessage != "") {
		return body
	}
	if headerType == "" {
		headerType = "Runtime.Unknown"
	}
	return errorDoc(headerType, string(body))
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(errorDoc(typ, msg))
}
