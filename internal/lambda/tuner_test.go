package lambda

import (
	"testing"
	"time"
)

// run feeds the tuner completions at rate per second for d, from t0.
func feed(tu *tuner, t0 time.Time, rate float64, d time.Duration) time.Time {
	step := time.Duration(float64(time.Second) / rate)
	t := t0
	for end := t0.Add(d); t.Before(end); t = t.Add(step) {
		tu.completed(t)
		tu.judge(t)
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
	now = feed(&tu, now, 10500, 250*time.Millisecond) // +5%: not worth an instance
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
	feed(&tu, now, 15000, 250*time.Millisecond) // +50%: it stays
	if tu.trial || tu.surplus != 0 {
		t.Fatalf("after a trial that helped: trial %v, surplus %d", tu.trial, tu.surplus)
	}
}
