package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/telemetry"
)

// Admin endpoints, used by the client commands. Every one is SigV4-signed
// with the admin credentials, like the AWS APIs.
const (
	AdminDeployPath = "/_cloudlet/admin/deploy" // POST {"dir": "...", "stage": "..."}
	AdminInfoPath   = "/_cloudlet/admin/info"   // GET
	AdminLogsPath   = "/_cloudlet/admin/logs"   // GET ?function=NAME&tail=N&follow=1
	AdminIAMPath    = "/_cloudlet/admin/iam"    // GET ?function=NAME
	// AdminSchedulePath fires a schedule now: POST {"schedule": "RULE or FUNCTION"}.
	AdminSchedulePath = "/_cloudlet/admin/schedule"
)

// IAMReport is what the iam call returns: the recorded decisions of role
// sessions (of one function, if asked) and the statements that would
// allow exactly what they did.
type IAMReport struct {
	Mode        string           `json:"mode"`
	Allowed     uint64           `json:"allowed"`
	Denied      uint64           `json:"denied"`
	SoftDenied  uint64           `json:"softDenied"`
	Decisions   []IAMDecision    `json:"decisions"`
	Suggestions []iam.Suggestion `json:"suggestions"`
}

// IAMDecision is one recorded decision.
type IAMDecision struct {
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Function  string    `json:"function,omitempty"`
	Action    string    `json:"action"`
	Resource  string    `json:"resource"`
	Allowed   bool      `json:"allowed"`
	Explicit  bool      `json:"explicitDeny,omitempty"`
	Soft      bool      `json:"soft,omitempty"`
	Statement string    `json:"statement,omitempty"` // where the deciding statement was written
}

// DeployRequest is the body of a deploy call.
type DeployRequest struct {
	Dir   string `json:"dir"`
	Stage string `json:"stage,omitempty"`
}

// Info is what the info call returns.
type Info struct {
	GatewayURL string      `json:"gatewayUrl"`
	APIURL     string      `json:"apiUrl"`
	Region     string      `json:"region"`
	DataDir    string      `json:"dataDir"`
	Instances  int         `json:"instances"`
	Deployment *Deployment `json:"deployment,omitempty"`
}

// adminService serves the admin endpoints as one more service behind the AWS
// front door: the client signs with the service name "cloudlet", so the
// front door verifies the signature before anything here runs.
type adminService struct {
	s   *Server
	mux *http.ServeMux
}

// LogsGoneHeader, on a logs answer, counts the older lines asked for that
// are no longer kept.
const LogsGoneHeader = "X-Cloudlet-Logs-Gone"

func (s *Server) newAdminService() *adminService {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+AdminDeployPath, s.handleDeploy)
	mux.HandleFunc("GET "+AdminInfoPath, s.handleInfo)
	mux.HandleFunc("GET "+AdminLogsPath, s.handleLogs)
	mux.HandleFunc("GET "+AdminIAMPath, s.handleIAM)
	mux.HandleFunc("POST "+AdminSchedulePath, s.handleSchedule)
	return &adminService{s: s, mux: mux}
}

func (a *adminService) ServeAWS(w http.ResponseWriter, r *http.Request, call *awsapi.Call) {
	if k, ok := a.s.keys.Lookup(call.AccessKeyID); !ok || !k.Admin {
		adminError(w, http.StatusForbidden, "AccessDeniedException", "only the admin credentials may call "+r.URL.Path)
		return
	}
	a.mux.ServeHTTP(w, r)
}

func adminError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (s *Server) handleDeploy(w http.ResponseWriter, r *http.Request) {
	var req DeployRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.Dir == "" {
		adminError(w, http.StatusBadRequest, "ValidationException", "body must be {\"dir\": \"<project folder>\"}")
		return
	}
	d, err := s.Deploy(req.Dir, req.Stage)
	if err != nil {
		adminError(w, http.StatusBadRequest, "DeployFailed", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(d)
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(Info{
		GatewayURL: s.GatewayURL(), APIURL: s.APIURL(), Region: s.opts.Region,
		DataDir: s.opts.DataDir, Instances: s.registry.Instances(), Deployment: s.Current(),
	})
}

// handleLogs streams a function's log lines as text: the last `tail` lines
// (default all kept), then, with follow=1, new lines as they come.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("function")
	if name == "" {
		adminError(w, http.StatusBadRequest, "ValidationException", "function is required")
		return
	}
	if _, ok := s.registry.Function(name); !ok {
		adminError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	var after uint64
	if t := q.Get("tail"); t != "" {
		n, err := strconv.ParseUint(t, 10, 64)
		if err != nil {
			adminError(w, http.StatusBadRequest, "ValidationException", "tail must be a number")
			return
		}
		if last := s.logs.Last(name); last > n {
			after = last - n
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	flusher, _ := w.(http.Flusher)
	write := func(ln telemetry.Line) error {
		_, err := io.WriteString(w, ln.Time.UTC().Format(time.RFC3339Nano)+"\t"+ln.Text+"\n")
		return err
	}
	lines, _, gone := s.logs.For(name).Since(after)
	if gone > 0 {
		// Lines that were rotated away, or outlived logRetentionInDays.
		w.Header().Set(LogsGoneHeader, strconv.FormatUint(gone, 10))
	}
	for _, ln := range lines {
		if write(ln) != nil {
			return
		}
		after = ln.Seq
	}
	if flusher != nil {
		flusher.Flush()
	}
	if q.Get("follow") != "1" {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.stopping: // the server stops: so does the stream
			cancel()
		case <-ctx.Done():
		}
	}()
	s.logs.Follow(ctx, name, after, func(ln telemetry.Line) error {
		if err := write(ln); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	})
}

func (s *Server) handleIAM(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.IAMReport(r.URL.Query().Get("function")))
}

// IAMReport returns the recorded decisions of role sessions (of function
// fn, or all when fn is empty) and the statements they suggest.
func (s *Server) IAMReport(fn string) *IAMReport {
	entries := s.authz.Audit(func(e *iam.Entry) bool { return fn == "" || e.Function == fn })
	rep := IAMReport{Mode: s.authz.Mode.String(), Decisions: []IAMDecision{}, Suggestions: iam.Suggest(entries)}
	rep.Allowed, rep.Denied, rep.SoftDenied = s.authz.Counts()
	for _, e := range entries {
		d := IAMDecision{Time: e.Time, Principal: e.Principal, Function: e.Function, Action: e.Action, Resource: e.Resource,
			Allowed: e.Decision.Allowed, Explicit: e.Decision.Explicit, Soft: e.Soft}
		if e.Decision.Statement != nil {
			d.Statement = e.Decision.Statement.Origin
		}
		rep.Decisions = append(rep.Decisions, d)
	}
	return &rep
}

// handleSchedule fires a schedule now (cloudlet invoke --schedule).
func (s *Server) handleSchedule(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Schedule string `json:"schedule"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Schedule == "" {
		adminError(w, http.StatusBadRequest, "ValidationException", "body must be {\"schedule\": \"<rule or function>\"}")
		return
	}
	ok, err := s.FireSchedule(req.Schedule)
	switch {
	case err != nil:
		adminError(w, http.StatusInternalServerError, "ServiceException", err.Error())
	case !ok:
		adminError(w, http.StatusNotFound, "ResourceNotFoundException", "no schedule is named "+req.Schedule+" (a rule name, or a function's full name)")
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"fired":true}`))
	}
}
