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
	init    chan []byte   // an init error document
	done    chan struct{} // closed by stop
	// wake's read end is polled by the instance's goroutine beside its
	// connection; a byte on it says that waiting, reply or done changed.
	// wakeMu keeps a write from meeting the descriptors' close (a number
	// reused by another file would get the byte).
	wakeR, wakeW int
	wakeMu       sync.RWMutex
	wakeClosed   bool

	mu        sync.Mutex
	readyOnce sync.Once
	current   *call // the call the runtime holds, between next and its answer
	conns     map[*apiConn]struct{}
	stopped   bool

	// Used by the instance's goroutine only.
	owned *apiConn // the connection it reads and writes, or nil
	wbuf  []byte
	pfds  [2]unix.PollFd // await's, kept: no allocation per wait
}

// apiConn is one connection of the runtime.
type apiConn struct {
	c       net.Conn
	r       *apiReader
	fd      int  // while the instance's goroutine holds it (blocking mode)
	held    bool // the instance's goroutine holds it: only it closes it
	pending bool // its GET next was read and awaits an event
}

func newAPIConn(c net.Conn) *apiConn {
	ac := &apiConn{c: c, fd: -1}
	ac.r = newAPIReader(c.Read)
	ac.r.cont = func() { c.Write(apiContinue) }
	return ac
}

// block puts the connection in blocking mode: the instance's goroutine,
// on its locked thread, then waits in read and write themselves rather
// than in the netpoller, whose wake-ups cost more than the call (as the
// pipe channel does; package doc).
func (ac *apiConn) block() {
	if rc, err := ac.c.(syscall.Conn).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			unix.SetNonblock(int(fd), false)
			ac.fd = int(fd)
		})
	}
}

// unblock gives the connection back to the netpoller.
func (ac *apiConn) unblock() {
	if rc, err := ac.c.(syscall.Conn).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.SetNonblock(int(fd), true) })
	}
	ac.fd = -1
}

// shutdown ends the connection's reads and writes at once, also one
// blocked in another thread (close alone would not wake it).
func (ac *apiConn) shutdown() {
	if rc, err := ac.c.(syscall.Conn).SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
}

// gone reports whether the runtime closed the connection (a client that
// gave up on a long poll): a peek that finds the end of the stream.
func (ac *apiConn) gone() bool {
	if ac.r.buffered() || ac.fd < 0 {
		return false
	}
	var b [1]byte
	n, _, err := unix.Recvfrom(ac.fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	return n == 0 && err == nil || err != nil && err != unix.EAGAIN && err != unix.EINTR
}

type apiReply struct {
	id        string
	body      []byte
	errorType string // "" for a response
}

const runtimeAPIPrefix = "/2018-06-01/runtime/"

// newRuntimeAPI listens for the instance whose processes are in lim's cgroup
// (nil: not isolated, any local connection is taken).
func newRuntimeAPI(in *instance, lim *sandbox.Limits) (*runtimeAPI, error) {
	var wake [2]int
	if err := unix.Pipe2(wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		unix.Close(wake[0])
		unix.Close(wake[1])
		return nil, err
	}
	a := &runtimeAPI{
		in: in, ln: ln, addr: ln.Addr().String(),
		waiting: make(chan *apiConn, 16), reply: make(chan apiReply, 1),
		ready: make(chan struct{}), init: make(chan []byte, 1), done: make(chan struct{}),
		wakeR: wake[0], wakeW: wake[1],
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
			ac := newAPIConn(c)
			a.mu.Lock()
			if a.stopped {
				a.mu.Unlock()
				c.Close()
				return
			}
			a.conns[ac] = struct{}{}
			a.mu.Unlock()
			go a.serveConn(ac)
		}
	}()
	// A process that is gone leaves nothing to read: the connections shut,
	// so that a read of the instance's goroutine returns, even when a child
	// of the runtime holds a connection open.
	go func() {
		select {
		case <-in.exited:
			a.stop()
		case <-a.done:
		}
	}()
	return a, nil
}

// notify wakes the instance's goroutine if it polls.
func (a *runtimeAPI) notify() {
	a.wakeMu.RLock()
	if !a.wakeClosed {
		unix.Write(a.wakeW, []byte{1})
	}
	a.wakeMu.RUnlock()
}

// stop refuses new connections and ends every read and write of the
// runtime; the connections the instance's goroutine holds are shut, not
// closed (it may be polling them: their numbers must not be reused).
func (a *runtimeAPI) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		return
	}
	a.stopped = true
	close(a.done)
	a.ln.Close()
	for ac := range a.conns {
		ac.shutdown()
		if !ac.held {
			ac.c.Close()
		}
	}
	a.notify()
}

// close releases everything; called by the instance's goroutine, or once
// the instance has no goroutine.
func (a *runtimeAPI) close() {
	a.stop()
	a.mu.Lock()
	for ac := range a.conns {
		ac.c.Close()
	}
	a.conns = map[*apiConn]struct{}{}
	a.mu.Unlock()
	a.owned = nil
	a.wakeMu.Lock()
	if !a.wakeClosed {
		a.wakeClosed = true
		unix.Close(a.wakeR)
		unix.Close(a.wakeW)
	}
	a.wakeMu.Unlock()
}

