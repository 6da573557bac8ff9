package cli

import (
	"runtime"
	"testing"
)

// A process that starts servers again and again (as these tests do) gets
// one scheduler slot more than its CPUs once, not one more each time.
func TestServerRuntimeOncePerProcess(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // as servers start when it is not set
	for i := 0; i < 3; i++ {
		serverRuntime()
	}
	if n := runtime.GOMAXPROCS(0); n > runtime.NumCPU()+1 {
		t.Fatalf("GOMAXPROCS %d with %d CPUs after three server starts", n, runtime.NumCPU())
	}
	if n := runtime.GOMAXPROCS(0); n < 2 {
		t.Fatalf("GOMAXPROCS %d: the server's extra slot is missing", n)
	}
}
