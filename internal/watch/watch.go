package watch

import (
	"context"
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
// reported.
func Watch(ctx context.Context, dir string, quiet time.Duration, ignore []string, onChange func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
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
			w.Add(p)
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
		case ev, ok := <-w.Events:
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
		case <-w.Errors:
		case <-timer.C:
			onChange()
		}
	}
}
