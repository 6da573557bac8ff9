package awsapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/cloudlet/cloudlet/internal/lambda"
)

// lastModifiedFormat is how Lambda writes FunctionConfiguration.LastModified.
const lastModifiedFormat = "2006-01-02T15:04:05.000-0700"

const (
	defaultMaxItems = 50
	maxMaxItems     = 10000
)

// functionConfiguration is Lambda's FunctionConfiguration, fields in the
// order AWS writes them.
type functionConfiguration struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Runtime          string            `json:"Runtime,omitempty"`
	Role             string            `json:"Role"`
	Handler          string            `json:"Handler,omitempty"`
	CodeSize         int64             `json:"CodeSize"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	LastModified     string            `json:"LastModified"`
	CodeSha256       string            `json:"CodeSha256"`
	Version          string            `json:"Version"`
	Environment      *environment      `json:"Environment,omitempty"`
	TracingConfig    tracingConfig     `json:"TracingConfig"`
	RevisionID       string            `json:"RevisionId"`
	State            string            `json:"State"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	PackageType      string            `json:"PackageType"`
	Architectures    []string          `json:"Architectures"`
	EphemeralStorage ephemeralStorage  `json:"EphemeralStorage"`
	SnapStart        snapStartResponse `json:"SnapStart"`
	LoggingConfig    loggingConfig     `json:"LoggingConfig"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

type tracingConfig struct {
	Mode string `json:"Mode"`
}

type ephemeralStorage struct {
	Size int `json:"Size"`
}

type snapStartResponse struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

type loggingConfig struct {
	LogFormat string `json:"LogFormat"`
	LogGroup  string `json:"LogGroup"`
}

func (l *LambdaService) configuration(c lambda.Config, qualifier string) functionConfiguration {
	arn := c.ARN
	if arn == "" {
		arn = l.functionARN(c.Name)
	}
	if qualifier != "" {
		arn += ":" + qualifier
	}
	fc := functionConfiguration{
		FunctionName:     c.Name,
		FunctionArn:      arn,
		Runtime:          c.Runtime,
		Role:             c.Role,
		Handler:          c.Handler,
		CodeSize:         c.CodeSize,
		Timeout:          c.Timeout,
		MemorySize:       c.MemorySize,
		LastModified:     c.LastModified.UTC().Format(lastModifiedFormat),
		CodeSha256:       c.CodeSha256,
		Version:          "$LATEST",
		TracingConfig:    tracingConfig{Mode: "PassThrough"},
		RevisionID:       revisionID(c),
		State:            "Active",
		LastUpdateStatus: "Successful",
		PackageType:      "Zip",
		Architectures:    []string{"x86_64"},
		EphemeralStorage: ephemeralStorage{Size: max(512, c.EphemeralStorage)},
		SnapStart:        snapStartResponse{ApplyOn: "None", OptimizationStatus: "Off"},
		LoggingConfig:    loggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + c.Name},
	}
	if len(c.Environment) > 0 {
		fc.Environment = &environment{Variables: c.Environment}
	}
	return fc
}

// revisionID derives a stable UUID-shaped RevisionId from what changes on a
// deploy, so it changes exactly when the function does.
func revisionID(c lambda.Config) string {
	sum := sha256.Sum256([]byte(c.Name + "\x00" + c.CodeSha256 + "\x00" + c.LastModified.UTC().Format(time.RFC3339Nano)))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// listFunctions serves ListFunctions: GET /2015-03-31/functions/.
func (l *LambdaService) listFunctions(w http.ResponseWriter, r *http.Request, call *Call) {
	if !l.authorize(w, call, "ListFunctions", "", "") {
		return
	}
	q := r.URL.Query()
	maxItems := defaultMaxItems
	if s := q.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxMaxItems {
			writeJSONError(w, call.RequestID, ErrValidation.Errorf(
				"1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: "+
					"Member must have value between 1 and %d", s, maxMaxItems))
			return
		}
		maxItems = n
	}
	fns := l.cat.Functions()
	start := 0
	if m := q.Get("Marker"); m != "" {
		after, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil || len(after) == 0 {
			writeJSONError(w, call.RequestID, ErrInvalidParameterValue.Errorf(
				"Invalid Marker '%s': pass the NextMarker of the previous ListFunctions response.", m))
			return
		}
		// The marker names the first function of the page, so a function
		// removed between pages moves the page on rather than failing it.
		start = sort.Search(len(fns), func(i int) bool { return fns[i].Name >= string(after) })
	}
	end := min(start+maxItems, len(fns))
	out := struct {
		Functions  []functionConfiguration `json:"Functions"`
		NextMarker *string                 `json:"NextMarker"`
	}{Functions: make([]functionConfiguration, 0, end-start)}
	for _, c := range fns[start:end] {
		out.Functions = append(out.Functions, l.configuration(c, ""))
	}
	if end < len(fns) {
		m := base64.RawURLEncoding.EncodeToString([]byte(fns[end].Name))
		out.NextMarker = &m
	}
	writeJSON(w, call, out)
}

// getFunction serves GetFunction: GET /2015-03-31/functions/{FunctionName}.
func (l *LambdaService) getFunction(w http.ResponseWriter, r *http.Request, call *Call, name string) {
	c, qualifier, ok := l.target(w, r, call, "GetFunction", name)
	if !ok {
		return
	}
	type concurrency struct {
		ReservedConcurrentExecutions int `json:"ReservedConcurrentExecutions"`
	}
	out := struct {
		Configuration functionConfiguration `json:"Configuration"`
		Code          struct {
			RepositoryType string `json:"RepositoryType"`
			Location       string `json:"Location"`
		} `json:"Code"`
		Tags        map[string]string `json:"Tags"`
		Concurrency *concurrency      `json:"Concurrency,omitempty"`
	}{
		Configuration: l.configuration(c, qualifier),
		Tags:          map[string]string{},
	}
	out.Code.RepositoryType = "S3"
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	out.Code.Location = scheme + "://" + r.Host + "/_cloudlet/code/" + c.Name + ".zip"
	if c.ReservedConcurrency != nil {
		out.Concurrency = &concurrency{ReservedConcurrentExecutions: *c.ReservedConcurrency}
	}
	writeJSON(w, call, out)
}

// getFunctionConfiguration serves GetFunctionConfiguration:
// GET /2015-03-31/functions/{FunctionName}/configuration.
func (l *LambdaService) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, call *Call, name string) {
	c, qualifier, ok := l.target(w, r, call, "GetFunctionConfiguration", name)
	if !ok {
		return
	}
	writeJSON(w, call, l.configuration(c, qualifier))
}

func writeJSON(w http.ResponseWriter, call *Call, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		call.Logger.Error("encode response", "err", err)
		writeJSONError(w, call.RequestID, ErrServiceFailure.Err())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
