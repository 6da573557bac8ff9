package sqs

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// targetPrefix starts the X-Amz-Target of every SQS call in the JSON
// protocol.
const targetPrefix = "AmazonSQS."

// ops is SQS's operation table (the Service Authorization Reference's
// rows for the operations served).
var ops = iam.Register("sqs",
	iam.Operation{Name: "CreateQueue", Action: "sqs:CreateQueue", ResourceType: "queue"},
	iam.Operation{Name: "GetQueueUrl", Action: "sqs:GetQueueUrl", ResourceType: "queue"},
	iam.Operation{Name: "ListQueues", Action: "sqs:ListQueues", ResourceType: "*"},
	iam.Operation{Name: "GetQueueAttributes", Action: "sqs:GetQueueAttributes", ResourceType: "queue"},
	iam.Operation{Name: "SetQueueAttributes", Action: "sqs:SetQueueAttributes", ResourceType: "queue"},
	iam.Operation{Name: "DeleteQueue", Action: "sqs:DeleteQueue", ResourceType: "queue"},
	iam.Operation{Name: "PurgeQueue", Action: "sqs:PurgeQueue", ResourceType: "queue"},
	iam.Operation{Name: "SendMessage", Action: "sqs:SendMessage", ResourceType: "queue"},
	iam.Operation{Name: "ReceiveMessage", Action: "sqs:ReceiveMessage", ResourceType: "queue"},
	iam.Operation{Name: "DeleteMessage", Action: "sqs:DeleteMessage", ResourceType: "queue"},
	iam.Operation{Name: "ChangeMessageVisibility", Action: "sqs:ChangeMessageVisibility", ResourceType: "queue"},
	iam.Operation{Name: "ListDeadLetterSourceQueues", Action: "sqs:ListDeadLetterSourceQueues", ResourceType: "queue"},
	iam.Operation{Name: "TagQueue", Action: "sqs:TagQueue", ResourceType: "queue"},
	iam.Operation{Name: "UntagQueue", Action: "sqs:UntagQueue", ResourceType: "queue"},
	iam.Operation{Name: "ListQueueTags", Action: "sqs:ListQueueTags", ResourceType: "queue"},
	iam.Operation{Name: "StartMessageMoveTask", Action: "sqs:StartMessageMoveTask", ResourceType: "queue"},
	iam.Operation{Name: "ListMessageMoveTasks", Action: "sqs:ListMessageMoveTasks", ResourceType: "queue"},
	iam.Operation{Name: "CancelMessageMoveTask", Action: "sqs:CancelMessageMoveTask", ResourceType: "queue"},
)

// Service serves the SQS API (the JSON protocol) over the store.
type Service struct {
	st      *store.Store
	region  string
	account string
	log     *slog.Logger

	mu     sync.Mutex
	arrive chan struct{} // closed when messages become available (long polls wait on it)

	pol policies // the queues' Policy attributes (policy.go)

	attemptsMu sync.Mutex
	attempts   map[string]attemptRecord // FIFO receives by queue and ReceiveRequestAttemptId

	// message move tasks running (movetask.go)
	tasksMu   sync.Mutex
	closed    bool
	tasks     sync.WaitGroup
	tasksCtx  context.Context
	stopTasks context.CancelFunc
}

// New returns the SQS API over st; region and account make the ARNs.
func New(st *store.Store, region, account string, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Service{st: st, region: region, account: account, log: logger, tasksCtx: ctx, stopTasks: stop}
}

// arrived returns a channel closed the next time messages are committed.
func (s *Service) arrived() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.arrive == nil {
		s.arrive = make(chan struct{})
	}
	return s.arrive
}

func (s *Service) wake() {
	s.mu.Lock()
	if s.arrive != nil {
		close(s.arrive)
		s.arrive = nil
	}
	s.mu.Unlock()
}

// sqsError is an SQS error: its JSON __type, its Query-protocol code (the
// x-amzn-query-error header), status and message.
type sqsError struct {
	typ, query string
	status     int
	msg        string
}

func (e *sqsError) awsError() *awsapi.Error {
	return &awsapi.Error{Code: e.typ, Status: e.status, Message: e.msg, Extra: map[string]any{queryErrorKey: e.query}}
}

// queryErrorKey holds an error's Query-protocol code in awsapi.Error.Extra.
const queryErrorKey = "queryError"

