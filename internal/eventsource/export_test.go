package eventsource

import "time"

// SetScaleEvery makes the pollers' supervisor look every d; the returned
// func restores it.
func SetScaleEvery(d time.Duration) func() {
	old := scaleEvery
	scaleEvery = d
	return func() { scaleEvery = old }
}
