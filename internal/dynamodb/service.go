package dynamodb

import (
	"encoding/json"
	"errors"
	"hash/crc32"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/store"
)

// targetPrefix starts the X-Amz-Target of every DynamoDB call.
const targetPrefix = "DynamoDB_20120810."

// ops is DynamoDB's operation table (the Service Authorization Reference's
// rows for the operations served).
var ops = iam.Register("dynamodb",
	iam.Operation{Name: "CreateTable", Action: "dynamodb:CreateTable", ResourceType: "table"},
	iam.Operation{Name: "DescribeTable", Action: "dynamodb:DescribeTable", ResourceType: "table"},
	iam.Operation{Name: "ListTables", Action: "dynamodb:ListTables", ResourceType: "*"},
	iam.Operation{Name: "DeleteTable", Action: "dynamodb:DeleteTable", ResourceType: "table"},
	iam.Operation{Name: "UpdateTimeToLive", Action: "dynamodb:UpdateTimeToLive", ResourceType: "table"},
	iam.Operation{Name: "DescribeTimeToLive", Action: "dynamodb:DescribeTimeToLive", ResourceType: "table"},
	iam.Operation{Name: "DescribeEndpoints", Action: "dynamodb:DescribeEndpoints", ResourceType: "*"},
	iam.Operation{Name: "UpdateTable", Action: "dynamodb:UpdateTable", ResourceType: "table"},
	iam.Operation{Name: "TagResource", Action: "dynamodb:TagResource", ResourceType: "table"},
	iam.Operation{Name: "UntagResource", Action: "dynamodb:UntagResource", ResourceType: "table"},
	iam.Operation{Name: "ListTagsOfResource", Action: "dynamodb:ListTagsOfResource", ResourceType: "table"},
	iam.Operation{Name: "PutItem", Action: "dynamodb:PutItem", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "GetItem", Action: "dynamodb:GetItem", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "UpdateItem", Action: "dynamodb:UpdateItem", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "DeleteItem", Action: "dynamodb:DeleteItem", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "ConditionCheckItem", Action: "dynamodb:ConditionCheckItem", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "Query", Action: "dynamodb:Query", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "Scan", Action: "dynamodb:Scan", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "BatchGetItem", Action: "dynamodb:BatchGetItem", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "PartiQLSelect", Action: "dynamodb:PartiQLSelect", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "PartiQLInsert", Action: "dynamodb:PartiQLInsert", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "PartiQLUpdate", Action: "dynamodb:PartiQLUpdate", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "PartiQLDelete", Action: "dynamodb:PartiQLDelete", ResourceType: "table", ConditionKeys: itemKeys},
	iam.Operation{Name: "BatchWriteItem", Action: "dynamodb:BatchWriteItem", ResourceType: "table", ConditionKeys: itemKeys},
)

// itemKeys are the condition keys item operations set.
var itemKeys = []string{"dynamodb:LeadingKeys", "dynamodb:Attributes", "dynamodb:Select", "dynamodb:ReturnValues"}

// Service serves the DynamoDB JSON API (x-amz-json-1.0) over the store.
type Service struct {
	st      *store.Store
	region  string
	account string
	log     *slog.Logger
	cache   tableCache

	changeMu sync.Mutex
	change   chan struct{} // closed at the next committed write (Changed)
}

// New returns the DynamoDB API over st; region and account make the ARNs.
func New(st *store.Store, region, account string, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{st: st, region: region, account: account, log: logger}
}

