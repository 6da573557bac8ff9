package awsapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestErrorTable(t *testing.T) {
	for c := ErrInternalFailure; c <= ErrPreconditionFailed; c++ {
		info, ok := errorTable[c]
		if !ok {
			t.Errorf("ErrorCode %d has no row in errorTable", c)
			continue
		}
		if info.code == "" || info.message == "" || (info.typ != "User" && info.typ != "Service") ||
			info.status < 400 || info.status > 599 || http.StatusText(info.status) == "" {
			t.Errorf("ErrorCode %d: bad row %+v", c, info)
		}
	}
	if len(errorTable) != int(ErrPreconditionFailed) {
		t.Errorf("errorTable has %d rows for %d codes", len(errorTable), ErrPreconditionFailed)
	}

	for _, tc := range []struct {
		code   ErrorCode
		wire   string
		status int
	}{
		{ErrMissingAuthenticationToken, "MissingAuthenticationTokenException", 403},
		{ErrExpiredToken, "ExpiredTokenException", 403},
		{ErrAccessDenied, "AccessDeniedException", 403},
		{ErrPreconditionFailed, "PreconditionFailedException", 412},
		{ErrUnrecognizedClient, "UnrecognizedClientException", 403},
		{ErrInvalidSignature, "InvalidSignatureException", 403},
		{ErrIncompleteSignature, "IncompleteSignatureException", 400},
		{ErrUnknownOperation, "UnknownOperationException", 404},
		{ErrResourceNotFound, "ResourceNotFoundException", 404},
		{ErrInvalidRequestContent, "InvalidRequestContentException", 400},
		{ErrRequestTooLarge, "RequestTooLargeException", 413},
		{ErrRequestEntityTooLarge, "RequestEntityTooLargeException", 413},
		{ErrTooManyRequests, "TooManyRequestsException", 429},
		{ErrServiceStopping, "ServiceException", 503},
		{ErrServiceFailure, "ServiceException", 500},
		{ErrValidation, "ValidationException", 400},
		{ErrInvalidParameterValue, "InvalidParameterValueException", 400},
		{ErrInternalFailure, "InternalFailure", 500},
	} {
		e := tc.code.Err()
		if e.Code != tc.wire || e.Status != tc.status || tc.code.Code() != tc.wire {
			t.Errorf("%d: got %s %d, want %s %d", tc.code, e.Code, e.Status, tc.wire, tc.status)
		}
	}
	if e := ErrorCode(0).Err(); e.Code != "InternalFailure" {
		t.Errorf("unknown code maps to %s", e.Code)
	}
	if e := ErrResourceNotFound.Errorf("Function not found: %s", "x"); e.Message != "Function not found: x" || e.Status != 404 {
		t.Errorf("Errorf: %+v", e)
	}
}

func TestWriteJSONError(t *testing.T) {
	rec := httptest.NewRecorder()
	e := ErrTooManyRequests.Err()
	e.Reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
	writeJSONError(rec, "req-1", e)
	want := `{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}`
	if rec.Code != 429 || rec.Body.String() != want || rec.Header().Get("x-amzn-ErrorType") != "TooManyRequestsException" ||
		rec.Header().Get("x-amzn-RequestId") != "req-1" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}
