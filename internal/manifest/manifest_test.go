package manifest

import (
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// env returns a LookupEnv reading vars, so that tests do not depend on the
// environment they run in.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// parse runs Parse on doc as if it were dir/serverless.yml.
func parse(t *testing.T, dir, doc string, opts Options) (*Project, error) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = env(nil)
	}
	return Parse(filepath.Join(dir, "serverless.yml"), []byte(doc), opts)
}

func mustParse(t *testing.T, doc string, opts Options) *Project {
	t.Helper()
	p, err := parse(t, "", doc, opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

const seed = `service: user-api
provider:
  name: aws
  runtime: nodejs18.x
functions:
  getUser:
    handler: handler.getUser
    events:
      - http:
          path: user/{id}
          method: get
`

func TestSeed(t *testing.T) {
	dir := t.TempDir()
	p, err := parse(t, dir, seed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Service != "user-api" || p.Dir != dir || p.File != filepath.Join(dir, "serverless.yml") {
		t.Errorf("Service, Dir, File = %q, %q, %q", p.Service, p.Dir, p.File)
	}
	wantProvider := Provider{Name: "aws", Runtime: "nodejs18.x", Stage: "dev", Region: "us-east-1",
		MemorySize: 1024, Timeout: 6, Environment: map[string]string{}}
	if !reflect.DeepEqual(p.Provider, wantProvider) {
		t.Errorf("Provider = %+v, want %+v", p.Provider, wantProvider)
	}
	want := []*Function{{
		Key: "getUser", Name: "user-api-dev-getUser", Handler: "handler.getUser",
		Runtime: "nodejs18.x", MemorySize: 1024, Timeout: 6, Environment: map[string]string{},
		EphemeralStorageSize: 512,
		Events:               []Event{{HTTP: &HTTPEvent{Method: "GET", Path: "/user/{id}"}, Line: 9}},
		Role:                 "user-api-dev-us-east-1-lambdaRole",
		Line:                 6,
	}}
	if !reflect.DeepEqual(p.Functions, want) {
		t.Errorf("Functions = %+v, want %+v", *p.Functions[0], *want[0])
	}
	if len(p.Warnings) != 0 {
		t.Errorf("Warnings = %q", p.Warnings)
	}
}

func TestLoad(t *testing.T) {
	write := func(t *testing.T, name, data string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := write(t, name, seed)
			p, err := Load(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p.File != filepath.Join(dir, name) || len(p.Functions) != 1 {
				t.Errorf("File = %q, %d functions", p.File, len(p.Functions))
			}
		})
	}
	t.Run("yml wins over yaml", func(t *testing.T) {
		dir := write(t, "serverless.yml", seed)
		if err := os.WriteFile(filepath.Join(dir, "serverless.yaml"), []byte("not: valid"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir, Options{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := Load(t.TempDir(), Options{})
		if !errors.Is(err, ErrNoManifest) {
			t.Fatalf("err = %v, want ErrNoManifest", err)
		}
	})
	t.Run("typescript", func(t *testing.T) {
		_, err := Load(write(t, "serverless.ts", "export default {}"), Options{})
		if !errors.Is(err, ErrNoManifest) || !strings.Contains(err.Error(), "serverless.ts") {
			t.Fatalf("err = %v, want ErrNoManifest naming serverless.ts", err)
		}
	})
	t.Run("error names file", func(t *testing.T) {
		_, err := Load(write(t, "serverless.yaml", "service: x\nprovider: {name: gcp}\n"), Options{})
		if err == nil || !strings.HasPrefix(err.Error(), "serverless.yaml:2: provider.name: ") {
			t.Fatalf("err = %v", err)
		}
	})
}

const head = `service: svc
provider:
  name: aws
  runtime: nodejs20.x
functions:
`

func TestFunctions(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		opts Options
		want []*Function
	}{{
		name: "provider defaults and overrides, file order",
		doc: `service: svc
provider:
  name: aws
  runtime: python3.12
  memorySize: 512
  timeout: 30
  environment:
    SHARED: one
    OVER: provider
functions:
  zeta:
    handler: app.zeta
    description: last letter
  alpha:
    handler: src/app.alpha
    runtime: nodejs22.x
    memorySize: 256
    timeout: 900
    reservedConcurrency: 5
    environment:
      OVER: function
      EXTRA: 1
`,
		want: []*Function{{
			Key: "zeta", Name: "svc-dev-zeta", Handler: "app.zeta", Runtime: "python3.12",
			MemorySize: 512, Timeout: 30, Description: "last letter", Line: 11,
			Environment: map[string]string{"SHARED": "one", "OVER": "provider"},
		}, {
			Key: "alpha", Name: "svc-dev-alpha", Handler: "src/app.alpha", Runtime: "nodejs22.x",
			MemorySize: 256, Timeout: 900, ReservedConcurrency: ptr(5), Line: 14,
			Environment: map[string]string{"SHARED": "one", "OVER": "function", "EXTRA": "1"},
		}},
	}, {
		name: "explicit name and stage option",
		doc:  head + "  f:\n    handler: h.f\n    name: my-func\n  g:\n    handler: h.g\n",
		opts: Options{Stage: "prod"},
		want: []*Function{{
			Key: "f", Name: "my-func", Handler: "h.f", Runtime: "nodejs20.x",
			MemorySize: 1024, Timeout: 6, Environment: map[string]string{}, Line: 6,
		}, {
			Key: "g", Name: "svc-prod-g", Handler: "h.g", Runtime: "nodejs20.x",
			MemorySize: 1024, Timeout: 6, Environment: map[string]string{}, Line: 9,
		}},
	}, {
		name: "old service form, provider stage, no provider runtime",
		doc: `service:
  name: legacy
provider:
  name: aws
  stage: qa
functions:
  bin:
    handler: bin/hello
    runtime: provided.al2023
    reservedConcurrency: 0
`,
		want: []*Function{{
			Key: "bin", Name: "legacy-qa-bin", Handler: "bin/hello", Runtime: "provided.al2023",
			MemorySize: 1024, Timeout: 6, Environment: map[string]string{}, ReservedConcurrency: ptr(0), Line: 7,
		}},
	}, {
		name: "anchors and merge keys",
		doc: `service: svc
provider:
  name: aws
  runtime: go1.x
functions:
  a: &defaults
    handler: bin/a
    memorySize: 256
    timeout: 10
  b:
    <<: *defaults
    handler: bin/b
`,
		want: []*Function{{
			Key: "a", Name: "svc-dev-a", Handler: "bin/a", Runtime: "go1.x",
			MemorySize: 256, Timeout: 10, Environment: map[string]string{}, Line: 6,
		}, {
			Key: "b", Name: "svc-dev-b", Handler: "bin/b", Runtime: "go1.x",
			MemorySize: 256, Timeout: 10, Environment: map[string]string{}, Line: 10,
		}},
	}, {
		name: "environment values are stringified",
		doc: head + `  f:
    handler: h.f
    environment:
      INT: 42
      FLOAT: 1.50
      BIG: 1.0e+21
      BOOL: false
      EMPTY: ''
      ZEROS: 007
`,
		want: []*Function{{
			Key: "f", Name: "svc-dev-f", Handler: "h.f", Runtime: "nodejs20.x", MemorySize: 1024, Timeout: 6, Line: 6,
			Environment: map[string]string{"INT": "42", "FLOAT": "1.5", "BIG": "1e+21", "BOOL": "false", "EMPTY": "", "ZEROS": "7"},
		}},
	}, {
		name: "numbers from strings",
		doc:  head + "  f:\n    handler: h.f\n    memorySize: '2048'\n    timeout: 5.0\n",
		want: []*Function{{
			Key: "f", Name: "svc-dev-f", Handler: "h.f", Runtime: "nodejs20.x", MemorySize: 2048, Timeout: 5,
			Environment: map[string]string{}, Line: 6,
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.doc, tt.opts)
			for i := range max(len(p.Functions), len(tt.want)) {
				if i >= len(p.Functions) || i >= len(tt.want) {
					t.Fatalf("got %d functions, want %d", len(p.Functions), len(tt.want))
				}
				if tt.want[i].EphemeralStorageSize == 0 {
					tt.want[i].EphemeralStorageSize = 512 // the default, unless the case sets it
				}
				if tt.want[i].Role == "" { // the provider's shared role, unless the case sets one
					tt.want[i].Role = p.Service + "-" + p.Provider.Stage + "-" + p.Provider.Region + "-lambdaRole"
				}
				if !reflect.DeepEqual(p.Functions[i], tt.want[i]) {
					t.Errorf("function %d:\n got %+v\nwant %+v", i, *p.Functions[i], *tt.want[i])
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestEvents(t *testing.T) {
	tests := []struct {
		event string // YAML of one events item, indented under "- "
		want  Event
	}{
		{"http: GET user/{id}", Event{HTTP: &HTTPEvent{Method: "GET", Path: "/user/{id}"}}},
		{"http: 'post /users'", Event{HTTP: &HTTPEvent{Method: "POST", Path: "/users"}}},
		{"http: any /{proxy+}", Event{HTTP: &HTTPEvent{Method: "ANY", Path: "/{proxy+}"}}},
		{"http: {method: '*', path: ''}", Event{HTTP: &HTTPEvent{Method: "ANY", Path: "/"}}},
		{"http: {method: delete, path: /a/b, cors: true}", Event{HTTP: &HTTPEvent{Method: "DELETE", Path: "/a/b", CORS: true}}},
		{"http: {method: put, path: a, cors: {origin: '*'}}", Event{HTTP: &HTTPEvent{Method: "PUT", Path: "/a", CORS: true}}},
		{"http: {method: get, path: a, cors: false, integration: lambda-proxy}", Event{HTTP: &HTTPEvent{Method: "GET", Path: "/a"}}},
		{"httpApi: 'GET /users'", Event{HTTPAPI: &HTTPEvent{Method: "GET", Path: "/users"}}},
		{"httpApi: '*'", Event{HTTPAPI: &HTTPEvent{Method: "ANY", Path: "*"}}},
		{"httpApi: {method: '*', path: '*'}", Event{HTTPAPI: &HTTPEvent{Method: "ANY", Path: "*"}}},
		{"httpApi: {method: patch, path: '/items/{id}'}", Event{HTTPAPI: &HTTPEvent{Method: "PATCH", Path: "/items/{id}"}}},
		{"httpApi: {method: options, path: x, cors: true}", Event{HTTPAPI: &HTTPEvent{Method: "OPTIONS", Path: "/x", CORS: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			p := mustParse(t, head+"  f:\n    handler: h.f\n    events:\n      - "+tt.event+"\n", Options{})
			tt.want.Line = 9
			if got := p.Functions[0].Events; len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("events = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	doc := `service: svc
frameworkVersion: '3'
plugins:
  - serverless-offline
custom:
  anything: ${ssm:/never/resolved}
resources:
  Resources:
    Table:
      Properties:
        Name: !Sub '${AWS::StackName}-table'
provider:
  name: aws
  runtime: nodejs20.x
  iam:
    role:
      statements: []
  tags:
    team: x
  httpApi:
    cors: true
functions:
  f:
    handler: h.f
    package:
      patterns: ['!node_modules/**']
    layers:
      - arn:aws:lambda:us-east-1:1:layer:x:1
    environment:
      TABLE: !Ref Table
    events:
      - cloudFront: {}
      - sns:
          arn: ${cf:other.TopicArn}
      - http:
          method: get
          path: x
          authorizer: aws_iam
`
	p := mustParse(t, doc, Options{})
	want := []string{
		"serverless.yml:3: plugins: plugins are not run: serverless-offline",
		"serverless.yml:20: provider.httpApi: HTTP API settings (cors, authorizers, payload) are not supported yet, ignored",
		"serverless.yml:27: functions.f.layers: layers are not supported yet, ignored",
		"serverless.yml:30: functions.f.environment.TABLE: Ref Table: the resource has no Type, and cloudlet does not evaluate Ref of it; TABLE is not set",
		"serverless.yml:32: functions.f.events[0].cloudFront: cloudFront events are not supported yet, ignored",
		"serverless.yml:33: functions.f.events[1].sns: sns events are not supported yet, ignored",
		"serverless.yml:38: functions.f.events[2].http.authorizer: authorizers are not supported yet, ignored; requests are not authorized",
		"serverless.yml:9: resources.Resources.Table: a resource without a Type is not created",
	}
	if !reflect.DeepEqual(p.Warnings, want) {
		t.Errorf("Warnings:\n%s\nwant:\n%s", strings.Join(p.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if fn := p.Functions[0]; len(fn.Events) != 1 || len(fn.Environment) != 0 {
		t.Errorf("events %+v, environment %v; want one http event and no variables", fn.Events, fn.Environment)
	}
}

// lineRe is how every error line starts.
var lineRe = regexp.MustCompile(`^[^:\s]+\.(yml|yaml|json|txt):\d+: `)

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // one line of the error
	}{
		{"malformed YAML", "service: x\nprovider:\n  name: aws\n   runtime: [\n",
			"serverless.yml:3: malformed YAML"},
		{"tab indent", "service: x\nprovider:\n\tname: aws\n",
			"serverless.yml:3: malformed YAML"},
		{"not a mapping", "- a\n- b\n",
			"serverless.yml:1: must be a mapping with service, provider and functions, not a list"},
		{"repeated key", head + "  f:\n    handler: h.f\n    handler: h.g\n",
			"serverless.yml:8: malformed YAML"},
		{"two documents", seed + "---\nservice: other\n",
			"serverless.yml:13: more than one YAML document"},
		{"unknown alias", head + "  f: *nope\n",
			"serverless.yml:6: alias *nope refers to no anchor"},
		{"unknown top-level field", "servce: x\n" + head,
			"serverless.yml:1: servce: unknown field (did you mean service?)"},
		{"bad service name", "service: 1abc\nprovider:\n  name: aws\n",
			`serverless.yml:1: service: "1abc" must start with a letter`},
		{"service of wrong type", "service: [a]\nprovider:\n  name: aws\n",
			"serverless.yml:1: service: must be a string, not a list"},
		{"provider not aws", "service: x\nprovider:\n  name: google\n",
			`serverless.yml:3: provider.name: must be aws, not "google"`},
		{"provider without name", "service: x\nprovider:\n  runtime: nodejs20.x\n",
			"serverless.yml:2: provider.name: required"},
		{"unknown provider field", "service: x\nprovider:\n  name: aws\n  runtim: nodejs20.x\n",
			"serverless.yml:4: provider.runtim: unknown field (did you mean runtime?)"},
		{"unsupported runtime", "service: x\nprovider:\n  name: aws\n  runtime: java17\n",
			`serverless.yml:4: provider.runtime: unsupported runtime "java17"`},
		{"provider memory too small", "service: x\nprovider:\n  name: aws\n  memorySize: 64\n",
			"serverless.yml:4: provider.memorySize: must be between 128 and 10240, not 64"},
		{"provider timeout too long", "service: x\nprovider:\n  name: aws\n  timeout: 901\n",
			"serverless.yml:4: provider.timeout: must be between 1 and 900, not 901"},
		{"bad stage", "service: x\nprovider:\n  name: aws\n  stage: my_stage\n",
			`serverless.yml:4: provider.stage: "my_stage" must hold only letters, digits and hyphens`},
		{"environment not a map", "service: x\nprovider:\n  name: aws\n  environment: [A]\n",
			"serverless.yml:4: provider.environment: must be a mapping of variable names to values, not a list"},
		{"environment value a list", "service: x\nprovider:\n  name: aws\n  environment:\n    A: [1]\n",
			"serverless.yml:5: provider.environment.A: must be a string, not a list"},
		{"environment reserved", "service: x\nprovider:\n  name: aws\n  environment:\n    AWS_REGION: x\n",
			"serverless.yml:5: provider.environment.AWS_REGION: reserved"},
		{"environment bad name", "service: x\nprovider:\n  name: aws\n  environment:\n    1X: x\n",
			"serverless.yml:5: provider.environment.1X: a variable name must start with a letter"},
		{"handler not a string", head + "  getUser:\n    handler: 12\n",
			"serverless.yml:7: functions.getUser.handler: must be a string"},
		{"handler missing", head + "  getUser:\n    timeout: 3\n",
			"serverless.yml:6: functions.getUser.handler: required"},
		{"handler without function", head + "  getUser:\n    handler: handler\n",
			`serverless.yml:7: functions.getUser.handler: "handler" must be <file>.<function>`},
		{"function field typo", head + "  getUser:\n    handler: h.f\n    memorySiz: 256\n",
			"serverless.yml:8: functions.getUser.memorySiz: unknown field (did you mean memorySize?)"},
		{"function not a mapping", head + "  getUser: h.f\n",
			"serverless.yml:6: functions.getUser: must be a mapping of function settings"},
		{"bad function key", head + "  get.user:\n    handler: h.f\n",
			`serverless.yml:6: functions."get.user": a function name must hold only`},
		{"no runtime", "service: x\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: h.f\n",
			"serverless.yml:5: functions.f.runtime: required"},
		{"function runtime", head + "  f:\n    handler: h.f\n    runtime: ruby3.2\n",
			`serverless.yml:8: functions.f.runtime: unsupported runtime "ruby3.2"`},
		{"python 2", head + "  f:\n    handler: h.f\n    runtime: python2.7\n",
			`serverless.yml:8: functions.f.runtime: unsupported runtime "python2.7"`},
		{"memory too big", head + "  f:\n    handler: h.f\n    memorySize: 10241\n",
			"serverless.yml:8: functions.f.memorySize: must be between 128 and 10240, not 10241"},
		{"memory not a number", head + "  f:\n    handler: h.f\n    memorySize: big\n",
			`serverless.yml:8: functions.f.memorySize: must be a whole number, not "big"`},
		{"timeout zero", head + "  f:\n    handler: h.f\n    timeout: 0\n",
			"serverless.yml:8: functions.f.timeout: must be between 1 and 900, not 0"},
		{"timeout fraction", head + "  f:\n    handler: h.f\n    timeout: 1.5\n",
			"serverless.yml:8: functions.f.timeout: must be a whole number, not 1.5"},
		{"too many retries", head + "  f:\n    handler: h.f\n    maximumRetryAttempts: 3\n",
			"serverless.yml:8: functions.f.maximumRetryAttempts: must be between 0 and 2, not 3"},
		{"event age too short", head + "  f:\n    handler: h.f\n    maximumEventAge: 30\n",
			"serverless.yml:8: functions.f.maximumEventAge: must be between 60 and 21600, not 30"},
		{"destination of no function", head + "  f:\n    handler: h.f\n    destinations:\n      onSuccess: nope\n",
			`serverless.yml:9: functions.f.destinations.onSuccess: "nope" is neither an ARN nor a function of this service`},
		{"destination type", head + "  f:\n    handler: h.f\n    destinations:\n      onFailure:\n        type: kafka\n        arn: arn:aws:kafka:us-east-1:000000000000:x\n",
			`serverless.yml:10: functions.f.destinations.onFailure.type: must be sqs, sns, eventBus or function, not "kafka"`},
		{"negative concurrency", head + "  f:\n    handler: h.f\n    reservedConcurrency: -1\n",
			"serverless.yml:8: functions.f.reservedConcurrency: must be 0 or more, not -1"},
		{"bad explicit name", head + "  f:\n    handler: h.f\n    name: 'a b'\n",
			`serverless.yml:8: functions.f.name: "a b" must be 1 to 64`},
		{"name too long", "service: " + strings.Repeat("s", 60) + "\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  fn:\n    handler: h.f\n",
			"serverless.yml:6: functions.fn: function name"},
		{"duplicate names", head + "  f:\n    handler: h.f\n    name: same\n  g:\n    handler: h.g\n    name: same\n",
			`serverless.yml:9: functions.g: function name "same" is also the name of functions.f`},
		{"events not a list", head + "  f:\n    handler: h.f\n    events:\n      http: GET /\n",
			"serverless.yml:9: functions.f.events: must be a list of events, not a mapping"},
		{"event mis-indented", head + "  f:\n    handler: h.f\n    events:\n      - http:\n        path: x\n        method: get\n",
			"serverless.yml:9: functions.f.events[0]: an event has one type, not 3 (http, path, method)"},
		{"unknown event", head + "  f:\n    handler: h.f\n    events:\n      - htp: GET /\n",
			"serverless.yml:9: functions.f.events[0].htp: unknown event type (did you mean http?)"},
		{"bad method", head + "  f:\n    handler: h.f\n    events:\n      - http:\n          method: fetch\n          path: x\n",
			`serverless.yml:10: functions.f.events[0].http.method: unsupported method "FETCH"`},
		{"method not a string", head + "  f:\n    handler: h.f\n    events:\n      - http:\n          method: [get]\n          path: x\n",
			`serverless.yml:10: functions.f.events[0].http.method: must be a string, not a list`},
		{"missing path", head + "  f:\n    handler: h.f\n    events:\n      - http:\n          method: get\n",
			"serverless.yml:9: functions.f.events[0].http.path: required"},
		{"short form", head + "  f:\n    handler: h.f\n    events:\n      - http: GET\n",
			`serverless.yml:9: functions.f.events[0].http: "GET" must be "METHOD path"`},
		{"space in path", head + "  f:\n    handler: h.f\n    events:\n      - http:\n          method: get\n          path: a b\n",
			`serverless.yml:11: functions.f.events[0].http.path: "a b" is not a valid path`},
		{"bad path parameter", head + "  f:\n    handler: h.f\n    events:\n      - httpApi: GET /a/x{id}\n",
			`serverless.yml:9: functions.f.events[0].httpApi.path: "/a/x{id}": a path parameter is a whole segment`},
		{"catch-all with method", head + "  f:\n    handler: h.f\n    events:\n      - httpApi:\n          method: get\n          path: '*'\n",
			`serverless.yml:11: functions.f.events[0].httpApi.path: the catch-all route * takes every method`},
		{"cors of wrong type", head + "  f:\n    handler: h.f\n    events:\n      - http:\n          method: get\n          path: x\n          cors: 3\n",
			"serverless.yml:12: functions.f.events[0].http.cors: must be true, false or a mapping"},
		{"unknown http field", head + "  f:\n    handler: h.f\n    events:\n      - http:\n          method: get\n          paht: x\n",
			"serverless.yml:11: functions.f.events[0].http.paht: unknown field (did you mean path?)"},
		{"duplicate route", head + "  f:\n    handler: h.f\n    events:\n      - http: GET /a\n  g:\n    handler: h.g\n    events:\n      - http: get a\n",
			"serverless.yml:13: functions.g.events: http route GET /a is also served by functions.f"},
		{"unresolved variable", head + "  f:\n    handler: ${env:HANDLER}\n",
			"serverless.yml:7: functions.f.handler: cannot resolve ${env:HANDLER}: environment variable HANDLER is not set"},
		{"unknown variable source", head + "  f:\n    handler: ${nope:x}\n",
			`serverless.yml:7: functions.f.handler: unknown variable source "nope"`},
		{"unterminated variable", head + "  f:\n    handler: ${env:X\n",
			"serverless.yml:7: functions.f.handler: variable ${env:X has no closing }"},
		{"bare fallback", head + "  f:\n    handler: ${env:X, h.f}\n",
			`serverless.yml:7: functions.f.handler: invalid variable ${env:X, h.f}: fallback "h.f" is neither a variable nor a value`},
		{"mapping inside a string", "service: x-${self:provider}\nprovider:\n  name: aws\n",
			"serverless.yml:1: service: ${self:provider} is a mapping, which cannot be part of a string"},
		{"cycle", "service: ${self:custom.a}\ncustom:\n  a: ${self:custom.b}\n  b: x${self:custom.a}\nprovider:\n  name: aws\n",
			"serverless.yml:3: custom.a: variables refer to each other in a loop: custom.a -> custom.b -> custom.a"},
		{"self cycle", "service: ${self:service}\nprovider:\n  name: aws\n",
			"serverless.yml:1: service: variables refer to each other in a loop: service -> service"},
		{"stage cycle", "service: x\nprovider:\n  name: aws\n  stage: ${sls:stage}\n",
			"serverless.yml:4: provider.stage: variables refer to each other in a loop: provider.stage -> provider.stage"},
		{"ssm without fallback", "service: ${ssm:/name}\nprovider:\n  name: aws\n",
			"serverless.yml:1: service: cannot resolve ${ssm:/name}: ${ssm:...} values are not available locally"},
		{"missing self with hint", "service: x-${self:provider.stage}\nprovider:\n  name: aws\n",
			"serverless.yml:1: service: cannot resolve ${self:provider.stage}: provider.stage is not set (${sls:stage} is the stage in use)"},
		{"javascript file", "service: ${file(./config.js):name}\nprovider:\n  name: aws\n",
			"serverless.yml:1: service: ${file(./config.js)}: cloudlet does not run JavaScript"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, "", tt.doc, Options{})
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			found := false
			for _, l := range lines {
				found = found || strings.HasPrefix(l, tt.want)
				if !lineRe.MatchString(l) && !strings.HasPrefix(l, "serverless.yml: ") {
					t.Errorf("error line %q does not start with file:line", l)
				}
			}
			if !found {
				t.Errorf("error:\n%v\nwant a line starting %q", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error is not an *Error")
			}
		})
	}
}

func TestMissingTopLevel(t *testing.T) {
	_, err := parse(t, "", "frameworkVersion: '3'\n", Options{})
	want := "serverless.yml: service: required, e.g. service: my-api\nserverless.yml: provider: required"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want %q...", err, want)
	}
	if _, err := parse(t, "", "", Options{}); err == nil || !strings.HasPrefix(err.Error(), "serverless.yml:1: the file is empty") {
		t.Fatalf("empty file: err = %v", err)
	}
}

func TestStageAndRegion(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		opts     Options
		stage    string
		region   string
	}{
		{"defaults", "", Options{}, "dev", "us-east-1"},
		{"from provider", "  stage: prod\n  region: eu-west-1\n", Options{}, "prod", "eu-west-1"},
		{"options win", "  stage: prod\n  region: eu-west-1\n", Options{Stage: "test", Region: "ap-south-1"}, "test", "ap-south-1"},
		{"opt variable with default", "  stage: ${opt:stage, 'beta'}\n  region: ${opt:region, \"eu-central-1\"}\n", Options{}, "beta", "eu-central-1"},
		{"opt variable given", "  stage: ${opt:stage, 'beta'}\n", Options{Stage: "gamma"}, "gamma", "us-east-1"},
		{"old-style fallback", "  stage: ${opt:stage, self:custom.stage}\n", Options{}, "from-custom", "us-east-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "service: svc\ncustom:\n  stage: from-custom\nprovider:\n  name: aws\n  runtime: nodejs20.x\n" + tt.provider +
				"  environment:\n    STAGE: ${sls:stage}\n    REGION: ${aws:region}\n" +
				"functions:\n  f:\n    handler: h.f\n"
			p := mustParse(t, doc, tt.opts)
			if p.Provider.Stage != tt.stage || p.Provider.Region != tt.region {
				t.Errorf("stage, region = %q, %q; want %q, %q", p.Provider.Stage, p.Provider.Region, tt.stage, tt.region)
			}
			env := p.Functions[0].Environment
			if env["STAGE"] != tt.stage || env["REGION"] != tt.region {
				t.Errorf("${sls:stage}, ${aws:region} = %q, %q", env["STAGE"], env["REGION"])
			}
			if want := "svc-" + tt.stage + "-f"; p.Functions[0].Name != want {
				t.Errorf("Name = %q, want %q", p.Functions[0].Name, want)
			}
		})
	}
	_, err := parse(t, "", seed, Options{Stage: "bad stage"})
	if err == nil || !strings.Contains(err.Error(), `stage "bad stage" (--stage) must hold only`) {
		t.Errorf("bad --stage: err = %v", err)
	}
}

// TestPackageDoc keeps the package comment in doc.go alone.
func TestPackageDoc(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if has := f.Doc != nil; has != (name == "doc.go") {
			t.Errorf("%s: package comment present = %v; it belongs in doc.go only", name, has)
		}
	}
}

func TestEphemeralStorageSize(t *testing.T) {
	doc := "service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  a:\n    handler: h.a\n  b:\n    handler: h.b\n    ephemeralStorageSize: 2048\n"
	p, err := Parse("serverless.yml", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Functions[0].EphemeralStorageSize != 512 || p.Functions[1].EphemeralStorageSize != 2048 {
		t.Fatalf("sizes = %d, %d", p.Functions[0].EphemeralStorageSize, p.Functions[1].EphemeralStorageSize)
	}
	_, err = Parse("serverless.yml", []byte(strings.Replace(doc, "2048", "100", 1)), Options{})
	if err == nil || !strings.Contains(err.Error(), "serverless.yml:10: functions.b.ephemeralStorageSize") {
		t.Fatalf("out of range: %v", err)
	}
}

func TestProvisionedConcurrency(t *testing.T) {
	doc := "service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  a:\n    handler: h.a\n  b:\n    handler: h.b\n    provisionedConcurrency: 2\n"
	p, err := Parse("serverless.yml", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Functions[0].ProvisionedConcurrency != 0 || p.Functions[1].ProvisionedConcurrency != 2 {
		t.Fatalf("provisioned = %d, %d", p.Functions[0].ProvisionedConcurrency, p.Functions[1].ProvisionedConcurrency)
	}
	_, err = Parse("serverless.yml", []byte(doc+"    reservedConcurrency: 1\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "serverless.yml:10: functions.b.provisionedConcurrency: 2: Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function (1)") {
		t.Fatalf("above reserved: %v", err)
	}
	_, err = Parse("serverless.yml", []byte(strings.Replace(doc, ": 2", ": -1", 1)), Options{})
	if err == nil || !strings.Contains(err.Error(), "serverless.yml:10: functions.b.provisionedConcurrency: must be 0 or more") {
		t.Fatalf("negative: %v", err)
	}
}

func TestInstanceConcurrency(t *testing.T) {
	doc := "service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  a:\n    handler: h.a\n  b:\n    handler: h.b\n    instanceConcurrency: 8\n"
	p, err := Parse("serverless.yml", []byte(doc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Functions[0].InstanceConcurrency != 0 || p.Functions[1].InstanceConcurrency != 8 {
		t.Fatalf("instanceConcurrency = %d, %d", p.Functions[0].InstanceConcurrency, p.Functions[1].InstanceConcurrency)
	}
	_, err = Parse("serverless.yml", []byte(doc+"    runtime: python3.12\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "functions.b.instanceConcurrency: only nodejs runtimes") {
		t.Fatalf("python: %v", err)
	}
	_, err = Parse("serverless.yml", []byte(strings.Replace(doc, ": 8", ": 0", 1)), Options{})
	if err == nil || !strings.Contains(err.Error(), "serverless.yml:10: functions.b.instanceConcurrency") {
		t.Fatalf("zero: %v", err)
	}
}

// An unsupported runtime is one error, not also a missing runtime.
func TestUnsupportedRuntimeIsOneError(t *testing.T) {
	for name, doc := range map[string]string{
		"provider": "service: x\nprovider:\n  name: aws\n  runtime: java17\nfunctions:\n  hello:\n    handler: h.x\n",
		"function": "service: x\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  hello:\n    handler: h.x\n    runtime: java17\n",
	} {
		_, err := parse(t, "", doc, Options{})
		if err == nil || !strings.Contains(err.Error(), `unsupported runtime "java17"`) || strings.Contains(err.Error(), "required") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// logRetentionInDays: the provider's, else the function's own; only the
// values CloudWatch Logs accepts.
func TestLogRetentionInDays(t *testing.T) {
	doc := "service: x\nprovider:\n  name: aws\n  runtime: nodejs20.x\n  logRetentionInDays: 14\nfunctions:\n  a:\n    handler: h.a\n  b:\n    handler: h.b\n    logRetentionInDays: 1\n"
	p := mustParse(t, doc, Options{})
	if p.Functions[0].LogRetentionInDays != 14 || p.Functions[1].LogRetentionInDays != 1 {
		t.Fatalf("retention: %d, %d", p.Functions[0].LogRetentionInDays, p.Functions[1].LogRetentionInDays)
	}
	_, err := parse(t, "", strings.Replace(doc, "14", "10", 1), Options{})
	if err == nil || !strings.Contains(err.Error(), "serverless.yml:5: provider.logRetentionInDays: 10 is not a retention CloudWatch Logs accepts") {
		t.Fatalf("10 days: %v", err)
	}
}

func TestAsyncSettings(t *testing.T) {
	p, err := Parse("serverless.yml", []byte(`service: s
provider:
  name: aws
  runtime: nodejs20.x
functions:
  f:
    handler: h.f
    maximumRetryAttempts: 1
    maximumEventAge: 120
    destinations:
      onSuccess: g
      onFailure:
        type: sqs
        arn: arn:aws:sqs:us-east-1:000000000000:failed
    onError: arn:aws:sns:us-east-1:000000000000:topic
  g:
    handler: h.g
    destinations:
      onFailure: arn:aws:sqs:us-east-1:000000000000:q
  h:
    handler: h.h
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, g, h := p.Functions[0].Async, p.Functions[1].Async, p.Functions[2].Async
	if f == nil || *f.MaximumRetryAttempts != 1 || *f.MaximumEventAge != 120 || f.OnSuccess != "arn:aws:lambda:us-east-1:000000000000:function:s-dev-g" ||
		f.OnFailure != "arn:aws:sqs:us-east-1:000000000000:failed" || f.OnError != "" {
		t.Errorf("f: %+v", f)
	}
	if g == nil || g.OnFailure != "arn:aws:sqs:us-east-1:000000000000:q" || g.MaximumRetryAttempts != nil {
		t.Errorf("g: %+v", g)
	}
	if h != nil {
		t.Errorf("h declares nothing: %+v", h)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "functions.f.onError: only queues are dead-letter targets") {
		t.Errorf("warnings %q", p.Warnings)
	}
}

// serverless/examples' aws-node-sqs-worker, as written: Lift's queue
// construct becomes a queue with a dead-letter queue, a worker fed by
// it, the permission to send to it, and ${construct:jobs.queueUrl}.
func TestLiftQueueConstruct(t *testing.T) {
	p, err := Parse("serverless.yml", []byte(`service: aws-node-sqs-worker
frameworkVersion: '3'

provider:
  name: aws
  runtime: nodejs18.x

constructs:
  jobs:
    type: queue
    worker:
      handler: index.consumer

functions:
  producer:
    handler: index.producer
    events:
      - httpApi:
          method: post
          path: /produce
    environment:
      QUEUE_URL: ${construct:jobs.queueUrl}

plugins:
  - serverless-lift
`), Options{APIURL: "http://127.0.0.1:4566"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings: %q", p.Warnings)
	}
	if got := p.Functions[0].Environment["QUEUE_URL"]; got != "http://127.0.0.1:4566/000000000000/aws-node-sqs-worker-dev-jobs" {
		t.Errorf("QUEUE_URL %q", got)
	}
	if len(p.Functions) != 2 || p.Functions[1].Name != "aws-node-sqs-worker-dev-jobsWorker" {
		t.Fatalf("functions %v", p.Functions)
	}
	w := p.Functions[1]
	if len(w.Events) != 1 || w.Events[0].SQS == nil {
		t.Fatalf("worker events %+v", w.Events)
	}
	if ev := w.Events[0].SQS; ev.Queue != "aws-node-sqs-worker-dev-jobs" || ev.BatchSize != 1 || !ev.ReportBatchItemFailures {
		t.Errorf("worker event %+v", ev)
	}
	if len(p.Queues) != 2 {
		t.Fatalf("queues %v", p.Queues)
	}
	byName := map[string]*Queue{}
	for _, q := range p.Queues {
		byName[q.Name] = q
	}
	q, dlq := byName["aws-node-sqs-worker-dev-jobs"], byName["aws-node-sqs-worker-dev-jobs-dlq"]
	if q == nil || dlq == nil {
		t.Fatalf("queues %v", byName)
	}
	rp, _ := q.Properties["RedrivePolicy"].(map[string]any)
	if q.Properties["VisibilityTimeout"] != float64(36) || rp["maxReceiveCount"] != float64(3) ||
		rp["deadLetterTargetArn"] != "arn:aws:sqs:us-east-1:000000000000:aws-node-sqs-worker-dev-jobs-dlq" {
		t.Errorf("queue properties %v", q.Properties)
	}
	if dlq.Properties["MessageRetentionPeriod"] != float64(1209600) {
		t.Errorf("dlq properties %v", dlq.Properties)
	}
	var allowed bool
	for _, st := range p.Roles[0].Statements {
		for _, r := range st.Resources {
			allowed = allowed || r == "arn:aws:sqs:us-east-1:000000000000:aws-node-sqs-worker-dev-jobs"
		}
	}
	if !allowed {
		t.Error("the role does not allow sending to the construct's queue")
	}
}

func TestLiftQueueOptions(t *testing.T) {
	p, err := Parse("serverless.yml", []byte(`service: s
provider:
  name: aws
  runtime: nodejs20.x
constructs:
  orders:
    type: queue
    fifo: true
    maxRetries: 5
    batchSize: 10
    maxBatchingWindow: 2
    delay: 3
    alarm: ops@example.com
    worker: handle
functions:
  handle:
    handler: h.handle
    timeout: 10
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "constructs.orders.alarm: alarms are not supported") {
		t.Errorf("warnings %q", p.Warnings)
	}
	if len(p.Functions) != 1 || len(p.Functions[0].Events) != 1 || p.Functions[0].Events[0].SQS.Queue != "s-dev-orders.fifo" {
		t.Fatalf("the worker named is fed by the queue: %+v", p.Functions)
	}
	var q *Queue
	for _, x := range p.Queues {
		if x.Name == "s-dev-orders.fifo" {
			q = x
		}
	}
	if q == nil || q.Properties["VisibilityTimeout"] != float64(62) || q.Properties["FifoQueue"] != true ||
		q.Properties["ContentBasedDeduplication"] != true || q.Properties["DelaySeconds"] != float64(3) {
		t.Errorf("queue %+v", q)
	}
	_, err = Parse("serverless.yml", []byte("service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\nconstructs:\n  jobs:\n    type: queue\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "constructs.jobs.worker: required") {
		t.Errorf("no worker: %v", err)
	}
	_, err = Parse("serverless.yml", []byte("service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  f:\n    handler: h.f\n    environment:\n      U: ${construct:nope.queueUrl}\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "no construct nope") {
		t.Errorf("unknown construct: %v", err)
	}
}

func TestS3Events(t *testing.T) {
	p, err := Parse("serverless.yml", []byte(`service: s
provider:
  name: aws
  runtime: nodejs20.x
custom:
  shared: shared-bucket
functions:
  f:
    handler: h.f
    events:
      - s3: photos
      - s3:
          bucket: uploads
          event: s3:ObjectCreated:Put
          rules:
            - prefix: in/
            - suffix: .txt
      - s3:
          bucket: ${self:custom.shared}
          existing: true
      - s3:
          bucket: !Ref Declared
          event: s3:ObjectRemoved:*
          existing: true
resources:
  Resources:
    Declared:
      Type: AWS::S3::Bucket
      Properties:
        BucketName: declared-bucket
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	evs := p.Functions[0].Events
	if len(evs) != 4 || evs[0].S3.Bucket != "photos" || evs[0].S3.Event != "s3:ObjectCreated:*" ||
		evs[1].S3.Prefix != "in/" || evs[1].S3.Suffix != ".txt" || evs[1].S3.Event != "s3:ObjectCreated:Put" ||
		evs[2].S3.Bucket != "shared-bucket" || !evs[2].S3.Existing || evs[3].S3.Bucket != "declared-bucket" {
		t.Fatalf("events %+v %+v %+v %+v", evs[0].S3, evs[1].S3, evs[2].S3, evs[3].S3)
	}
	var names []string
	for _, b := range p.Buckets {
		names = append(names, b.Name)
	}
	if strings.Join(names, ",") != "declared-bucket,photos,uploads" {
		t.Fatalf("buckets %v: the declared one, then those the events make (not the existing ones)", names)
	}
	_, err = Parse("serverless.yml", []byte("service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  f:\n    handler: h.f\n    events:\n      - s3:\n          bucket: b\n          event: s3:ObjectTagging:*\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "is not an object event Cloudlet fires") {
		t.Fatalf("an unknown event: %v", err)
	}
}

// Lift's storage construct: a bucket, every function allowed on it, and
// ${construct:avatars.bucketName}.
func TestLiftStorageConstruct(t *testing.T) {
	p, err := Parse("serverless.yml", []byte(`service: app
provider:
  name: aws
  runtime: nodejs20.x
constructs:
  avatars:
    type: storage
    encryption: kms
functions:
  upload:
    handler: h.upload
    environment:
      BUCKET: ${construct:avatars.bucketName}
      ARN: ${construct:avatars.bucketArn}
plugins:
  - serverless-lift
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Buckets) != 1 || p.Buckets[0].LogicalID != "avatarsBucket" {
		t.Fatalf("buckets %+v", p.Buckets)
	}
	name := p.Buckets[0].Name
	env := p.Functions[0].Environment
	if env["BUCKET"] != name || env["ARN"] != "arn:aws:s3:::"+name || name != strings.ToLower(name) || len(name) > 63 {
		t.Fatalf("bucket %q, environment %v", name, env)
	}
	allowed := false
	for _, st := range p.Roles[0].Statements {
		for _, r := range st.Resources {
			allowed = allowed || r == "arn:aws:s3:::"+name+"/*"
		}
	}
	if !allowed || len(p.Warnings) != 0 {
		t.Fatalf("permission on the bucket: %v; warnings %q", allowed, p.Warnings)
	}
}
