package lambda

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cloudlet/cloudlet/internal/sandbox"
)

// runtimeAPI serves the Lambda Runtime API (2018-06-01) to one instance of a
// custom runtime, on its own loopback listener that accepts only the
// instance's own processes.
//
// The hot path has no goroutine in between: a connection on which the
// runtime sent GET next is handed to the instance's goroutine, which writes
// the event on it, reads the runtime's answer from it, writes 202, and
// keeps it: the runtime's next GET next is read there at the next
// invocation. A runtime that opens a connection per request (curl in a
// shell bootstrap) is served too: its answer, arriving on a connection of
// its own, reaches the instance through reply.
type runtimeAPI struct {
	in      *instance
	addr    string
	ln      net.Listener
	waiting chan *apiConn // connections whose GET next awaits an event
	reply   chan apiReply // an answer that arrived on another connection
	ready   chan struct{}
	init    chan []byte // an init error document

	mu        sync.Mutex
	readyOnce sync.Once
	current   *call // the call the runtime holds, between next and its answer
	conns     map[*apiConn]struct{}
	closed    bool

	// Used by the instance's goroutine only.
	owned *apiConn // the connection it reads and writes, or nil
	wbuf  []byte
}

// apiConn is one connection of the runtime.
type apiConn struct {
	c       net.Conn
	r       *apiReader
	pending bool // its GET next was read and awaits an event
}

// block puts the connection in blocking mode: the instance's goroutine,
// on its locked thread, then waits in read and write themselves rather
// than in the netpoller, whose wake-ups cost more than the call (as the
// pipe channel does; package doc).
func (ac *apiConn) block() {
	if rc, err := ac.c.(syscall.Conn).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.SetNonblock(int(fd), false) })
	}
}

// shut ends the connection's reads and writes at once, also one blocked in
// another thread (close alone would not wake it), then closes it.
func (ac *apiConn) shut() {
	if rc, err := ac.c.(syscall.Conn).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
	ac.c.Close()
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
		waiting: make(chan *apiConn, 16), reply: make(chan apiReply, 1),
		ready: make(chan struct{}), init: make(chan []byte, 1),
		conns: map[*apiConn]struct{}{},
	}
	own := ownListener{ln, func(c net.Conn) bool {
		if lim == nil {
			return true // not isolated: nothing to check against
		}
		return fromInstance(c, lim.Procs())
	}}
	go func() {
		for {
			c, err := own.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetNoDelay(true)
			}
			ac := &apiConn{c: c, r: newAPIReader(c.Read)}
			a.mu.Lock()
			if a.closed {
				a.mu.Unlock()
				c.Close()
				return
			}
			a.conns[ac] = struct{}{}
			a.mu.Unlock()
			go a.serveConn(ac)
		}
	}()
	// A process that is gone leaves nothing to read: the connections close,
	// so that a read of the instance's goroutine returns, even when a child
	// of the runtime holds a connection open.
	go func() {
		<-in.exited
		a.close()
	}()
	return a, nil
}

func (a *runtimeAPI) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	a.ln.Close()
	for ac := range a.conns {
		ac.shut()
	}
}

// drop closes a connection of the runtime.
func (a *runtimeAPI) drop(ac *apiConn) {
	ac.shut()
	a.mu.Lock()
	delete(a.conns, ac)
	a.mu.Unlock()
}

// dropOwned closes the connection the instance's goroutine holds (called
// by that goroutine only, which alone uses owned).
func (a *runtimeAPI) dropOwned() {
	a.drop(a.owned)
	a.owned = nil
}

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

// serveConn reads requests from a connection until its GET next, when the
// connection passes to the instance's goroutine.
func (a *runtimeAPI) serveConn(ac *apiConn) {
	for {
		req, err := ac.r.next()
		if err != nil {
			a.refuse(ac, err)
			a.drop(ac)
			return
		}
		if req.method == "GET" && req.path == runtimeAPIPrefix+"invocation/next" {
			a.readyOnce.Do(func() { close(a.ready) })
			ac.pending = true
			select {
			case a.waiting <- ac:
			default:
				a.drop(ac) // more connections waiting than a runtime needs
			}
			return
		}
		a.handle(ac, req)
		if req.close {
			a.drop(ac)
			return
		}
	}
}

// refuse answers a request that could not be read, when it can be told.
func (a *runtimeAPI) refuse(ac *apiConn, err error) {
	switch err {
	case errAPIMalformed:
		ac.c.Write(apiErrorAnswer(400, "InvalidRequest", "malformed request"))
	case errAPITooLarge:
		ac.c.Write(apiErrorAnswer(413, "RequestEntityTooLarge", "request too large"))
	}
}

