package lambda

import "time"

// tuner decides, for a function whose calls are fast, whether one more
// instance serves it better, by trying: on a small machine an extra
// instance of a fast handler can cost more in wake-ups and CPU than it
// adds (the gateway and the callers need the CPUs too), and how much it
// adds depends on the handler, the machine and what else runs, which no
// rule known in advance captures.
//
// It keeps the function's completion rate over windows of at least
// tuneWindow. A scale-up (the pool's rule wanted one) is a trial: the rate
// of the window before it is the baseline; once the new instance is up and
// a whole window has passed with it, the trial keeps it if the rate rose
// by tuneGain, else gives one instance back and holds further trials for
// tuneHold. Calls that are slow (avgDur ≥ the pool's ScaleDelay) or not yet
// measured scale without trials, as bursts from zero must.
//
// Every method is called with the function's mu held; now is passed in,
// so that tests can run it on their own clock.
type tuner struct {
	winStart time.Time
	winCount int
	rate     float64 // completions per second of the last whole window; 0: none yet

	trial     bool
	base      float64   // the rate before the trial's instance
	trialFrom time.Time // when its instance was up; zero while it starts
	hold      time.Time // no trials before this
	surplus   int       // instances to give back: the next ones to finish a call exit
}

const (
	tuneWindow = 100 * time.Millisecond
	tuneGain   = 1.10
	tuneHold   = 10 * time.Second
)

// completed counts one finished call.
func (t *tuner) completed(now time.Time) {
	if t.winStart.IsZero() {
		t.winStart = now
	}
	t.winCount++
	if d := now.Sub(t.winStart); d >= tuneWindow {
		t.rate = float64(t.winCount) / d.Seconds()
		t.winStart, t.winCount = now, 0
	}
}

// allow says whether a scale-up the pool's rule asks for may happen now;
// when it may, and it is a trial, the trial begins.
func (t *tuner) allow(now time.Time, fast bool) bool {
	if !now.Before(t.hold) {
		t.surplus = 0 // an instance to give back that none gave back by now: the load changed
	}
	if !fast {
		return true
	}
	if t.trial || now.Before(t.hold) || t.rate == 0 {
		return false // one trial at a time; none without a baseline
	}
	t.trial, t.base, t.trialFrom = true, t.rate, time.Time{}
	return true
}

// started says the trial's instance is up (starting dropped to zero).
func (t *tuner) started(now time.Time) {
	if t.trial && t.trialFrom.IsZero() {
		t.trialFrom = now
		t.winStart, t.winCount = now, 0 // the next window is the trial's own
	}
}

// judge ends a trial once a whole window ran with its instance: it reports
// whether the instance stays.
func (t *tuner) judge(now time.Time) (decided, keep bool) {
	if !t.trial || t.trialFrom.IsZero() || t.winStart.Equal(t.trialFrom) {
		return false, false // no whole window since the instance was up
	}
	t.trial = false
	if t.rate >= t.base*tuneGain {
		return true, true
	}
	t.surplus++
	t.hold = now.Add(tuneHold)
	return true, false
}

// failed ends a trial whose instance did not start (an instance that
// failed while the trial's was still starting: it may have been that one).
func (t *tuner) failed() {
	if t.trial && t.trialFrom.IsZero() {
		t.trial = false
	}
}
