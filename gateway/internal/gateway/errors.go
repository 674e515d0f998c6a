package gateway

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorBody is the one JSON shape of every error the REST API returns:
//
//	{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "…",
//	           "request_id": "…", "field_violations": [{"field": "lines[0].quantity",
//	           "rule": "int32.gt", "description": "…"}]}}
//
// status is the gRPC code name (stable; switch on it), code the HTTP status.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the body of ErrorBody.
type ErrorDetail struct {
	Code            int              `json:"code"`
	Status          string           `json:"status"`
	Message         string           `json:"message"`
	RequestID       string           `json:"request_id,omitempty"`
	FieldViolations []FieldViolation `json:"field_violations,omitempty"`
}

// FieldViolation names a bad request field by its proto path and rule id.
type FieldViolation struct {
	Field       string `json:"field"`
	Rule        string `json:"rule,omitempty"`
	Description string `json:"description"`
}

// HTTPStatus maps a gRPC code onto the HTTP status front ends see. It
// differs from grpc-gateway's default in one place: an illegal state
// transition (FailedPrecondition) is 409 Conflict, like a stale etag
// (Aborted), not 400 — the request was well formed, the resource's state
// forbids it. The body's status tells the two apart.
func HTTPStatus(c codes.Code) int {
	if c == codes.FailedPrecondition {
		return http.StatusConflict
	}
	return runtime.HTTPStatusFromCode(c)
}

// RetryAfterSeconds is the Retry-After of every 503.
const RetryAfterSeconds = "2"

// clientMessage keeps the services' messages (written for clients) but
// never passes on what the transport or an unknown failure says.
func clientMessage(st *status.Status) string {
	switch st.Code() {
	case codes.Unavailable:
		return "the service is unavailable; retry later"
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return "internal error"
	case codes.DeadlineExceeded:
		return "the request took too long"
	}
	return st.Message()
}

// errorHandler renders a gRPC error (from a backend, or from the gateway's
// own decoding of the request) in the stable shape.
func (g *Gateway) errorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	code := HTTPStatus(st.Code())
	if v, ok := decodedViolation(st.Message()); ok && st.Code() == codes.InvalidArgument {
		// a body the decoder refused (decode.go), in the contract's words
		st, _ = status.New(codes.InvalidArgument, "invalid request: "+v.GetField()+": "+v.GetDescription()).
			WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{v}})
		if v.GetReason() == ruleTooLarge {
			code = http.StatusRequestEntityTooLarge
		}
	}
	body := ErrorBody{Error: ErrorDetail{
		Code:      code,
		Status:    codeName(st.Code()),
		Message:   clientMessage(st),
		RequestID: w.Header().Get(RequestIDHeader),
	}}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fv := FieldViolation{Field: v.GetField(), Rule: v.GetReason(), Description: v.GetDescription()}
				body.Error.FieldViolations = append(body.Error.FieldViolations, fv)
			}
		}
	}
	if st.Code() == codes.Internal || st.Code() == codes.Unknown {
		g.log.ErrorContext(ctx, "backend error", "path", r.URL.Path, "grpc_code", st.Code().String(), "error", st.Message())
	}
	if st.Code() == codes.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kefu"`)
	}
	if body.Error.Code == http.StatusServiceUnavailable {
		// An outage (a database, Temporal or a service down or saturated):
		// the same request may be sent again, with its Idempotency-Key.
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	writeJSON(w, body.Error.Code, body)
}

// routingErrorHandler: unknown path → 404, wrong method → 405, same shape.
func (g *Gateway) routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", r.Method+" is not allowed on "+r.URL.Path)
	case http.StatusBadRequest:
		g.errorHandler(ctx, mux, m, w, r, status.Error(codes.InvalidArgument, "bad request path"))
	default:
		writeError(w, http.StatusNotFound, codeName(codes.NotFound), "no route "+r.Method+" "+r.URL.Path)
	}
}

// writeError writes the stable shape for errors the gateway raises itself.
func writeError(w http.ResponseWriter, code int, statusName, message string) {
	writeJSON(w, code, ErrorBody{Error: ErrorDetail{
		Code: code, Status: statusName, Message: message, RequestID: w.Header().Get(RequestIDHeader),
	}})
}

// codeName is the canonical upper-case name ("INVALID_ARGUMENT").
func codeName(c codes.Code) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "UNKNOWN"
}

var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}
