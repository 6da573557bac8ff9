package awsapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// ErrorCode names one wire error. Its wire code, HTTP status and default
// message live in errorTable, the one place that says what a client sees.
type ErrorCode int

// The wire errors of the AWS front door and the services behind it.
const (
	ErrInternalFailure ErrorCode = iota + 1

	// Authentication (common to every service).
	ErrMissingAuthenticationToken
	ErrIncompleteSignature
	ErrInvalidSignature
	ErrUnrecognizedClient
	ErrExpiredToken

	// Authorization (internal/iam).
	ErrAccessDenied

	// Routing.
	ErrUnknownOperation
	ErrRequestEntityTooLarge

	// Lambda.
	ErrResourceNotFound
	ErrInvalidRequestContent
	ErrRequestTooLarge
	ErrTooManyRequests
	ErrServiceStopping
	ErrServiceFailure
	ErrValidation
	ErrInvalidParameterValue
	ErrPreconditionFailed
)

// errorInfo is one row of the table: what a client sees for a code.
type errorInfo struct {
	code    string // x-amzn-ErrorType and the SDK's error code
	status  int
	message string // default message
	typ     string // the "Type" field of Lambda errors: "User" or "Service"
}

// errorTable maps every ErrorCode to its wire shape. Messages are AWS's own
// where AWS has a fixed one.
var errorTable = map[ErrorCode]errorInfo{
	ErrInternalFailure: {"InternalFailure", http.StatusInternalServerError,
		"The request processing has failed because of an unknown error, exception or failure.", "Service"},

	ErrMissingAuthenticationToken: {"MissingAuthenticationTokenException", http.StatusForbidden,
		"Missing Authentication Token", "User"},
	ErrIncompleteSignature: {"IncompleteSignatureException", http.StatusBadRequest,
		"The request signature does not conform to AWS standards.", "User"},
	ErrInvalidSignature: {"InvalidSignatureException", http.StatusForbidden,
		"The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.", "User"},
	ErrUnrecognizedClient: {"UnrecognizedClientException", http.StatusForbidden,
		"The security token included in the request is invalid.", "User"},

	ErrExpiredToken: {"ExpiredTokenException", http.StatusForbidden,
		"The security token included in the request is expired", "User"},
	ErrAccessDenied: {"AccessDeniedException", http.StatusForbidden,
		"User is not authorized to perform this action.", "User"},

	ErrUnknownOperation: {"UnknownOperationException", http.StatusNotFound,
		"The action or operation requested is invalid. Verify that the action is typed correctly.", "User"},
	ErrRequestEntityTooLarge: {"RequestEntityTooLargeException", http.StatusRequestEntityTooLarge,
		"Request entity too large.", "User"},

	ErrResourceNotFound: {"ResourceNotFoundException", http.StatusNotFound,
		"The resource specified in the request does not exist.", "User"},
	ErrInvalidRequestContent: {"InvalidRequestContentException", http.StatusBadRequest,
		"Could not parse request body into json.", "User"},
	ErrRequestTooLarge: {"RequestTooLargeException", http.StatusRequestEntityTooLarge,
		"Request must be smaller than 6291456 bytes for the InvokeFunction operation", "User"},
	ErrTooManyRequests: {"TooManyRequestsException", http.StatusTooManyRequests,
		"Rate Exceeded.", "User"},
	// AWS answers ServiceException with 500; Cloudlet raises it only while
	// stopping, and 503 tells clients and load balancers to try elsewhere.
	ErrServiceStopping: {"ServiceException", http.StatusServiceUnavailable,
		"The Lambda service is stopping; retry the request.", "Service"},
	ErrServiceFailure: {"ServiceException", http.StatusInternalServerError,
		"The Lambda service encountered an internal error.", "Service"},
	ErrValidation: {"ValidationException", http.StatusBadRequest,
		"The input fails to satisfy the constraints specified by the service.", "User"},
	ErrInvalidParameterValue: {"InvalidParameterValueException", http.StatusBadRequest,
		"One of the parameters in the request is not valid.", "User"},
	ErrPreconditionFailed: {"PreconditionFailedException", http.StatusPreconditionFailed,
		"The RevisionId provided does not match the latest RevisionId for the Lambda function.", "User"},
}

// Error is a wire error: the code, status and message a client receives.
type Error struct {
	Code    string // wire code, e.g. "ResourceNotFoundException"
	Status  int
	Message string
	Type    string // "User" or "Service"
	// Reason is the Reason field of TooManyRequestsException.
	Reason string
	// Extra are more fields of the error's body, for the services whose
	// errors carry them (DynamoDB's Item, CancellationReasons).
	Extra map[string]any
}

func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// Err returns the wire error for c with its default message.
func (c ErrorCode) Err() *Error {
	info, ok := errorTable[c]
	if !ok {
		info = errorTable[ErrInternalFailure]
	}
	return &Error{Code: info.code, Status: info.status, Message: info.message, Type: info.typ}
}

// Errorf returns the wire error for c with a message of its own.
func (c ErrorCode) Errorf(format string, args ...any) *Error {
	e := c.Err()
	e.Message = fmt.Sprintf(format, args...)
	return e
}

// Code returns the wire code of c, e.g. "ResourceNotFoundException".
func (c ErrorCode) Code() string { return c.Err().Code }

// ErrorWriter is implemented by services whose protocol shapes errors
// differently from REST-JSON (S3's XML, DynamoDB's __type). The handler uses
// it for the errors it raises itself once it knows the service.
type ErrorWriter interface {
	WriteError(w http.ResponseWriter, requestID string, e *Error)
}

// writeJSONError writes e in the REST-JSON shape Lambda uses:
// {"Type":"User","message":"..."} with x-amzn-ErrorType and x-amzn-RequestId.
func writeJSONError(w http.ResponseWriter, requestID string, e *Error) {
	body := struct {
		Reason  string `json:"Reason,omitempty"`
		Type    string `json:"Type,omitempty"`
		Message string `json:"message"`
	}{e.Reason, e.Type, e.Message}
	b, err := json.Marshal(body)
	if err != nil { // cannot happen: strings only
		b = []byte(`{"message":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("x-amzn-ErrorType", e.Code)
	if requestID != "" {
		h.Set("x-amzn-RequestId", requestID)
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
