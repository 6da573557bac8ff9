package lambda

import (
	"strings"
	"testing"
)

// With instanceConcurrency, invocations that can only finish together run
// together in one process, which counts as that many instances; a runtime
// that cannot do it is refused at deploy.
func TestInstanceConcurrency(t *testing.T) {
	stemModes(t, func(t *testing.T, stems int) {
		r := newRegistry(t, Options{StemCells: stems})
		s := nodeSpec(t, "f")
		s.InstanceConcurrency = 4
		s.Timeout = 30
		if err := r.Deploy([]FunctionSpec{s}); err != nil {
			t.Fatal(err)
		}
		fromStem(t, r, stems)
		const n = 3
		seen := together(t, r, "f", n)
		st := statsOf(r, "f")
		if len(seen) != 1 || st.ProcessStarts+st.StemStarts != 1 || st.Instances != 4 {
			t.Fatalf("%d calls ran in %d processes; stats %+v", n, len(seen), st)
		}
		// A crash fails the invocation and the process is replaced.
		if res := invoke(t, r, "f", `{"mode":"exit"}`); res.ErrorType != "Runtime.ExitError" {
			t.Fatalf("exit: %s", res.Payload)
		}
		if m := decode(t, invoke(t, r, "f", `{}`)); m["echo"] == nil {
			t.Fatalf("after the crash: %v", m)
		}
	})
	r := newRegistry(t, Options{})
	err := r.Deploy([]FunctionSpec{{Name: "py", Runtime: "python3.11", Handler: "app.handler", TaskRoot: testdata(t, "python"), InstanceConcurrency: 2}})
	if err == nil || !strings.Contains(err.Error(), "only nodejs runtimes") {
		t.Fatalf("python with instanceConcurrency: %v", err)
	}
}

// A provisioned process that runs several invocations at once is started
// at deploy as one process, and replaced, whole, when it dies.
func TestProvisionedInstanceConcurrency(t *testing.T) {
	r := newRegistry(t, Options{})
	s := nodeSpec(t, "f")
	s.InstanceConcurrency, s.ProvisionedConcurrency = 2, 2
	if err := r.Deploy([]FunctionSpec{s}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the provisioned process", func() bool {
		st := statsOf(r, "f")
		return st.Instances == 2 && st.Starting == 0
	})
	if st := statsOf(r, "f"); st.ProcessStarts != 1 {
		t.Fatalf("stats: %+v", st)
	}
	if res := invoke(t, r, "f", `{"mode":"exit"}`); res.ErrorType != "Runtime.ExitError" {
		t.Fatalf("exit: %s", res.Payload)
	}
	waitFor(t, "a whole replacement", func() bool {
		st := statsOf(r, "f")
		return st.Instances == 2 && st.Starting == 0 && st.ProcessStarts == 2
	})
	if m := decode(t, invoke(t, r, "f", `{"mode":"env"}`)); m["initType"] != "provisioned-concurrency" {
		t.Fatalf("after the replacement: %v", m)
	}
}
