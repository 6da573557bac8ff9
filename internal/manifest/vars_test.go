package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in   string
		want []string // literal text as is, variables as their text and source types
	}{
		{"plain", nil},
		{"${AWS::Region}-${HOME}-${Foo:bar}-${aws::x}", nil},
		{"${self:a}", []string{"var ${self:a} [self]"}},
		{"a-${sls:stage}-b", []string{"a-", "var ${sls:stage} [sls]", "-b"}},
		{"${env:A, 'x,}y'}", []string{"var ${env:A, 'x,}y'} [env literal]"}},
		{`${env:A, "q\"}"}`, []string{`var ${env:A, "q\"}"} [env literal]`}},
		{"${env:A, env:B, 3, true, null}", []string{"var ${env:A, env:B, 3, true, null} [env env literal literal literal]"}},
		{"${env:A, ${self:custom.b}}", []string{"var ${env:A, ${self:custom.b}} [env nested]"}},
		{"${self:custom.${sls:stage}.x}", []string{"var ${self:custom.${sls:stage}.x} [self]"}},
		{"${file(./a, b.yml):k}${file(x.json)}", []string{"var ${file(./a, b.yml):k} [file]", "var ${file(x.json)} [file]"}},
		{"$${self:a}$", []string{"$", "var ${self:a} [self]", "$"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			segs, err := parseTemplate(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range segs {
				if s.v == nil {
					got = append(got, s.lit)
					continue
				}
				var kinds []string
				for _, src := range s.v.sources {
					switch {
					case src.literal != nil:
						kinds = append(kinds, "literal")
					case src.nested != nil:
						kinds = append(kinds, "nested")
					default:
						kinds = append(kinds, src.typ)
					}
				}
				got = append(got, "var "+s.v.text+" ["+strings.Join(kinds, " ")+"]")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for _, in := range []string{
		"${self:a",
		"${env:A, }",
		"${env:A, bare}",
		"${env:A, 'open}",
		"${file(x.yml}",
		"${env:A, ${env:B}x}",
		"${file(x)y}",
	} {
		if _, err := parseTemplate(in); err == nil {
			t.Errorf("parseTemplate(%q) succeeded, want an error", in)
		}
	}
}

// vars wraps custom and environment settings into a document whose single
// function's environment shows the resolved values.
func vars(custom, environment string) string {
	return "service: svc\ncustom:\n" + custom + "provider:\n  name: aws\n  runtime: nodejs20.x\n" +
		"functions:\n  f:\n    handler: h.f\n    environment:\n" + environment
}

func TestVariables(t *testing.T) {
	tests := []struct {
		name   string
		custom string
		env    string // environment block, at six spaces
		vars   map[string]string
		opts   Options
		want   map[string]string
	}{
		{name: "self", custom: "  a: hello\n  n: 7\n", env: "      A: ${self:custom.a}\n      N: ${self:custom.n}\n      S: ${self:service}\n",
			want: map[string]string{"A": "hello", "N": "7", "S": "svc"}},
		{name: "inside a string", custom: "  a: mid\n", env: "      A: pre-${self:custom.a}-${sls:stage}-post\n",
			want: map[string]string{"A": "pre-mid-dev-post"}},
		{name: "list index", custom: "  l: [zero, one]\n", env: "      A: ${self:custom.l.1}\n",
			want: map[string]string{"A": "one"}},
		{name: "chained", custom: "  a: ${self:custom.b}\n  b: ${self:custom.c}-b\n  c: c\n", env: "      A: ${self:custom.a}\n",
			want: map[string]string{"A": "c-b"}},
		{name: "nested address", custom: "  dev:\n    size: small\n", env: "      A: ${self:custom.${sls:stage}.size}\n",
			want: map[string]string{"A": "small"}},
		{name: "env", env: "      A: ${env:HOME_DIR}\n      B: ${env:EMPTY}\n", vars: map[string]string{"HOME_DIR": "/home/x", "EMPTY": ""},
			want: map[string]string{"A": "/home/x", "B": ""}},
		{name: "env defaults", custom: "  y: from-custom\n",
			env:  "      A: ${env:NOPE, 'single'}\n      B: ${env:NOPE, \"double\"}\n      C: ${env:NOPE, 42}\n      D: ${env:NOPE, ${self:custom.y}}\n      E: ${env:NOPE, env:NOPE2, self:custom.y}\n      F: ${env:NOPE, ''}\n",
			want: map[string]string{"A": "single", "B": "double", "C": "42", "D": "from-custom", "E": "from-custom", "F": ""}},
		{name: "nested default misses", env: "      A: ${env:NOPE, ${env:NOPE2}, 'last'}\n",
			want: map[string]string{"A": "last"}},
		{name: "opt", env: "      S: ${opt:stage, 'dflt'}\n      R: ${opt:region}\n", opts: Options{Region: "eu-north-1"},
			want: map[string]string{"S": "dflt", "R": "eu-north-1"}},
		{name: "aws", env: "      R: ${aws:region}\n      A: ${aws:accountId}\n", opts: Options{AccountID: "123456789012"},
			want: map[string]string{"R": "us-east-1", "A": "123456789012"}},
		{name: "aws default account", env: "      A: arn:${aws:accountId}\n",
			want: map[string]string{"A": "arn:000000000000"}},
		{name: "whole value keeps type", custom: "  env:\n    A: 1\n    B: two\n", env: "      C: c\n",
			want: map[string]string{"C": "c"}},
		{name: "ssm with fallback", env: "      A: ${ssm:/param, 'local'}\n",
			want: map[string]string{"A": "local"}},
		{name: "cloudformation left alone", env: "      A: ${AWS::Region}-${HOME}\n",
			want: map[string]string{"A": "${AWS::Region}-${HOME}"}},
		{name: "params", env: "      A: ${param:table}\n      B: ${param:other}\n",
			want: map[string]string{"A": "users-dev", "B": "shared"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := vars(tt.custom+"  unused: ${ssm:/not/resolved}\n", tt.env)
			if tt.name == "params" {
				doc += "params:\n  dev:\n    table: users-dev\n  default:\n    table: users\n    other: shared\n"
			}
			tt.opts.LookupEnv = env(tt.vars)
			p := mustParse(t, doc, tt.opts)
			if got := p.Functions[0].Environment; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("environment = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVariableKeepsType(t *testing.T) {
	doc := `service: svc
custom:
  settings:
    memory: 512
    env:
      SHARED: yes
provider:
  name: aws
  runtime: nodejs20.x
  memorySize: ${self:custom.settings.memory}
  environment: ${self:custom.settings.env}
functions:
  f:
    handler: h.f
    timeout: ${env:TIMEOUT, 30}
`
	p := mustParse(t, doc, Options{LookupEnv: env(map[string]string{"TIMEOUT": "12"})})
	fn := p.Functions[0]
	if fn.MemorySize != 512 || fn.Timeout != 12 || fn.Environment["SHARED"] != "yes" {
		t.Errorf("memory %d, timeout %d, environment %v", fn.MemorySize, fn.Timeout, fn.Environment)
	}
}

func TestFileVariables(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"config.yml":     "name: from-yaml\nnested:\n  list: [a, b]\nstage: ${sls:stage}\n",
		"config.json":    `{"name": "from-json", "deep": {"n": 3}}`,
		"env.qa.yml":     "A: one\nB: 2\n",
		"secret.txt":     "text",
		"sub/broken.yml": "a: [\n",
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	doc := vars("  c: ${file(./config.yml)}\n", `      Y: ${file(./config.yml):name}
      L: ${file(config.yml):nested.list.1}
      J: ${file(./config.json):name}
      N: ${file(./config.json):deep.n}
      S: ${self:custom.c.stage}
      T: ${file(./secret.txt)}
      M: ${file(./missing.yml):x, 'fallback'}
`)
	doc += "  g:\n    handler: h.g\n    environment: ${file(./env.${sls:stage}.yml)}\n"
	p, err := parse(t, dir, doc, Options{Stage: "qa"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Y": "from-yaml", "L": "b", "J": "from-json", "N": "3", "S": "qa", "T": "text", "M": "fallback"}
	if got := p.Functions[0].Environment; !reflect.DeepEqual(got, want) {
		t.Errorf("f environment = %v, want %v", got, want)
	}
	if got := p.Functions[1].Environment; !reflect.DeepEqual(got, map[string]string{"A": "one", "B": "2"}) {
		t.Errorf("g environment = %v", got)
	}

	for _, tt := range []struct{ value, want string }{
		{"${file(./missing.yml):x}", "serverless.yml:10: functions.f.environment.A: cannot resolve ${file(./missing.yml):x}: file ./missing.yml does not exist"},
		{"${file(./config.yml):nope}", "serverless.yml:10: functions.f.environment.A: cannot resolve ${file(./config.yml):nope}: nope is not set in ./config.yml"},
		{"${file(./sub/broken.yml):a}", "broken.yml:1: malformed YAML"},
		{"${file(./sub)}", "serverless.yml:10: functions.f.environment.A: ${file(./sub)}: not a regular file"},
	} {
		_, err := parse(t, dir, vars("", "      A: "+tt.value+"\n"), Options{})
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.value, err, tt.want)
		}
	}
}

// TestAliasBomb checks that aliases are shared, not copied: a "billion
// laughs" document loads at once.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("custom:\n  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 30; i++ {
		b.WriteString("  l" + strconv.Itoa(i) + ": &l" + strconv.Itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	b.WriteString(seed)
	if _, err := parse(t, "", b.String(), Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestExpansionBomb checks that strings doubling through variables stop
// at a size limit.
func TestExpansionBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("custom:\n  v0: " + strings.Repeat("x", 1000) + "\n")
	for i := 1; i < 40; i++ {
		b.WriteString("  v" + strconv.Itoa(i) + ": ${self:custom.v" + strconv.Itoa(i-1) + "}${self:custom.v" + strconv.Itoa(i-1) + "}\n")
	}
	b.WriteString("service: ${self:custom.v39}\nprovider:\n  name: aws\n")
	_, err := parse(t, "", b.String(), Options{})
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v, want a size error", err)
	}
}
