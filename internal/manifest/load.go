package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Options are the command-line settings that variables may refer to.
type Options struct {
	Stage  string // --stage; "" means provider.stage, else "dev"
	Region string // --region; "" means provider.region, else "us-east-1"
	// LookupEnv reads ${env:...}; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// AccountID is ${aws:accountId}; "" means "000000000000".
	AccountID string
	// APIURL is the AWS endpoint the project is deployed to, e.g.
	// http://127.0.0.1:4566: what Ref of a queue (its URL) starts with,
	// since the SDKs send a queue's calls to its URL's host.
	APIURL string
}

// names are the files Load looks for, in order. JSON is YAML too.
var names = []string{"serverless.yml", "serverless.yaml", "serverless.json"}

// Load reads and validates the serverless.yml (or serverless.yaml) in dir.
func Load(dir string, opts Options) (*Project, error) {
	for _, name := range names {
		file := filepath.Join(dir, name)
		data, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load manifest: %w", err)
		}
		return Parse(file, data, opts)
	}
	for _, name := range []string{"serverless.ts", "serverless.js", "serverless.cjs", "serverless.mjs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return nil, fmt.Errorf("%w in %s: cloudlet cannot run %s; write the configuration as serverless.yml", ErrNoManifest, dir, name)
		}
	}
	return nil, fmt.Errorf("%w in %s", ErrNoManifest, dir)
}

// Parse reads and validates a serverless.yml held in data. file names it in
// messages, and ${file(...)} paths are relative to its folder.
func Parse(file string, data []byte, opts Options) (*Project, error) {
	if file == "" {
		file = "serverless.yml"
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	base := filepath.Base(abs)
	root, err := parseYAML(base, data)
	if err != nil {
		return nil, err
	}
	d := &decoder{r: newResolver(root, filepath.Dir(abs), opts)}
	p := d.project(root)
	if len(d.errs) > 0 {
		return nil, joinErrors(base, d.errs)
	}
	p.Dir, p.File, p.Warnings = filepath.Dir(abs), abs, d.warnings
	return p, nil
}

// joinErrors orders errors by place, those in file first.
func joinErrors(file string, errs []error) error {
	slices.SortStableFunc(errs, func(a, b error) int {
		ea, _ := a.(*Error)
		eb, _ := b.(*Error)
		if ea == nil || eb == nil {
			return 0
		}
		if (ea.File == file) != (eb.File == file) {
			if ea.File == file {
				return -1
			}
			return 1
		}
		return ea.Line - eb.Line
	})
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
