package lambda

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// nextCPU picks CPUs round robin for newly started instances.
func (r *Registry) nextCPU() int {
	return int(r.cpu.Add(1)-1) % runtime.NumCPU()
}

// pinThread restricts the calling (locked) OS thread to cpu and returns a
// function that restores its previous mask, or nil when pinning is not
// possible (the thread keeps its mask).
func pinThread(cpu int) func() {
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil || !old.IsSet(cpu) || old.Count() < 2 {
		return nil
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil
	}
	return func() { unix.SchedSetaffinity(0, &old) }
}
