package lambda

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/telemetry"
)

func statsOf(r *Registry, name string) FunctionStats {
	for _, f := range r.Stats().Functions {
		if f.Name == name {
			return f
		}
	}
	return FunctionStats{}
}

// Provisioned instances start at deploy, before any invocation; they serve
// first, know they are provisioned, report no Init Duration, outlive the
// idle timeout that scales on-demand instances to zero, and are replaced
// when they die.
func TestProvisionedConcurrency(t *testing.T) {
	logs, _ := telemetry.NewLogs("")
	r := newRegistry(t, Options{IdleTimeout: 50 * time.Millisecond, Logs: logs})
	p := nodeSpec(t, "p")
	p.ProvisionedConcurrency = 2
	if err := r.Deploy([]FunctionSpec{p, nodeSpec(t, "od")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two provisioned instances", func() bool {
		st := statsOf(r, "p")
		return st.Instances == 2 && st.Starting == 0
	})
	if m := decode(t, invoke(t, r, "p", `{"mode":"env"}`)); m["initType"] != "provisioned-concurrency" {
		t.Errorf("provisioned instance: %v", m)
	}
	if m := decode(t, invoke(t, r, "od", `{"mode":"env"}`)); m["initType"] != "on-demand" {
		t.Errorf("on-demand instance: %v", m)
	}
	lines, _ := logs.Since("p", 0)
	if rep := findReport(lines, 0); rep == "" || strings.Contains(rep, "Init Duration") {
		t.Errorf("provisioned REPORT: %q", rep)
	}
	if st := statsOf(r, "p"); st.ProcessStarts+st.StemStarts != 2 || st.ProvisionedInvocations != 1 || st.Provisioned != 2 {
		t.Errorf("stats: %+v", st)
	}
	// The on-demand instance idles out; the provisioned ones stay.
	waitFor(t, "the on-demand instance to idle out", func() bool { return statsOf(r, "od").Instances == 0 })
	if st := statsOf(r, "p"); st.Instances != 2 {
		t.Fatalf("provisioned instances after the idle timeout: %+v", st)
	}
	// A provisioned instance that dies is replaced.
	if res := invoke(t, r, "p", `{"mode":"exit"}`); res.ErrorType != "Runtime.ExitError" {
		t.Fatalf("exit: %s", res.Payload)
	}
	waitFor(t, "the replacement", func() bool {
		st := statsOf(r, "p")
		return st.Instances == 2 && st.Starting == 0 && st.ProcessStarts == 3
	})
}

// A provisioned instance that dies is replaced even when the account's
// concurrency is used up: its own place is given back before the
// replacement asks for one.
func TestProvisionedReplacementAtAFullAccount(t *testing.T) {
	r := newRegistry(t, Options{MaxConcurrency: 2})
	p := nodeSpec(t, "p")
	p.ProvisionedConcurrency = 2
	if err := r.Deploy([]FunctionSpec{p}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two provisioned instances", func() bool {
		st := statsOf(r, "p")
		return st.Instances == 2 && st.Starting == 0
	})
	if res := invoke(t, r, "p", `{"mode":"exit"}`); res.ErrorType != "Runtime.ExitError" {
		t.Fatalf("exit: %s", res.Payload)
	}
	waitFor(t, "the replacement", func() bool {
		st := statsOf(r, "p")
		return st.Instances == 2 && st.Starting == 0 && st.ProcessStarts == 3
	})
	if n := r.Instances(); n != 2 {
		t.Fatalf("the account counts %d instances, want 2", n)
	}
}

// An idle instance, provisioned ones too, leaves once it reaches
// MaxInstanceAge (its credentials would expire under it); a provisioned
// one is replaced.
func TestIdleInstancesRetireAtMaxAge(t *testing.T) {
	r := newRegistry(t, Options{MaxInstanceAge: 300 * time.Millisecond})
	p := nodeSpec(t, "p")
	p.ProvisionedConcurrency = 1
	if err := r.Deploy([]FunctionSpec{p}); err != nil {
		t.Fatal(err)
	}
	first := decode(t, invoke(t, r, "p", `{}`))["pid"]
	waitFor(t, "the aged provisioned instance replaced", func() bool {
		st := statsOf(r, "p")
		return st.ProcessStarts+st.StemStarts >= 2 && st.Instances == 1 && st.Starting == 0
	})
	if again := decode(t, invoke(t, r, "p", `{}`))["pid"]; again == first {
		t.Fatalf("the same instance (pid %v) served after its max age", again)
	}
}
