package schedule

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// This file serves the EventBridge Scheduler API (REST-JSON, signing name
// "scheduler") for schedules that invoke Lambda functions: CreateSchedule,
// GetSchedule, UpdateSchedule, DeleteSchedule and ListSchedules, in the
// default group. A schedule is kept in the store and runs in the Runner
// beside the deploy's; its ticks are fired as the deploy's are (once
// each, across restarts), each one checked against the schedule's role.

var ops = iam.Register("scheduler",
	iam.Operation{Name: "CreateSchedule", Action: "scheduler:CreateSchedule", ResourceType: "schedule"},
	iam.Operation{Name: "GetSchedule", Action: "scheduler:GetSchedule", ResourceType: "schedule"},
	iam.Operation{Name: "UpdateSchedule", Action: "scheduler:UpdateSchedule", ResourceType: "schedule"},
	iam.Operation{Name: "DeleteSchedule", Action: "scheduler:DeleteSchedule", ResourceType: "schedule"},
	iam.Operation{Name: "ListSchedules", Action: "scheduler:ListSchedules", ResourceType: "*"},
)

// apiSchedule is a schedule as the API keeps it.
type apiSchedule struct {
	Name                       string  `json:"Name"`
	GroupName                  string  `json:"GroupName"`
	ScheduleExpression         string  `json:"ScheduleExpression"`
	ScheduleExpressionTimezone string  `json:"ScheduleExpressionTimezone,omitempty"`
	State                      string  `json:"State"`
	Description                string  `json:"Description,omitempty"`
	ActionAfterCompletion      string  `json:"ActionAfterCompletion,omitempty"`
	FlexibleTimeWindow         *window `json:"FlexibleTimeWindow"`
	Target                     *target `json:"Target"`
	CreationDate               float64 `json:"CreationDate"`
	LastModificationDate       float64 `json:"LastModificationDate"`
}

type window struct {
	Mode                   string `json:"Mode"`
	MaximumWindowInMinutes *int   `json:"MaximumWindowInMinutes,omitempty"`
}

type target struct {
	Arn              string          `json:"Arn"`
	RoleArn          string          `json:"RoleArn"`
	Input            *string         `json:"Input,omitempty"`
	RetryPolicy      json.RawMessage `json:"RetryPolicy,omitempty"`
	DeadLetterConfig json.RawMessage `json:"DeadLetterConfig,omitempty"`
}

// API serves the Scheduler API over the runner's store.
type API struct {
	r        *Runner
	function func(nameOrARN string) (string, bool) // a function's name, if it exists
	reloadMu sync.Mutex                            // a reload reads the store and sets the runner in one step
}

// API returns the Scheduler API of r; function finds a target's function.
func (r *Runner) API(function func(nameOrARN string) (string, bool)) *API {
	return &API{r: r, function: function}
}

var scheduleNameRe = regexp.MustCompile(`^[0-9a-zA-Z_.-]{1,64}$`)

type apiError struct {
	code   string
	status int
	msg    string
}

func validation(msg string) *apiError   { return &apiError{"ValidationException", 400, msg} }
func notFound(msg string) *apiError     { return &apiError{"ResourceNotFoundException", 404, msg} }
func internal(err error) *apiError      { return &apiError{"InternalServerException", 500, err.Error()} }
func fromAWS(e *awsapi.Error) *apiError { return &apiError{e.Code, e.Status, e.Message} }