// The errors SQS answers, by their JSON __type (and Query code).
func errNoQueue() *awsapi.Error {
	return (&sqsError{"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400, "The specified queue does not exist."}).awsError()
}

func invalidParameter(msg string) *awsapi.Error {
	return (&sqsError{"InvalidParameterValue", "InvalidParameterValue", 400, msg}).awsError()
}

func missingParameter(name string) *awsapi.Error {
	return (&sqsError{"MissingParameter", "MissingParameter", 400, "The request must contain the parameter " + name + "."}).awsError()
}

func invalidAttributeName(name string) *awsapi.Error {
	return (&sqsError{"InvalidAttributeName", "InvalidAttributeName", 400, "Unknown Attribute " + name + "."}).awsError()
}

func invalidAttributeValue(msg string) *awsapi.Error {
	return (&sqsError{"InvalidAttributeValue", "InvalidAttributeValue", 400, msg}).awsError()
}

func internalError(s *Service, what string, err error) *awsapi.Error {
	s.log.Error("sqs: "+what, "err", err)
	return (&sqsError{"InternalError", "InternalError", 500, "We encountered an internal error. Please try again."}).awsError()
}

// ServeAWS implements awsapi.Service: the JSON protocol, or the Query
// protocol (query.go).
func (s *Service) ServeAWS(w http.ResponseWriter, r *http.Request, call *awsapi.Call) {
	if isQuery(r) {
		s.serveQuery(w, r, call)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if r.Method != http.MethodPost || !ok {
		s.WriteError(w, call.RequestID, (&sqsError{"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400,
			"SQS requests are POSTs with X-Amz-Target: AmazonSQS.<operation> (JSON) or a form with Action=<operation> (Query)"}).awsError())
		return
	}
	out, e := s.dispatch(r, call, op)
	if e != nil {
		s.WriteError(w, call.RequestID, e)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.WriteError(w, call.RequestID, internalError(s, op, err))
		return
	}
	writeBody(w, call.RequestID, http.StatusOK, b)
}

// dispatch serves op with the call's JSON input.
func (s *Service) dispatch(r *http.Request, call *awsapi.Call, op string) (any, *awsapi.Error) {
	switch op {
	case "CreateQueue":
		return s.createQueue(r, call)
	case "GetQueueUrl":
		return s.getQueueURL(r, call)
	case "ListQueues":
		return s.listQueues(r, call)
	case "GetQueueAttributes":
		return s.getQueueAttributes(r, call)
	case "SetQueueAttributes":
		return s.setQueueAttributes(r, call)
	case "DeleteQueue":
		return s.deleteQueue(r, call)
	case "PurgeQueue":
		return s.purgeQueue(r, call)
	case "TagQueue", "UntagQueue":
		return s.tagQueue(r, call, op)
	case "ListQueueTags":
		return s.listQueueTags(r, call)
	case "ListDeadLetterSourceQueues":
		return s.listDeadLetterSourceQueues(r, call)
	case "SendMessage":
		return s.sendMessage(r, call)
	case "SendMessageBatch":
		return s.sendMessageBatch(r, call)
	case "ReceiveMessage":
		return s.receiveMessage(r, call)
	case "DeleteMessage":
		return s.deleteMessage(r, call)
	case "DeleteMessageBatch":
		return s.deleteMessageBatch(r, call)
	case "ChangeMessageVisibility":
		return s.changeMessageVisibility(r, call)
	case "ChangeMessageVisibilityBatch":
		return s.changeMessageVisibilityBatch(r, call)
	case "StartMessageMoveTask":
		return s.startMessageMoveTask(r, call)
	case "ListMessageMoveTasks":
		return s.listMessageMoveTasks(r, call)
	case "CancelMessageMoveTask":
		return s.cancelMessageMoveTask(r, call)
	}
	return nil, (&sqsError{"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400, "The operation " + op + " is not served by Cloudlet's SQS; the README lists what is"}).awsError()
}

func writeBody(w http.ResponseWriter, requestID string, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if requestID != "" {
		h.Set("x-amzn-RequestId", requestID)
	}
	w.WriteHeader(status)
	w.Write(b)
}

// coral are the codes SQS answers in the com.amazon.coral namespaces.
var coral = map[string]string{
	"SerializationException":              "com.amazon.coral.service#",
	"UnrecognizedClientException":         "com.amazon.coral.service#",
	"InvalidSignatureException":           "com.amazon.coral.service#",
	"IncompleteSignatureException":        "com.amazon.coral.service#",
	"MissingAuthenticationTokenException": "com.amazon.coral.service#",
	"ExpiredTokenException":               "com.amazon.coral.service#",
	"AccessDeniedException":               "com.amazon.coral.service#",
	"ValidationException":                 "com.amazon.coral.validate#",
}

// WriteError implements awsapi.ErrorWriter: the JSON protocol's
// {"__type": ..., "message": ...} with the Query protocol's code in
// x-amzn-query-error, as SQS answers.
func (s *Service) WriteError(w http.ResponseWriter, requestID string, e *awsapi.Error) {
	ns, ok := coral[e.Code]
	if !ok {
		ns = "com.amazonaws.sqs#"
	}
	query, _ := e.Extra[queryErrorKey].(string)
	if query == "" {
		query = strings.TrimSuffix(e.Code, "Exception")
	}
	fault := "Sender"
	status := http.StatusBadRequest
	if e.Status >= 500 {
		status, fault = e.Status, "Receiver"
	} else if e.Status == http.StatusForbidden || e.Code == "AccessDeniedException" {
		status = http.StatusForbidden
	}
	b, _ := json.Marshal(map[string]string{"__type": ns + e.Code, "message": e.Message})
	w.Header().Set("x-amzn-query-error", query+";"+fault)
	writeBody(w, requestID, status, b)
}

// decode reads the call's JSON body into v.
func decode(call *awsapi.Call, v any) *awsapi.Error {
	body := call.Body
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &awsapi.Error{Code: "SerializationException", Status: 400, Message: "Start of structure or map found where not expected"}
	}
	return nil
}
