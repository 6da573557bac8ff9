package server

import (
	"net"
	"testing"
)

// The cap is held by every accepted connection until it closes, whatever
// closes it, once.
func TestLimitListenerAccounting(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := limitListen(inner, 2)
	defer l.Close()
	for range 2 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	a, _ := l.Accept()
	b, _ := l.Accept()
	if len(l.sem) != 2 {
		t.Fatalf("two accepted: %d places taken", len(l.sem))
	}
	a.Close()
	a.Close() // twice: released once
	if len(l.sem) != 1 {
		t.Fatalf("one closed: %d places taken", len(l.sem))
	}
	b.Close()
	if len(l.sem) != 0 {
		t.Fatalf("both closed: %d places taken", len(l.sem))
	}
	l.Close()
	if _, err := l.Accept(); err == nil {
		t.Fatal("Accept after Close")
	}
}

func TestConnLimitsDefaults(t *testing.T) {
	if l := (ConnLimits{}).withDefaults(1024); l.MaxConns != 256 || l.Idle == 0 || l.GatewayRead == 0 {
		t.Fatalf("1024 files: %+v", l)
	}
	if l := (ConnLimits{}).withDefaults(100); l.MaxConns != 64 {
		t.Fatalf("100 files: %+v", l)
	}
	if raiseFileLimit() < 64 {
		t.Fatal("file limit")
	}
}
