package watch

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Skip reports whether a folder is never watched.
func Skip(name string) bool {
	switch name {
	case ".git", "node_modules", "__pycache__", ".cloudlet", ".serverless":
		return true
	}
	return false
}

// Watch calls onChange after files under dir changed and then stayed quiet
// for `quiet`. It returns when ctx ends. Paths under any of ignore are not
// reported. A watcher error (events lost to an overflow, a folder that
// cannot be watched) is given to onError, if not nil, and counts as a
// change: what it hid may have been one.
func Watch(ctx context.Context, dir string, quiet time.Duration, ignore []string, onChange func(), onError func(error)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	return watch(ctx, w.Events, w.Errors, w.Add, dir, quiet, ignore, onChange, onError)
}

func watch(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, addWatch func(string) error,
	dir string, quiet time.Duration, ignore []string, onChange func(), onError func(error)) error {
	if onError == nil {
		onError = func(error) {}
	}
	ignored := func(p string) bool {
		for _, ig := range ignore {
			if p == ig || strings.HasPrefix(p, ig+string(os.PathSeparator)) {
				return true
			}
		}
		return false
	}
	add := func(root string) {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if p != root && (Skip(d.Name()) || ignored(p)) {
				return filepath.SkipDir
			}
			if err := addWatch(p); err != nil {
				onError(fmt.Errorf("watch %s: %w", p, err))
			}
			return nil
		})
	}
	add(dir)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if ignored(ev.Name) || Skip(filepath.Base(ev.Name)) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					add(ev.Name)
				}
			}
			timer.Reset(quiet)
		case err, ok := <-errs:
			if !ok {
				return nil
			}
			onError(err)
			timer.Reset(quiet)
		case <-timer.C:
			onChange()
		}
	}
}
