package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/cloudlet/cloudlet/internal/async"
)

// eventConfigPrefix is where Lambda's EventInvokeConfig operations live.
const eventConfigPrefix = "/2019-09-25/functions/"

// EventInvokeConfigs keeps functions' asynchronous invocation settings
// (internal/async's Queue).
type EventInvokeConfigs interface {
	EventInvokeConfig(ctx context.Context, function string) (async.Config, bool, error)
	PutEventInvokeConfig(ctx context.Context, function string, c async.Config, update bool) (async.Config, error)
	// DeleteEventInvokeConfig answers async.ErrNoConfig when there is none.
	DeleteEventInvokeConfig(ctx context.Context, function string) error
}

// SetEventInvokeConfigs makes l serve Put, Get, Update, Delete and
// ListFunctionEventInvokeConfig(s) over c. Call it before serving.
func (l *LambdaService) SetEventInvokeConfigs(c EventInvokeConfigs) { l.eventConfigs = c }

// destinationRe is the pattern Lambda checks a destination against.
var destinationRe = regexp.MustCompile(`^$|^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$`)

type destinationWire struct {
	Destination *string `json:"Destination,omitempty"`
}

type eventConfigWire struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        *struct {
		OnSuccess *destinationWire `json:"OnSuccess,omitempty"`
		OnFailure *destinationWire `json:"OnFailure,omitempty"`
	} `json:"DestinationConfig,omitempty"`
}

