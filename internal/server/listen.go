package server

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// ConnLimits bound what clients can hold of a front door (the gateway, the
// AWS API): each listener has its own connection cap, so that one cannot
// starve the other, and connections that dawdle are closed.
type ConnLimits struct {
	// MaxConns per listener; beyond it, new connections wait in the
	// kernel's accept queue until one closes. Default: a third of the open
	// files this process may have (after a reserve for instances), at
	// least 64, at most 65536.
	MaxConns int
	// ReadHeader is how long a client may take to send a request's
	// headers (default 10 s); Read the whole request, body included
	// (gateway default 30 s, as API Gateway's integrations time out then;
	// AWS API default 10 min, for large uploads).
	ReadHeader, GatewayRead, APIRead time.Duration
	// Idle closes a keep-alive connection with no request for this long
	// (default 60 s).
	Idle time.Duration
}

func (l ConnLimits) withDefaults(nofile uint64) ConnLimits {
	if l.MaxConns <= 0 {
		n := (int64(nofile) - 256) / 3
		l.MaxConns = int(min(max(n, 64), 65536))
	}
	if l.ReadHeader <= 0 {
		l.ReadHeader = 10 * time.Second
	}
	if l.GatewayRead <= 0 {
		l.GatewayRead = 30 * time.Second
	}
	if l.APIRead <= 0 {
		l.APIRead = 10 * time.Minute
	}
	if l.Idle <= 0 {
		l.Idle = 60 * time.Second
	}
	return l
}

// raiseFileLimit raises this process's soft limit on open files to its hard
// limit (a server holds a descriptor per connection and several per
// instance) and returns the limit in force.
func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			rl = want
		}
	}
	return rl.Cur
}

// limitListener accepts at most n connections at once: Accept waits for
// one to close.
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
}

func limitListen(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
