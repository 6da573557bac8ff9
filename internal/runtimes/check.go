package runtimes

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// CheckHandler is the deploy-time check of a function's handler: its syntax
// is valid for the runtime and the file it names exists under TaskRoot.
//
//   - nodejs: <module>.<function>, where the module (which may have folders,
//     src/handlers/user.get) is a file <module>.js, .mjs or .cjs, a file or
//     folder named <module>, or a package in node_modules;
//   - python: <module>.<function>, the module written with dots or slashes
//     (pkg.mod.fn, src/mod.fn): <module>.py or <module>/__init__.py;
//   - provided*: an executable TaskRoot/bootstrap (the handler is free text);
//   - go1.x: the handler is the executable's path under TaskRoot.
//
// It cannot tell whether the module exports the function: that shows at the
// first start, as Runtime.HandlerNotFound.
func CheckHandler(s Spec) error {
	fam, _ := classify(s.Runtime)
	if fam == famUnknown {
		return unsupported(s.Runtime)
	}
	if !filepath.IsAbs(s.TaskRoot) {
		return fmt.Errorf("handler %q: code folder %q is not an absolute path", s.Handler, s.TaskRoot)
	}
	if fi, err := os.Stat(s.TaskRoot); err != nil || !fi.IsDir() {
		return fmt.Errorf("handler %q: code folder %s does not exist", s.Handler, s.TaskRoot)
	}
	switch fam {
	case famNode:
		return checkNode(s)
	case famPython:
		return checkPython(s)
	case famProvided:
		p := filepath.Join(s.TaskRoot, "bootstrap")
		if err := checkExecutable(p); err != nil {
			return fmt.Errorf("runtime %s: %v: a custom runtime needs an executable named bootstrap at the root of the code (e.g. GOOS=linux go build -o bootstrap)", s.Runtime, err)
		}
		return nil
	case famGo:
		h := s.Handler
		if h == "" || path.IsAbs(h) || strings.Contains(h, "..") {
			return fmt.Errorf("handler %q: for go1.x the handler is the path of the executable inside the code folder, e.g. bin/main", h)
		}
		if err := checkExecutable(filepath.Join(s.TaskRoot, filepath.FromSlash(h))); err != nil {
			return fmt.Errorf("handler %q: %v (build it with GOOS=linux go build -o %s)", h, err, h)
		}
		return nil
	}
	return unsupported(s.Runtime)
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		return fmt.Errorf("no file %s", p)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", p)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable (chmod +x it)", p)
	}
	return nil
}

func checkNode(s Spec) error {
	h := s.Handler
	if strings.Contains(h, "..") {
		return fmt.Errorf("handler %q: must not contain \"..\": give the path of the module from the code folder, e.g. src/handlers/user.get", h)
	}
	dir, base := path.Split(h)
	mod, fn, ok := strings.Cut(base, ".")
	if !ok || mod == "" || fn == "" || strings.HasPrefix(dir, "/") {
		return fmt.Errorf("handler %q: write it as <module>.<function>, e.g. handler.getUser for the export getUser of handler.js", h)
	}
	for _, part := range strings.Split(fn, ".") {
		if part == "" {
			return fmt.Errorf("handler %q: empty name in the function path %q", h, fn)
		}
	}
	folder := filepath.Join(s.TaskRoot, filepath.FromSlash(dir))
	basePath := filepath.Join(folder, mod)
	for _, ext := range []string{"", ".js", ".mjs", ".cjs"} {
		if _, err := os.Stat(basePath + ext); err == nil {
			return nil
		}
	}
	if dir == "" {
		if _, err := os.Stat(filepath.Join(s.TaskRoot, "node_modules", mod)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("handler %q: no file %s.js, %s.mjs or %s.cjs in %s", h, mod, mod, mod, folder)
}

func checkPython(s Spec) error {
	h := s.Handler
	i := strings.LastIndexByte(h, '.')
	if i <= 0 || i == len(h)-1 {
		return fmt.Errorf("handler %q: write it as <module>.<function>, e.g. handler.get_user for the function get_user of handler.py", h)
	}
	mod, fn := h[:i], h[i+1:]
	if !isIdentifier(fn) {
		return fmt.Errorf("handler %q: %q is not a Python function name", h, fn)
	}
	if strings.HasPrefix(mod, "/") || strings.Contains(mod, "..") {
		return fmt.Errorf("handler %q: give the module's path from the code folder, e.g. src/app.handler or src.app.handler", h)
	}
	rel := strings.ReplaceAll(mod, ".", "/")
	for _, part := range strings.Split(rel, "/") {
		if !isIdentifier(part) {
			return fmt.Errorf("handler %q: %q is not a valid Python module name", h, part)
		}
	}
	p := filepath.Join(s.TaskRoot, filepath.FromSlash(rel))
	if _, err := os.Stat(p + ".py"); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(p, "__init__.py")); err == nil {
		return nil
	}
	return fmt.Errorf("handler %q: no file %s.py (nor %s/__init__.py) in %s",
		h, filepath.Base(p), filepath.Base(p), filepath.Dir(p))
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r > 0x7f:
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