// handle serves a request other than GET next.
func (a *runtimeAPI) handle(ac *apiConn, req *apiRequest) {
	path, ok := strings.CutPrefix(req.path, runtimeAPIPrefix)
	switch {
	case !ok:
	case path == "init/error" && req.method == "POST":
		select {
		case a.init <- errorBody(req.body, req.errorType):
		default:
		}
		ac.c.Write(apiAccepted)
		return
	case strings.HasPrefix(path, "invocation/") && req.method == "POST":
		id, verb, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		if verb == "response" || verb == "error" {
			a.answer(ac, req, id, verb == "error")
			return
		}
	}
	ac.c.Write(apiErrorAnswer(404, "InvalidRequest", "unknown path "+req.path))
}

// answer takes a runtime's answer that arrived outside the instance's
// goroutine (a connection of its own) for the call it holds.
func (a *runtimeAPI) answer(ac *apiConn, req *apiRequest, id string, isError bool) {
	a.mu.Lock()
	c := a.current
	if c == nil || c.id != id {
		a.mu.Unlock()
		ac.c.Write(apiErrorAnswer(400, "InvalidRequestID", "Invalid request ID"))
		return
	}
	a.current = nil
	a.mu.Unlock()
	r, status := replyOf(req, isError)
	a.reply <- r
	if status == 413 {
		ac.c.Write(apiErrorAnswer(413, "RequestEntityTooLarge", "response payload too large"))
		return
	}
	ac.c.Write(apiAccepted)
}

// replyOf is what a runtime's answer means for its call, and the status to
// answer the runtime with.
func replyOf(req *apiRequest, isError bool) (apiReply, int) {
	switch {
	case !isError && req.tooLarge:
		return apiReply{body: errorDoc("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(MaxSyncPayload)+" bytes)."), errorType: "Function.ResponseSizeTooLarge"}, 413
	case isError:
		doc := errorBody(req.body, req.errorType)
		return apiReply{body: doc, errorType: errorTypeOf(doc)}, 202
	}
	return apiReply{body: req.body}, 202
}

// invokeAPI hands c to the runtime and waits for its answer.
func (in *instance) invokeAPI(c *call) bool {
	a := in.api
	defer func() {
		// Wait until no other goroutine reads c.
		a.mu.Lock()
		a.current = nil
		a.mu.Unlock()
	}()
	fail := func() bool {
		if !in.timedOut.Load() {
			in.f.fail(c, in.deathError(c.id))
		}
		return false
	}
	// The connection whose GET next the event answers.
	for {
		if a.owned == nil {
			select {
			case a.owned = <-a.waiting:
				a.owned.block()
			case <-in.exited:
				return fail()
			}
		}
		ac := a.owned
		if ac.pending {
			break
		}
		req, err := ac.r.next()
		if err != nil {
			a.refuse(ac, err)
			a.dropOwned() // a runtime that connects per request; or it is gone
			continue
		}
		if req.method == "GET" && req.path == runtimeAPIPrefix+"invocation/next" {
			ac.pending = true
			break
		}
		a.handle(ac, req)
	}
	ac := a.owned
	a.mu.Lock()
	a.current = c
	a.mu.Unlock()
	a.wbuf = appendEvent(a.wbuf[:0], c, in.f.cfg.ARN)
	ac.pending = false
	if _, err := ac.c.Write(a.wbuf); err != nil {
		a.dropOwned()
	}
	// The answer: on the same connection, unless the runtime uses another.
	for a.owned == ac {
		req, err := ac.r.next()
		if err != nil {
			a.refuse(ac, err)
			a.dropOwned()
			break
		}
		path, _ := strings.CutPrefix(req.path, runtimeAPIPrefix+"invocation/")
		id, verb, _ := strings.Cut(path, "/")
		if req.method != "POST" || verb != "response" && verb != "error" {
			if req.method == "GET" && req.path == runtimeAPIPrefix+"invocation/next" {
				ac.pending = true // asks for the next without answering this one here
				break
			}
			a.handle(ac, req)
			continue
		}
		if id != c.id {
			ac.c.Write(apiErrorAnswer(400, "InvalidRequestID", "Invalid request ID"))
			continue
		}
		a.mu.Lock()
		a.current = nil
		a.mu.Unlock()
		r, status := replyOf(req, verb == "error")
		if status == 413 {
			ac.c.Write(apiErrorAnswer(413, "RequestEntityTooLarge", "response payload too large"))
		} else {
			ac.c.Write(apiAccepted)
		}
		if req.close {
			a.dropOwned()
		}
		in.takeReply(c, r)
		return true
	}
	select {
	case r := <-a.reply:
		in.takeReply(c, r)
		return true
	case <-in.exited:
		return fail()
	}
}

func (in *instance) takeReply(c *call, r apiReply) {
	if r.errorType == "" {
		in.setResponse(c, r.body)
	} else {
		c.res.Payload, c.res.FunctionError, c.res.ErrorType = r.body, "Unhandled", r.errorType
	}
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
