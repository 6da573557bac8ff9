package cli_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cloudlet/cloudlet/internal/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cloudlet": func() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestScripts(t *testing.T) {
	examples, _ := filepath.Abs("../../examples")
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("GW", freeAddr(t))
			env.Setenv("API", freeAddr(t))
			env.Setenv("EXAMPLES", examples)
			env.Setenv("AWS_ACCESS_KEY_ID", "test")
			env.Setenv("AWS_SECRET_ACCESS_KEY", "test")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// httponce URL TEXT: one GET of URL, whose body must contain TEXT.
			"httponce": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: httponce URL TEXT")
				}
				resp, err := http.Get(args[0])
				ts.Check(err)
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(b), args[1]) == neg {
					ts.Fatalf("GET %s: %d %s (want %q: %v)", args[0], resp.StatusCode, b, args[1], !neg)
				}
			},
			// httpget URL TEXT: poll URL until its body contains TEXT (10 s deadline).
			"httpget": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: httpget URL TEXT")
				}
				deadline := time.Now().Add(10 * time.Second)
				var last string
				for time.Now().Before(deadline) {
					resp, err := http.Get(args[0])
					if err == nil {
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						last = string(b)
						if strings.Contains(last, args[1]) {
							if neg {
								ts.Fatalf("%s contains %q", args[0], args[1])
							}
							return
						}
					} else {
						last = err.Error()
					}
					time.Sleep(20 * time.Millisecond)
				}
				if !neg {
					ts.Fatalf("GET %s never contained %q; last: %s", args[0], args[1], last)
				}
			},
		},
	})
}
