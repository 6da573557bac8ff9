package lambda

import (
	"testing"
	"time"
)

// feed feeds the tuner completions at rate per second for d, from t0.
// restored counts the instances the tuner asked back, in the tests.
var restored int

func feed(tu *tuner, t0 time.Time, rate float64, d time.Duration) time.Time {
	step := time.Duration(float64(time.Second) / rate)
	t := t0
	for end := t0.Add(d); t.Before(end); t = t.Add(step) {
		tu.completed(t)
		if _, _, restore := tu.judge(t); restore {
			restored++
		}
	}
	return t
}

// A trial's instance stays when the rate rose enough, and is given back
// (with a hold on further trials) when it did not; slow calls never wait
// for a trial.
func TestTunerKeepsOnlyInstancesThatHelp(t *testing.T) {
	var tu tuner
	t0 := time.Unix(1000, 0)
	if !tu.allow(t0, false) {
		t.Fatal("a slow function's scale-up was held")
	}
	if tu.allow(t0, true) {
		t.Fatal("a trial began without a baseline rate")
	}
	now := feed(&tu, t0, 10000, 300*time.Millisecond)
	if !tu.allow(now, true) || !tu.trial {
		t.Fatal("no trial with a baseline")
	}
	if tu.allow(now, true) {
		t.Fatal("two trials at once")
	}
	tu.started(now)
	now = feed(&tu, now, 10500, 350*time.Millisecond) // +5%: not worth an instance
	if tu.trial || tu.surplus != 1 {
		t.Fatalf("after a trial that did not help: trial %v, surplus %d", tu.trial, tu.surplus)
	}
	if tu.allow(now, true) {
		t.Fatal("a new trial during the hold")
	}
	tu.surplus = 0
	now = feed(&tu, now.Add(tuneHold), 10000, 200*time.Millisecond)
	if !tu.allow(now, true) {
		t.Fatal("no trial after the hold")
	}
	tu.started(now)
	feed(&tu, now, 15000, 350*time.Millisecond) // +50%: it stays
	if tu.trial || tu.surplus != 0 {
		t.Fatalf("after a trial that helped: trial %v, surplus %d", tu.trial, tu.surplus)
	}
}

// A pool of two instances tries one fewer: it stays at one when that
// serves as well, and comes back (with a longer hold) when it served worse.
func TestTunerTriesOneInstanceFewer(t *testing.T) {
	var tu tuner
	restored = 0
	now := feed(&tu, time.Unix(1000, 0), 20000, 500*time.Millisecond)
	if tu.maybeShrink(now, false, 2) || tu.maybeShrink(now, true, 1) {
		t.Fatal("a shrink trial for slow calls or a single instance")
	}
	if !tu.maybeShrink(now, true, 2) || tu.surplus != 1 {
		t.Fatal("no shrink trial for two instances of a fast function")
	}
	if tu.allow(now, true) {
		t.Fatal("a scale-up trial during a shrink trial")
	}
	tu.surplus--
	tu.left(now)
	now = feed(&tu, now, 19500, 400*time.Millisecond) // as good: one fewer it is
	if tu.trial || restored != 0 {
		t.Fatalf("after one fewer served as well: trial %v, restored %d", tu.trial, restored)
	}
	if tu.maybeShrink(now, true, 2) {
		t.Fatal("a shrink trial during the hold")
	}
	now = now.Add(tuneHold)
	now = feed(&tu, now, 20000, 200*time.Millisecond)
	if !tu.maybeShrink(now, true, 2) {
		t.Fatal("no shrink trial after the hold")
	}
	tu.surplus--
	tu.left(now)
	now = feed(&tu, now, 12000, 400*time.Millisecond) // much worse: it comes back
	if tu.trial || restored != 1 {
		t.Fatalf("after one fewer served worse: trial %v, restored %d", tu.trial, restored)
	}
	if tu.maybeShrink(now.Add(tuneHold), true, 2) {
		t.Fatal("a shrink trial soon after one that failed")
	}
}