// WriteError implements awsapi.ErrorWriter: Scheduler's error shape.
func (a *API) WriteError(w http.ResponseWriter, requestID string, e *awsapi.Error) {
	writeError(w, requestID, fromAWS(e))
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	b, _ := json.Marshal(map[string]string{"Message": e.msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-ErrorType", e.code)
	h.Set("x-amzn-RequestId", requestID)
	w.WriteHeader(e.status)
	w.Write(b)
}

func (a *API) arn(group, name string) string {
	return "arn:aws:scheduler:" + a.r.region + ":" + a.r.account + ":schedule/" + group + "/" + name
}

// ServeAWS implements awsapi.Service.
func (a *API) ServeAWS(w http.ResponseWriter, r *http.Request, call *awsapi.Call) {
	out, e := a.serve(r, call)
	if e != nil {
		writeError(w, call.RequestID, e)
		return
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", call.RequestID)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func (a *API) serve(r *http.Request, call *awsapi.Call) (any, *apiError) {
	path := r.URL.EscapedPath()
	if path == "/schedules" || path == "/schedules/" {
		if r.Method != http.MethodGet {
			return nil, validation("Cloudlet's Scheduler API has no operation " + r.Method + " " + path)
		}
		if e := call.Authorize(ops.Op("ListSchedules"), "*", nil, nil); e != nil {
			return nil, fromAWS(e)
		}
		return a.list(r)
	}
	raw, ok := strings.CutPrefix(path, "/schedules/")
	name, err := url.PathUnescape(raw)
	if !ok || err != nil || strings.Contains(name, "/") {
		return nil, validation("Cloudlet's Scheduler API serves the schedule operations (/schedules/{Name}); schedule groups are not served")
	}
	op := map[string]string{http.MethodPost: "CreateSchedule", http.MethodGet: "GetSchedule", http.MethodPut: "UpdateSchedule", http.MethodDelete: "DeleteSchedule"}[r.Method]
	if op == "" {
		return nil, validation("Cloudlet's Scheduler API has no operation " + r.Method + " " + path)
	}
	var in apiSchedule
	group := r.URL.Query().Get("groupName")
	if op == "CreateSchedule" || op == "UpdateSchedule" {
		if err := json.Unmarshal(call.Body, &in); err != nil {
			return nil, validation("The request body is not valid JSON: " + err.Error())
		}
		var extra map[string]json.RawMessage
		json.Unmarshal(call.Body, &extra)
		for _, k := range []string{"StartDate", "EndDate", "KmsKeyArn"} {
			if _, ok := extra[k]; ok {
				return nil, validation(k + " is not supported by Cloudlet's Scheduler yet")
			}
		}
		group = in.GroupName
	}
	if group == "" {
		group = "default"
	}
	if !scheduleNameRe.MatchString(name) {
		return nil, validation("1 validation error detected: Value '" + name + "' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$")
	}
	if e := call.Authorize(ops.Op(op), a.arn(group, name), nil, nil); e != nil {
		return nil, fromAWS(e)
	}
	if group != "default" {
		return nil, notFound("Schedule group " + group + " does not exist.")
	}
	switch op {
	case "GetSchedule":
		s, err := a.load(r.Context(), group, name)
		if err != nil {
			return nil, internal(err)
		}
		if s == nil {
			return nil, notFound("Schedule " + name + " does not exist.")
		}
		return a.out(s), nil
	case "DeleteSchedule":
		n, err := a.delete(r.Context(), group, name)
		if err != nil {
			return nil, internal(err)
		}
		if n == 0 {
			return nil, notFound("Schedule " + name + " does not exist.")
		}
		return map[string]any{}, a.reload(r.Context())
	}
	in.Name, in.GroupName = name, group
	if e := a.check(&in); e != nil {
		return nil, e
	}
	now := float64(time.Now().UnixMilli()) / 1000
	var e *apiError
	err = a.r.st.Update(r.Context(), func(tx *store.Tx) error {
		e = nil
		have, err := loadAPITx(tx, group, name)
		if err != nil {
			return err
		}
		switch {
		case op == "CreateSchedule" && have != nil:
			e = &apiError{"ConflictException", 409, "Schedule " + name + " already exists."}
			return nil
		case op == "UpdateSchedule" && have == nil:
			e = notFound("Schedule " + name + " does not exist.")
			return nil
		case have != nil:
			in.CreationDate = have.CreationDate
			// a changed expression starts its ticks afresh
			if _, err := tx.Exec(`DELETE FROM schedules WHERE id = ?`, apiID(group, name)); err != nil {
				return err
			}
		default:
			in.CreationDate = now
		}
		in.LastModificationDate = now
		doc, _ := json.Marshal(in)
		_, err = tx.Exec(`INSERT INTO scheduler_schedules (grp, name, doc) VALUES (?, ?, ?)
			ON CONFLICT (grp, name) DO UPDATE SET doc = excluded.doc`, group, name, string(doc))
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	if e != nil {
		return nil, e
	}
	if e := a.reload(r.Context()); e != nil {
		return nil, e
	}
	return map[string]string{"ScheduleArn": a.arn(group, name)}, nil
}

// check validates a Create or Update as Scheduler does, for Lambda targets.
func (a *API) check(in *apiSchedule) *apiError {
	if in.ScheduleExpression == "" {
		return validation("1 validation error detected: Value null at 'scheduleExpression' failed to satisfy constraint: Member must not be null")
	}
	if _, err := Parse(in.ScheduleExpression); err != nil {
		return validation("Invalid Schedule Expression " + in.ScheduleExpression + ".")
	}
	if tz := in.ScheduleExpressionTimezone; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			return validation("Invalid ScheduleExpressionTimezone " + tz + ".")
		}
	}
	if in.FlexibleTimeWindow == nil || in.FlexibleTimeWindow.Mode != "OFF" && in.FlexibleTimeWindow.Mode != "FLEXIBLE" {
		return validation("1 validation error detected: Value at 'flexibleTimeWindow.mode' failed to satisfy constraint: Member must satisfy enum value set: [OFF, FLEXIBLE]")
	}
	switch in.State {
	case "":
		in.State = "ENABLED"
	case "ENABLED", "DISABLED":
	default:
		return validation("1 validation error detected: Value '" + in.State + "' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]")
	}
	switch in.ActionAfterCompletion {
	case "", "NONE", "DELETE":
	default:
		return validation("1 validation error detected: Value '" + in.ActionAfterCompletion + "' at 'actionAfterCompletion' failed to satisfy constraint: Member must satisfy enum value set: [NONE, DELETE]")
	}
	t := in.Target
	if t == nil || t.Arn == "" || t.RoleArn == "" {
		return validation("1 validation error detected: Target with Arn and RoleArn is required")
	}
	if !strings.HasPrefix(t.Arn, "arn:aws:lambda:") {
		return validation("Cloudlet's Scheduler invokes Lambda functions only; the target " + t.Arn + " is not one")
	}
	if _, ok := a.function(t.Arn); !ok {
		return validation("The target " + t.Arn + " does not exist.")
	}
	if !strings.HasPrefix(t.RoleArn, "arn:aws:iam::") || !strings.Contains(t.RoleArn, ":role/") {
		return validation("The RoleArn " + t.RoleArn + " is not a role's ARN.")
	}
	if t.Input != nil && !json.Valid([]byte(*t.Input)) {
		return validation("The target's Input must be JSON for a Lambda target.")
	}
	return nil
}

func (a *API) out(s *apiSchedule) map[string]any {
	doc, _ := json.Marshal(s)
	var m map[string]any
	json.Unmarshal(doc, &m)
	m["Arn"] = a.arn(s.GroupName, s.Name)
	if m["ActionAfterCompletion"] == nil {
		m["ActionAfterCompletion"] = "NONE"
	}
	return m
}

func apiID(group, name string) string { return "scheduler/" + group + "/" + name }

func loadAPITx(tx *store.Tx, group, name string) (*apiSchedule, error) {
	var doc string
	err := tx.QueryRow(`SELECT doc FROM scheduler_schedules WHERE grp = ? AND name = ?`, group, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s apiSchedule
	return &s, json.Unmarshal([]byte(doc), &s)
}

func (a *API) load(ctx context.Context, group, name string) (s *apiSchedule, err error) {
	err = a.r.st.View(ctx, func(tx *store.Tx) error {
		s, err = loadAPITx(tx, group, name)
		return err
	})
	return s, err
}

func (a *API) delete(ctx context.Context, group, name string) (n int64, err error) {
	err = a.r.st.Update(ctx, func(tx *store.Tx) error {
		if n, err = tx.Exec(`DELETE FROM scheduler_schedules WHERE grp = ? AND name = ?`, group, name); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM schedules WHERE id = ?`, apiID(group, name))
		return err
	})
	return n, err
}

// deleteVersion deletes the schedule if it is still the version that
// fired (an update since made it another schedule).
func (a *API) deleteVersion(ctx context.Context, group, name string, version float64) (n int64, err error) {
	err = a.r.st.Update(ctx, func(tx *store.Tx) error {
		n = 0
		s, err := loadAPITx(tx, group, name)
		if err != nil || s == nil || s.LastModificationDate != version {
			return err
		}
		if n, err = tx.Exec(`DELETE FROM scheduler_schedules WHERE grp = ? AND name = ?`, group, name); err != nil {
			return err
		}
		_, err = tx.Exec(`DELETE FROM schedules WHERE id = ?`, apiID(group, name))
		return err
	})
	return n, err
}

func (a *API) all(ctx context.Context) (out []*apiSchedule, err error) {
	err = a.r.st.View(ctx, func(tx *store.Tx) error {
		out, err = store.QueryJSON[apiSchedule](tx, `SELECT doc FROM scheduler_schedules ORDER BY grp, name`)
		return err
	})
	return out, err
}

func (a *API) list(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	all, err := a.all(r.Context())
	if err != nil {
		return nil, internal(err)
	}
	limit := 100
	if m := q.Get("MaxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 100 {
			return nil, validation("1 validation error detected: Value '" + m + "' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100")
		}
		limit = n
	}
	var out []map[string]any
	for _, s := range all {
		if p := q.Get("NamePrefix"); p != "" && !strings.HasPrefix(s.Name, p) {
			continue
		}
		if st := q.Get("State"); st != "" && s.State != st {
			continue
		}
		if g := q.Get("ScheduleGroup"); g != "" && s.GroupName != g {
			continue
		}
		if tok := q.Get("NextToken"); tok != "" && s.Name <= tok {
			continue
		}
		out = append(out, map[string]any{"Arn": a.arn(s.GroupName, s.Name), "Name": s.Name, "GroupName": s.GroupName, "State": s.State,
			"CreationDate": s.CreationDate, "LastModificationDate": s.LastModificationDate, "Target": map[string]string{"Arn": s.Target.Arn}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["Name"].(string) < out[j]["Name"].(string) })
	res := map[string]any{"Schedules": []map[string]any{}}
	if len(out) > limit {
		res["NextToken"] = out[limit-1]["Name"]
		out = out[:limit]
	}
	if len(out) > 0 {
		res["Schedules"] = out
	}
	return res, nil
}

// Load runs the schedules the API keeps (at start, once the functions
// are deployed).
func (a *API) Load(ctx context.Context) error {
	if e := a.reload(ctx); e != nil {
		return errors.New(e.msg)
	}
	return nil
}

// reload hands the runner every schedule the API keeps.
func (a *API) reload(ctx context.Context) *apiError {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	all, err := a.all(ctx)
	if err != nil {
		return internal(err)
	}
	var ss []Schedule
	for _, s := range all {
		e, err := Parse(s.ScheduleExpression)
		if err != nil {
			continue
		}
		fn, _ := a.function(s.Target.Arn)
		if fn == "" { // the function is gone: its name from the ARN, and the invoke fails (logged)
			fn = s.Target.Arn[strings.LastIndexByte(s.Target.Arn, ':')+1:]
		}
		input := "{}"
		if s.Target.Input != nil {
			input = *s.Target.Input
		}
		var loc *time.Location
		if s.ScheduleExpressionTimezone != "" {
			loc, _ = time.LoadLocation(s.ScheduleExpressionTimezone)
		}
		sc := Schedule{ID: apiID(s.GroupName, s.Name), Function: fn, Rule: s.Name, Expr: e, Location: loc, Input: input,
			Enabled: s.State == "ENABLED", RoleARN: s.Target.RoleArn}
		if s.ActionAfterCompletion == "DELETE" && e.OneTime() {
			group, name, version := s.GroupName, s.Name, s.LastModificationDate
			sc.OnDone = func() {
				go func() { // not under the runner's lock the reload takes
					if n, err := a.deleteVersion(context.Background(), group, name, version); err == nil && n > 0 {
						a.reload(context.Background())
					}
				}()
			}
		}
		ss = append(ss, sc)
	}
	a.r.setAPI(ss)
	return nil
}