// serveEventConfig serves the EventInvokeConfig operations:
// /2019-09-25/functions/{name}/event-invoke-config[/list].
func (l *LambdaService) serveEventConfig(w http.ResponseWriter, r *http.Request, call *Call, rest string) {
	seg := strings.Split(rest, "/")
	name, err := url.PathUnescape(seg[0])
	list := len(seg) == 3 && seg[2] == "list"
	op := ""
	switch {
	case err != nil || seg[0] == "" || len(seg) < 2 || seg[1] != "event-invoke-config" || len(seg) > 3 || len(seg) == 3 && !list:
	case list && r.Method == http.MethodGet:
		op = "ListFunctionEventInvokeConfigs"
	case list:
	case r.Method == http.MethodPut:
		op = "PutFunctionEventInvokeConfig"
	case r.Method == http.MethodPost:
		op = "UpdateFunctionEventInvokeConfig"
	case r.Method == http.MethodGet:
		op = "GetFunctionEventInvokeConfig"
	case r.Method == http.MethodDelete:
		op = "DeleteFunctionEventInvokeConfig"
	}
	if op == "" || l.eventConfigs == nil {
		writeJSONError(w, call.RequestID, ErrUnknownOperation.Errorf("Cloudlet's Lambda API has no operation %s %s.", r.Method, r.URL.Path))
		return
	}
	cfg, qualifier, ok := l.target(w, r, call, op, name)
	if !ok {
		return
	}
	arn := l.functionARN(cfg.Name) + ":$LATEST"
	if qualifier != "" {
		arn = l.functionARN(cfg.Name) + ":" + qualifier
	}
	ctx := r.Context()
	switch op {
	case "GetFunctionEventInvokeConfig", "ListFunctionEventInvokeConfigs":
		c, ok, err := l.eventConfigs.EventInvokeConfig(ctx, cfg.Name)
		if err != nil {
			writeJSONError(w, call.RequestID, ErrServiceFailure.Errorf("%v", err))
			return
		}
		if op == "ListFunctionEventInvokeConfigs" {
			out := map[string]any{"FunctionEventInvokeConfigs": []any{}}
			if ok {
				out["FunctionEventInvokeConfigs"] = []any{eventConfigOut(arn, c)}
			}
			writeJSON(w, call, out)
			return
		}
		if !ok {
			writeJSONError(w, call.RequestID, ErrResourceNotFound.Errorf("The function %s doesn't have an EventInvokeConfig", arn))
			return
		}
		writeJSON(w, call, eventConfigOut(arn, c))
	case "DeleteFunctionEventInvokeConfig":
		err := l.eventConfigs.DeleteEventInvokeConfig(ctx, cfg.Name)
		switch {
		case errors.Is(err, async.ErrNoConfig):
			writeJSONError(w, call.RequestID, ErrResourceNotFound.Errorf("The function %s doesn't have an EventInvokeConfig", arn))
		case err != nil:
			writeJSONError(w, call.RequestID, ErrServiceFailure.Errorf("%v", err))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	default:
		var in eventConfigWire
		if len(call.Body) > 0 {
			if err := json.Unmarshal(call.Body, &in); err != nil {
				writeJSONError(w, call.RequestID, ErrInvalidRequestContent.Errorf("Could not parse request body into json: %v", err))
				return
			}
		}
		c, e := eventConfigIn(in)
		if e != nil {
			writeJSONError(w, call.RequestID, e)
			return
		}
		c, err := l.eventConfigs.PutEventInvokeConfig(ctx, cfg.Name, c, op == "UpdateFunctionEventInvokeConfig")
		if errors.Is(err, async.ErrNoConfig) {
			writeJSONError(w, call.RequestID, ErrResourceNotFound.Errorf("The function %s doesn't have an EventInvokeConfig", arn))
			return
		}
		if err != nil {
			writeJSONError(w, call.RequestID, ErrServiceFailure.Errorf("%v", err))
			return
		}
		writeJSON(w, call, eventConfigOut(arn, c))
	}
}

// eventConfigIn checks a Put or Update body as Lambda does.
func eventConfigIn(in eventConfigWire) (async.Config, *Error) {
	var c async.Config
	var problems []string
	if n := in.MaximumRetryAttempts; n != nil {
		if *n < 0 {
			problems = append(problems, fmt.Sprintf("Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0", *n))
		} else if *n > 2 {
			problems = append(problems, fmt.Sprintf("Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2", *n))
		}
		c.MaxRetries = n
	}
	if n := in.MaximumEventAgeInSeconds; n != nil {
		if *n < 60 {
			problems = append(problems, fmt.Sprintf("Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60", *n))
		} else if *n > 21600 {
			problems = append(problems, fmt.Sprintf("Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600", *n))
		}
		c.MaxAgeSeconds = n
	}
	if dc := in.DestinationConfig; dc != nil {
		for _, d := range []struct {
			w     *destinationWire
			slot  *string
			clear *bool
			path  string
		}{{dc.OnSuccess, &c.OnSuccess, &c.ClearOnSuccess, "onSuccess"}, {dc.OnFailure, &c.OnFailure, &c.ClearOnFailure, "onFailure"}} {
			if d.w == nil {
				continue
			}
			if d.w.Destination == nil || *d.w.Destination == "" {
				*d.clear = true // given empty: an update removes it
				continue
			}
			arn := *d.w.Destination
			if len(arn) > 350 || !destinationRe.MatchString(arn) {
				problems = append(problems, "Value '"+arn+"' at 'destinationConfig."+d.path+".destination' failed to satisfy constraint: Member must satisfy regular expression pattern: "+`^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`)
				continue
			}
			*d.slot = arn
		}
	}
	if len(problems) > 0 {
		return c, validationErrors(problems)
	}
	for _, arn := range []string{c.OnSuccess, c.OnFailure} {
		if arn == "" {
			continue
		}
		switch strings.Split(arn, ":")[2] {
		case "sqs", "lambda", "sns", "events", "s3":
		default:
			return c, ErrInvalidParameterValue.Errorf("The destination ARN %s is invalid.", arn)
		}
	}
	return c, nil
}

// eventConfigOut is a FunctionEventInvokeConfig as Lambda answers it.
func eventConfigOut(arn string, c async.Config) map[string]any {
	out := map[string]any{
		"FunctionArn":  arn,
		"LastModified": float64(c.Modified.UnixMilli()) / 1000,
	}
	if c.MaxRetries != nil {
		out["MaximumRetryAttempts"] = *c.MaxRetries
	}
	if c.MaxAgeSeconds != nil {
		out["MaximumEventAgeInSeconds"] = *c.MaxAgeSeconds
	}
	dest := func(arn string) map[string]any {
		if arn == "" {
			return map[string]any{}
		}
		return map[string]any{"Destination": arn}
	}
	out["DestinationConfig"] = map[string]any{"OnSuccess": dest(c.OnSuccess), "OnFailure": dest(c.OnFailure)}
	return out
}
