package gateway

import (
	"errors"
	"net/http"
)

// Errors SetRoutes wraps; test them with errors.Is.
var (
	ErrInvalidRoute  = errors.New("invalid route")
	ErrRouteConflict = errors.New("conflicting routes")
	ErrInvalidConfig = errors.New("invalid gateway config")
)

// failure is an answer the gateway gives itself instead of the function's.
type failure int

const (
	failNone        failure = iota
	failNotFound            // no route
	failTooLarge            // request body or event over the Lambda limit
	failBadRequest          // the request body could not be read
	failThrottled           // lambda.ErrThrottled
	failIntegration         // function error, malformed response, unknown function, other invoke errors
	failTimeout             // the function timed out (Sandbox.Timedout)
	failUnavailable         // lambda.ErrStopped: the server is shutting down
	failHeaders             // request line and header values over MaxRequestHeaders
)

// wireError is how one failure looks on the wire for one kind of API.
type wireError struct {
	status    int
	body      string
	errorType string // x-amzn-ErrorType (REST only)
}

// The wire tables, one per kind of API. The REST integration-failure bodies
// carry a space after the colon, as AWS sends them.
var (
	restErrors = [...]wireError{
		// What API Gateway answers for a path or method no resource has.
		failNotFound:    {http.StatusForbidden, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"},
		failTooLarge:    {http.StatusRequestEntityTooLarge, `{"message":"Request Too Long"}`, ""},
		failBadRequest:  {http.StatusBadRequest, `{"message":"Bad Request"}`, ""},
		failThrottled:   {http.StatusTooManyRequests, `{"message":"Too Many Requests"}`, "TooManyRequestsException"},
		failIntegration: {http.StatusBadGateway, `{"message": "Internal server error"}`, "InternalServerErrorException"},
		failTimeout:     {http.StatusGatewayTimeout, `{"message": "Endpoint request timed out"}`, ""},
		failUnavailable: {http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`, ""},
		failHeaders:     {http.StatusRequestHeaderFieldsTooLarge, `{"message":"Request Header Fields Too Large"}`, ""},
	}
	httpAPIErrors = [...]wireError{
		failNotFound:    {http.StatusNotFound, `{"message":"Not Found"}`, ""},
		failTooLarge:    {http.StatusRequestEntityTooLarge, `{"message":"Request Too Long"}`, ""},
		failBadRequest:  {http.StatusBadRequest, `{"message":"Bad Request"}`, ""},
		failThrottled:   {http.StatusTooManyRequests, `{"message":"Too Many Requests"}`, ""},
		failIntegration: {http.StatusInternalServerError, `{"message":"Internal Server Error"}`, ""},
		failTimeout:     {http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`, ""},
		failUnavailable: {http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`, ""},
		failHeaders:     {http.StatusRequestHeaderFieldsTooLarge, `{"message":"Request Header Fields Too Large"}`, ""},
	}
)

// MaxRequestHeaders is API Gateway's quota on the total combined size of a
// request's line and header values, in bytes; MaxHeaderBytes what the HTTP
// server reads of headers at most before it refuses a request by itself.
const (
	MaxRequestHeaders = 10240
	MaxHeaderBytes    = 32 << 10
)

// headerSize is the combined size of the request line and header values,
// as API Gateway counts it against MaxRequestHeaders.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 2
	for _, vs := range r.Header {
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

func wireErrorFor(k Kind, f failure) wireError {
	if k == REST {
		return restErrors[f]
	}
	return httpAPIErrors[f]
}
