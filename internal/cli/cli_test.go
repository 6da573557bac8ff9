package cli_test

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cloudlet/cloudlet/internal/cli"
	"github.com/cloudlet/cloudlet/internal/server"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cloudlet": func() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// freeAddr returns a loopback address nobody listens on right now, for a
// cloudlet process to listen on next. It is taken below the kernel's
// ephemeral port range, from which the ports of outgoing connections (and
// of listeners on port 0) are drawn: between this check and cloudlet's
// listen, no other test's connection can take it.
func freeAddr(t testing.TB) string {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				lo = n
			}
		}
	}
	for range 1000 {
		port := 10000 + rand.IntN(lo-10000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue // taken
		}
		ln.Close()
		return ln.Addr().String()
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
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

// logs --tail prints what is kept, then streams lines that arrive after it
// started: the line of an invocation made once the history is out.
func TestLogsTailStreams(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "serverless.yml"), []byte("service: tail\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  say:\n    handler: handler.say\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "handler.js"), []byte("exports.say = async (e) => { console.log('said', e.word); return e.word; };\n"), 0o644)
	s, err := server.New(server.Options{DataDir: t.TempDir(), GatewayAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Deploy(dir, ""); err != nil {
		t.Fatal(err)
	}
	api := strings.TrimPrefix(s.APIURL(), "http://")
	invoke := func(word string) {
		t.Helper()
		var out bytes.Buffer
		if code := cli.Main([]string{"invoke", "-f", "say", "-d", `{"word":"` + word + `"}`, "--api-addr", api}, &out, &out); code != 0 {
			t.Fatalf("invoke: %s", out.String())
		}
	}
	invoke("before")
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- cli.Main([]string{"logs", "-f", "say", "--tail", "--api-addr", api}, pw, io.Discard)
		pw.Close()
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	waitLine := func(want string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("logs --tail ended before %q", want)
				}
				if strings.Contains(l, want) {
					return
				}
			case <-deadline:
				t.Fatalf("logs --tail never printed %q", want)
			}
		}
	}
	waitLine("said before") // the history is out: the follow has started
	invoke("after")
	waitLine("said after")
	s.Close()
	<-done
}
