package manifest

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error it returns
// says where the problem is, and that what it accepts is valid.
func FuzzParse(f *testing.F) {
	for _, doc := range []string{
		seed,
		head + "  f:\n    handler: h.f\n    events:\n      - httpApi: '*'\n      - http: GET a/{b}\n      - s3: x\n",
		vars("  a: ${self:custom.b}\n  b: x-${sls:stage}\n", "      A: ${self:custom.a}\n      B: ${env:X, ${opt:stage, 'y'}}\n"),
		vars("  a: ${self:custom.b}\n  b: ${self:custom.a}\n", "      A: ${self:custom.a}\n"),
		"service:\n  name: x\nprovider: &p\n  name: aws\n  runtime: go1.x\nfunctions:\n  a: &a {handler: bin/a}\n  b:\n    <<: *a\n",
		"service: ${file(./x.yml):a, 'b'}\nprovider: {name: aws, environment: {R: !Ref X, S: !GetAtt A.Arn}}\n",
		"a: [1, {b: c}\n",
		"- ${self:}\n",
		"service: '${env:A, \"x}\"}'\n---\nb: 1\n",
	} {
		f.Add([]byte(doc))
	}
	dir := f.TempDir()
	lookup := env(map[string]string{"X": "x", "N": "128"})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(filepath.Join(dir, "serverless.yml"), data, Options{LookupEnv: lookup})
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a project and the error %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "serverless.yml:") && !strings.HasPrefix(line, "serverless.yml: ") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		if p.Service == "" || p.Provider.Name != "aws" || p.Provider.Stage == "" || p.Provider.Region == "" {
			t.Fatalf("incomplete project %+v", p)
		}
		for _, fn := range p.Functions {
			if fn.Name == "" || fn.Handler == "" || !supportedRuntime(fn.Runtime) ||
				fn.MemorySize < 128 || fn.MemorySize > 10240 || fn.Timeout < 1 || fn.Timeout > 900 {
				t.Fatalf("invalid function %+v", fn)
			}
			for _, e := range fn.Events {
				kinds := 0
				for _, set := range []bool{e.HTTP != nil, e.HTTPAPI != nil, e.Stream != nil, e.SQS != nil, e.Schedule != nil, e.S3 != nil} {
					if set {
						kinds++
					}
				}
				if kinds != 1 {
					t.Fatalf("event %+v does not have exactly one kind", e)
				}
				h := e.HTTP
				if h == nil {
					h = e.HTTPAPI
				}
				if h != nil && (!strings.HasPrefix(h.Path, "/") && h.Path != "*" || h.Method == "") {
					t.Fatalf("invalid route %+v", h)
				}
				if e.S3 != nil && e.S3.Bucket == "" {
					t.Fatalf("an s3 event without a bucket: %+v", e.S3)
				}
			}
		}
	})
}

// TestParserSlowPaths checks that inputs on which the YAML parser is slow
// are refused up front.
func TestParserSlowPaths(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{strings.Repeat("[", 100000), "serverless.yml:1: brackets nested more than 500 deep"},
		{"a: " + strings.Repeat("{a: ", 1000), "serverless.yml:1: brackets nested more than 500 deep"},
		{"a:\n  b: " + strings.Repeat("<", 200000), `serverless.yml:2: more than 1024 '<' in a row`},
		{strings.Repeat("-", 5000), `serverless.yml:1: more than 1024 '-' in a row`},
		{strings.Repeat("#", maxSize+1), "serverless.yml: larger than 1048576 bytes"},
		{strings.Repeat("- ", 5000) + "x", "serverless.yml:1: values nested more than 500 deep"},
	} {
		_, err := Parse("serverless.yml", []byte(tt.doc), Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%.20q...) = %v, want %q", tt.doc, err, tt.want)
		}
	}
}
