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
// tuneWindow, and a running average of those windows (the baseline). A
// scale-up (the pool's rule wanted one) is a trial: once the new instance
// is up and tuneJudge has passed with it, the trial keeps it if the rate
// over that time rose by tuneGain over the baseline, else gives one
// instance back and holds further trials for tuneHold.
//
// The other way round, a fast function with two or more instances (started
// by a burst before its calls were measured, or kept by an earlier trial)
// tries one fewer, tuneHold after the last trial: one instance leaves, and
// if the rate over tuneJudge then fell below the baseline by tuneGain, one
// is started again and such trials pause for shrinkHold. So the pool
// settles on the count that serves best whatever it started from. Calls
// that are slow (avgDur ≥ the pool's ScaleDelay) or not yet measured scale
// without trials, as bursts from zero must.
//
// Every method is called with the function's mu held; now is passed in,
// so that tests can run it on their own clock.
type tuner struct {
	winStart time.Time
	winCount int
	rate     float64   // completions per second of the last whole window; 0: none yet
	avgRate  float64   // running average of the windows' rates (the baseline)
	last     time.Time // the last completion

	trial      bool
	shrink     bool      // the trial is of one instance fewer
	base       float64   // the rate before the trial
	trialFrom  time.Time // when its instance was up (or gone); zero until then
	trialCount int       // completions since trialFrom
	began      time.Time // when the trial began
	hold       time.Time // no trials before this
	surplus    int       // instances to give back: the next ones to finish a call exit
}

const (
	tuneWindow = 100 * time.Millisecond
	tuneJudge  = 3 * tuneWindow // how long a trial runs before it is judged
	tuneGain   = 1.10
	tuneHold   = 10 * time.Second
	shrinkHold = 60 * time.Second // after one fewer served worse
)

// completed counts one finished call.
func (t *tuner) completed(now time.Time) {
	if t.winStart.IsZero() {
		t.winStart = now
	}
	if gap := now.Sub(t.last); !t.last.IsZero() && gap > tuneWindow {
		// The function was idle: a window spanning that says nothing of
		// how fast it is served; start afresh (a trial too).
		t.winStart, t.winCount = now, 0
		if t.trial && !t.trialFrom.IsZero() {
			t.trialFrom, t.trialCount = now, 0
		}
	}
	t.last = now
	t.winCount++
	if t.trial && !t.trialFrom.IsZero() {
		t.trialCount++
	}
	if d := now.Sub(t.winStart); d >= tuneWindow {
		t.rate = float64(t.winCount) / d.Seconds()
		t.winStart, t.winCount = now, 0
		if t.avgRate == 0 {
			t.avgRate = t.rate
		} else {
			t.avgRate += (t.rate - t.avgRate) / 4
		}
	}
}

// allow says whether a scale-up the pool's rule asks for may happen now;
// when it may, and it is a trial, the trial begins.
func (t *tuner) allow(now time.Time, fast bool) bool {
	if t.trial && t.shrink {
		if fast {
			return false // one fewer is being tried
		}
		// The calls became slow: they scale by the pool's rule alone.
		t.trial, t.shrink, t.surplus = false, false, 0
		return true
	}
	if !now.Before(t.hold) {
		t.surplus = 0 // an instance to give back that none gave back by now: the load changed
	}
	if !fast {
		return true
	}
	if t.trial || now.Before(t.hold) || t.rate == 0 {
		return false // one trial at a time; none without a baseline
	}
	t.trial, t.shrink, t.base, t.trialFrom, t.began = true, false, t.avgRate, time.Time{}, now
	return true
}

// maybeShrink begins a trial of one instance fewer when it is time for one
// (see the type's comment); serving counts the instances up. It reports
// whether it began (then surplus says one instance is to leave).
func (t *tuner) maybeShrink(now time.Time, fast bool, serving int) bool {
	if !fast || serving < 2 || t.trial || t.surplus > 0 || now.Before(t.hold) || t.avgRate == 0 {
		return false
	}
	t.trial, t.shrink, t.base, t.trialFrom, t.began = true, true, t.avgRate, time.Time{}, now
	t.surplus++
	return true
}

// left says an instance gave itself back (surplus): a shrink trial starts
// counting.
func (t *tuner) left(now time.Time) {
	if t.trial && t.shrink && t.trialFrom.IsZero() {
		t.trialFrom, t.trialCount = now, 0
	}
}

// started says the trial's instance is up (starting dropped to zero).
func (t *tuner) started(now time.Time) {
	if t.trial && !t.shrink && t.trialFrom.IsZero() {
		t.trialFrom, t.trialCount = now, 0
	}
}

// judge ends a trial once it has run tuneJudge. For a scale-up it reports
// whether the instance stays (if not, one is given back); for one fewer,
// restore says to start an instance again.
func (t *tuner) judge(now time.Time) (decided, keep, restore bool) {
	if !t.trial {
		return false, false, false
	}
	if t.trialFrom.IsZero() {
		if t.shrink && now.Sub(t.began) > tuneHold {
			// No instance could leave (they are provisioned, or shared): drop it.
			t.trial, t.shrink, t.surplus = false, false, 0
			t.hold = now.Add(tuneHold)
		}
		return false, false, false
	}
	d := now.Sub(t.trialFrom)
	if d < tuneJudge {
		return false, false, false
	}
	rate := float64(t.trialCount) / d.Seconds()
	t.trial = false
	if t.shrink {
		t.shrink = false
		if rate*tuneGain < t.base {
			t.hold = now.Add(shrinkHold)
			return true, false, true
		}
		t.hold = now.Add(tuneHold)
		return true, true, false
	}
	t.hold = now.Add(tuneHold)
	if rate >= t.base*tuneGain {
		return true, true, false
	}
	t.surplus++
	return true, false, false
}

// failed ends a trial whose instance did not start (an instance that
// failed while the trial's was still starting: it may have been that one).
func (t *tuner) failed() {
	if t.trial && t.trialFrom.IsZero() {
		t.trial = false
	}
}
