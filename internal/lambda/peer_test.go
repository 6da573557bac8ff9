package lambda

import (
	"net"
	"os"
	"testing"
)

// The kernel's socket diagnostics and /proc/net/tcp agree on which socket
// holds a connection.
func TestDiagInodeMatchesProcTable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	from, to := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	diag, proc := diagInode(from, to), socketInode("/proc/self/net/tcp", from, to)
	if diag == "" || diag == "0" || diag != proc {
		t.Fatalf("inode by sock_diag %q, by /proc/net/tcp %q", diag, proc)
	}
	if !fromInstance(s, []int{os.Getpid()}) {
		t.Fatal("a connection from this process is not recognised as its own")
	}
	if fromInstance(s, []int{1}) {
		t.Fatal("a connection from this process is taken for pid 1's")
	}
}

func TestInterpreterPrefix(t *testing.T) {
	for _, c := range []struct{ path, root, want string }{
		{"/usr/bin/python3", "", ""},
		{"/opt/py/bin/python3", "", "/opt/py"},
		{"/opt/py/bin/python3", "/srv/app", "/opt/py"},
		{"/srv/app/bootstrap", "/srv/app", ""},
	} {
		if got := interpreterPrefix(c.path, c.root); got != c.want {
			t.Errorf("interpreterPrefix(%q, %q) = %q, want %q", c.path, c.root, got, c.want)
		}
	}
}