// drop closes a connection of the runtime.
func (a *runtimeAPI) drop(ac *apiConn) {
	ac.shutdown()
	ac.c.Close()
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

// take makes ac the connection the instance's goroutine holds.
func (a *runtimeAPI) take(ac *apiConn) {
	a.mu.Lock()
	ac.held = true
	stopped := a.stopped
	a.mu.Unlock()
	if stopped {
		ac.shutdown()
	}
	ac.block()
	a.owned = ac
}

// handBack gives the held connection to a goroutine of its own again,
// which reads its next request and offers it if it is a GET next.
func (a *runtimeAPI) handBack() {
	ac := a.owned
	a.owned = nil
	ac.unblock()
	a.mu.Lock()
	ac.held = false
	stopped := a.stopped
	a.mu.Unlock()
	if stopped {
		ac.c.Close()
		return
	}
	go a.serveConn(ac)
}

// await blocks the instance's goroutine until fd (if ≥ 0) is readable or
// something is notified; it reports whether fd is.
func (a *runtimeAPI) await(fd int) bool {
	a.pfds[0] = unix.PollFd{Fd: int32(a.wakeR), Events: unix.POLLIN}
	fds := a.pfds[:1]
	if fd >= 0 {
		a.pfds[1] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}
		fds = a.pfds[:2]
	}
	for {
		if _, err := unix.Poll(fds, -1); err != unix.EINTR {
			break
		}
	}
	if fds[0].Revents != 0 {
		var buf [64]byte
		for {
			if n, _ := unix.Read(a.wakeR, buf[:]); n < len(buf) {
				break
			}
		}
	}
	return fd >= 0 && fds[1].Revents != 0
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
				a.notify()
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
// goroutine (a connection of its own) for the call it holds: one answer
// per call, whichever connection it comes on.
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
	r.id = id
	select {
	case a.reply <- r:
		a.notify()
	case <-a.done:
	}
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
//
// The event goes on a connection whose GET next is waiting: the held one
// when its GET next was read (and the runtime has not closed it since),
// else the first of waiting. While it waits for a GET next on the held
// connection, or for the answer, the instance's goroutine polls that
// connection and the wake pipe together, so a request on another
// connection (a runtime that keeps several) is seen as soon as it comes.
func (in *instance) invokeAPI(c *call) bool {
	a := in.api
	defer func() {
		// Wait until no other goroutine reads c.
		a.mu.Lock()
		a.current = nil
		a.mu.Unlock()
		if cap(a.wbuf) > 1<<20 {
			a.wbuf = nil // a 6 MB event need not stay
		}
	}()
	fail := func() bool {
		if !in.timedOut.Load() {
			in.f.fail(c, in.deathError(c.id))
		}
		return false
	}
	for {
		// A connection whose GET next awaits the event.
		for {
			select {
			case <-in.exited:
				return fail()
			default:
			}
			if ac := a.owned; ac != nil && ac.pending {
				if !ac.gone() {
					break
				}
				a.dropOwned() // the runtime gave up on this poll
				continue
			}
			// A GET next on another connection first: a wake-up that said
			// so may have been drained by an earlier wait.
			select {
			case ac := <-a.waiting:
				if a.owned != nil {
					a.handBack()
				}
				a.take(ac)
				continue
			default:
			}
			if a.owned != nil && (a.owned.r.buffered() || a.await(a.owned.fd)) {
				req, err := a.owned.r.next()
				if err != nil {
					a.refuse(a.owned, err)
					a.dropOwned() // a runtime that connects per request; or it is gone
					continue
				}
				if req.method == "GET" && req.path == runtimeAPIPrefix+"invocation/next" {
					a.owned.pending = true
				} else {
					a.handle(a.owned, req)
				}
				continue
			}
			if a.owned == nil {
				a.await(-1)
			}
		}
		ac := a.owned
		a.mu.Lock()
		a.current = c
		a.mu.Unlock()
		a.wbuf = appendEvent(a.wbuf[:0], c, in.f.cfg.ARN)
		ac.pending = false
		if _, err := ac.c.Write(a.wbuf); err != nil {
			// Not delivered: the runtime closed this connection. Another
			// GET next will take the event.
			a.mu.Lock()
			a.current = nil
			a.mu.Unlock()
			a.dropOwned()
			continue
		}
		break
	}
	// The answer: on the held connection, unless the runtime uses another.
	for {
		select {
		case r := <-a.reply:
			if r.id == c.id {
				in.takeReply(c, r)
				return true
			}
			continue // a late answer to an earlier call
		case <-in.exited:
			return fail()
		default:
		}
		ac := a.owned
		if ac == nil || ac.pending {
			a.await(-1) // it asked for the next on the held connection; the answer comes on another
			continue
		}
		if !ac.r.buffered() && !a.await(ac.fd) {
			continue
		}
		req, err := ac.r.next()
		if err != nil {
			a.refuse(ac, err)
			a.dropOwned()
			continue
		}
		path, _ := strings.CutPrefix(req.path, runtimeAPIPrefix+"invocation/")
		id, verb, _ := strings.Cut(path, "/")
		if req.method != "POST" || verb != "response" && verb != "error" {
			if req.method == "GET" && req.path == runtimeAPIPrefix+"invocation/next" {
				ac.pending = true
			} else {
				a.handle(ac, req)
			}
			continue
		}
		a.mu.Lock()
		mine := id == c.id && a.current == c
		if mine {
			a.current = nil
		}
		a.mu.Unlock()
		if !mine {
			// Not this call's, or answered already on another connection.
			ac.c.Write(apiErrorAnswer(400, "InvalidRequestID", "Invalid request ID"))
			continue
		}
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