// ServeAWS implements awsapi.Service.
func (s *Service) ServeAWS(w http.ResponseWriter, r *http.Request, call *awsapi.Call) {
	target := r.Header.Get("X-Amz-Target")
	if op, ok := strings.CutPrefix(target, streamsPrefix); ok && r.Method == http.MethodPost {
		s.serveStreams(w, r, call, op)
		return
	}
	op, ok := strings.CutPrefix(target, targetPrefix)
	if r.Method != http.MethodPost || !ok {
		s.WriteError(w, call.RequestID, errUnknownOperation())
		return
	}
	var out any
	var e *awsapi.Error
	switch op {
	case "CreateTable":
		out, e = s.createTable(r, call)
	case "DescribeTable":
		out, e = s.describeTable(r, call)
	case "ListTables":
		out, e = s.listTables(r, call)
	case "DeleteTable":
		out, e = s.deleteTable(r, call)
	case "UpdateTimeToLive":
		out, e = s.updateTimeToLive(r, call)
	case "DescribeTimeToLive":
		out, e = s.describeTimeToLive(r, call)
	case "DescribeEndpoints":
		out, e = s.describeEndpoints(r, call)
	case "UpdateTable":
		out, e = s.updateTable(r, call)
	case "TagResource", "UntagResource":
		out, e = s.tagResource(r, call)
	case "ListTagsOfResource":
		out, e = s.listTagsOfResource(r, call)
	case "PutItem":
		out, e = s.putItem(r, call)
	case "GetItem":
		out, e = s.getItem(r, call)
	case "UpdateItem":
		out, e = s.updateItem(r, call)
	case "DeleteItem":
		out, e = s.deleteItem(r, call)
	case "Query":
		out, e = s.query(r, call)
	case "Scan":
		out, e = s.scan(r, call)
	case "BatchGetItem":
		out, e = s.batchGetItem(r, call)
	case "BatchWriteItem":
		out, e = s.batchWriteItem(r, call)
	case "TransactGetItems":
		out, e = s.transactGetItems(r, call)
	case "TransactWriteItems":
		out, e = s.transactWriteItems(r, call)
	case "ExecuteStatement":
		out, e = s.executeStatement(r, call)
	case "BatchExecuteStatement":
		out, e = s.batchExecuteStatement(r, call)
	default:
		e = errUnknownOperation()
	}
	s.answer(w, call, out, e)
}

// rawBody is an answer already in JSON.
type rawBody []byte

// answer writes an operation's result or error.
func (s *Service) answer(w http.ResponseWriter, call *awsapi.Call, out any, e *awsapi.Error) {
	if e != nil {
		s.WriteError(w, call.RequestID, e)
		return
	}
	if raw, ok := out.(rawBody); ok {
		writeBody(w, call.RequestID, http.StatusOK, raw)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.WriteError(w, call.RequestID, &awsapi.Error{Code: "InternalServerError", Status: 500, Message: "Internal server error"})
		return
	}
	writeBody(w, call.RequestID, http.StatusOK, b)
}

// decode reads the call's JSON body into v; a body that is not JSON is
// SerializationException, as DynamoDB answers.
func decode(call *awsapi.Call, v any) *awsapi.Error {
	body := call.Body
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var ve *valueError
		if errors.As(err, &ve) {
			return validation(ve.msg)
		}
		return &awsapi.Error{Code: "SerializationException", Status: 400, Message: "Start of structure or map found where not expected"}
	}
	return nil
}

func writeBody(w http.ResponseWriter, requestID string, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("x-amz-crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	if requestID != "" {
		h.Set("x-amzn-RequestId", requestID)
	}
	w.WriteHeader(status)
	w.Write(b)
}

// coral are the error codes DynamoDB gives in the com.amazon.coral
// namespaces rather than its own.
var coral = map[string]string{
	"ValidationException":                 "com.amazon.coral.validate#",
	"UnknownOperationException":           "com.amazon.coral.service#",
	"SerializationException":              "com.amazon.coral.service#",
	"UnrecognizedClientException":         "com.amazon.coral.service#",
	"InvalidSignatureException":           "com.amazon.coral.service#",
	"IncompleteSignatureException":        "com.amazon.coral.service#",
	"MissingAuthenticationTokenException": "com.amazon.coral.service#",
	"ExpiredTokenException":               "com.amazon.coral.service#",
	"AccessDeniedException":               "com.amazon.coral.service#",
	"RequestEntityTooLargeException":      "com.amazon.coral.service#",
	"InternalFailure":                     "com.amazon.coral.service#",
}

// WriteError implements awsapi.ErrorWriter: {"__type": ..., "message": ...}
// with DynamoDB's statuses (400 for the caller's errors, 500 for its own).
func (s *Service) WriteError(w http.ResponseWriter, requestID string, e *awsapi.Error) {
	ns, ok := coral[e.Code]
	if !ok {
		ns = "com.amazonaws.dynamodb.v20120810#"
	}
	status := http.StatusBadRequest
	if e.Status >= 500 {
		status = e.Status
	}
	if e.Code == "RequestEntityTooLargeException" {
		status = http.StatusRequestEntityTooLarge
	}
	body := map[string]any{"__type": ns + e.Code, "message": e.Message}
	for k, v := range e.Extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	w.Header().Set("x-amzn-ErrorType", e.Code)
	writeBody(w, requestID, status, b)
}

func errUnknownOperation() *awsapi.Error {
	return &awsapi.Error{Code: "UnknownOperationException", Status: 400,
		Message: "The operation is not served by Cloudlet's DynamoDB; the README's DynamoDB table lists what is"}
}

func validation(msg string) *awsapi.Error {
	return &awsapi.Error{Code: "ValidationException", Status: 400, Message: msg}
}
