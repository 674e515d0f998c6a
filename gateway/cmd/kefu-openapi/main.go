// Command kefu-openapi turns the OpenAPI 3 document gnostic's
// protoc-gen-openapi writes from the protos (every google.api.http route,
// comments as descriptions, enums as strings, proto field names) into the
// contract the gateway serves at /openapi.json, adding what the protos say
// in ways the generator does not read:
//
//   - operation ids as front ends call them (CreateOrder, not
//     OrderService_CreateOrder; a name two services share keeps its
//     service: Complaint_ExplainTimers), one tag per service;
//   - schema names without their package (Order, Money) unless two
//     packages share one (AftersaleEvidence, ComplaintEvidence);
//   - required: every field protovalidate requires (required, a minimum
//     length or count, an enum that may not be UNSPECIFIED) — not the path
//     parameters of the operation that carries the message as its body;
//   - readOnly: every field documented "output only" (and the fields of a
//     resource documented "every other field is output only" that are not
//     marked Input);
//   - one path per URL (/v1/products/{product_id} for Get and Update alike,
//     not {product.product_id});
//   - the error body every operation answers with ({"error": {code,
//     status, message, request_id, field_violations}}), the Idempotency-Key
//     request header of every command, If-Match on every command that
//     carries an etag and ETag on every answer that holds one;
//   - examples on the main operations (examples.json beside this file).
//
// Usage: kefu-openapi -in openapi.yaml -out kefu.openapi.json
package main

import (
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	validate "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// every REST service's descriptors, for the validation rules
	_ "github.com/kefu-suite/kefu/proto/gen/shop/aftersale/v1"
	_ "github.com/kefu-suite/kefu/proto/gen/shop/calendar/v1"
	_ "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	_ "github.com/kefu-suite/kefu/proto/gen/shop/complaint/v1"
	_ "github.com/kefu-suite/kefu/proto/gen/shop/conversation/v1"
	_ "github.com/kefu-suite/kefu/proto/gen/shop/insights/v1"
	_ "github.com/kefu-suite/kefu/proto/gen/shop/logistics/v1"
	_ "github.com/kefu-suite/kefu/proto/gen/shop/order/v1"
)

//go:embed examples.json
var examplesJSON []byte

type obj = map[string]any

func main() {
	in := flag.String("in", "", "gnostic's openapi.yaml")
	out := flag.String("out", "", "the contract to write (JSON)")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "kefu-openapi:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc obj
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	var examples map[string]obj
	if err := json.Unmarshal(examplesJSON, &examples); err != nil {
		return fmt.Errorf("examples.json: %w", err)
	}
	if err := Contract(doc, examples); err != nil {
		return err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

var methods = []string{"get", "put", "post", "delete", "patch"}

// Contract rewrites doc (gnostic's output, decoded) in place.
func Contract(doc obj, examples map[string]obj) error {
	doc["info"] = obj{
		"title":   "kefu REST API",
		"version": "v1",
		"description": "The customer-service backend of an e-commerce shop: catalogue, chats, orders, " +
			"after-sale, complaints, parcels, freeze windows, insights. Send `Authorization: Bearer <JWT>`; " +
			"every error has one shape (Error); commands take an `Idempotency-Key`; resources with an " +
			"`etag` take it back in `If-Match` (or the body) and a stale one is 409 ABORTED. JSON uses proto " +
			"field names (snake_case); enums are their string names; int64 values (all money, in fen 分) are " +
			"JSON strings; timestamps are RFC 3339 UTC.",
	}
	doc["servers"] = []any{obj{"url": "/", "description": "this gateway"}}
	doc["security"] = []any{obj{"bearer": []any{}}, obj{}} // a token, or none where anonymous calls are allowed
	comps := doc["components"].(obj)
	schemas := comps["schemas"].(obj)

	// one tag per service, named as the operations are tagged (Order, not OrderService)
	if tags, ok := doc["tags"].([]any); ok {
		for _, tv := range tags {
			if t, ok := tv.(obj); ok {
				if n, ok := t["name"].(string); ok {
					t["name"] = strings.TrimSuffix(n, "Service")
				}
			}
		}
	}
	renames := schemaNames(schemas)
	readOnlyAndRequired(schemas)
	paths, err := mergePaths(doc["paths"].(obj))
	if err != nil {
		return err
	}
	doc["paths"] = paths
	if err := operations(paths, schemas, examples); err != nil {
		return err
	}
	addErrorComponents(comps)
	// rename the schemas last: everything above speaks the full names
	renamed := obj{}
	for old, s := range schemas {
		n, ok := renames[old]
		if !ok {
			n = last(old) // the gateway's own (Error, ErrorDetail, FieldViolation)
		}
		renamed[n] = s
	}
	comps["schemas"] = renamed
	rewriteRefs(doc, renames)
	return nil
}

// schemaNames maps "shop.order.v1.Order" to "Order", or to "OrderRefund"
// when another package has a Refund too.
func schemaNames(schemas obj) map[string]string {
	short := map[string][]string{}
	for full := range schemas {
		short[last(full)] = append(short[last(full)], full)
	}
	out := map[string]string{}
	for s, fulls := range short {
		for _, full := range fulls {
			if len(fulls) == 1 || !strings.HasPrefix(full, "shop.") {
				out[full] = s
				continue
			}
			pkg := strings.Split(full, ".")[1]
			out[full] = strings.ToUpper(pkg[:1]) + pkg[1:] + s
		}
	}
	// google.protobuf.Timestamp and friends keep a readable name
	for full, s := range out {
		if strings.HasPrefix(full, "google.") {
			out[full] = "Google" + s
		}
	}
	return out
}

func last(full string) string { return full[strings.LastIndexByte(full, '.')+1:] }

var (
	outputOnly = regexp.MustCompile(`(?i)\boutput[ -]only\b`)
	inputMark  = regexp.MustCompile(`(?i)^\s*input\b`)
	otherOut   = regexp.MustCompile(`(?i)every other field is output only`)
)

// readOnlyAndRequired marks each schema's properties from the proto: the
// documented output-only ones readOnly, the ones protovalidate requires
// required.
func readOnlyAndRequired(schemas obj) {
	for full, v := range schemas {
		s := v.(obj)
		props, _ := s["properties"].(obj)
		desc, _ := s["description"].(string)
		allOthersOut := otherOut.MatchString(desc)
		for _, pv := range props {
			p := pv.(obj)
			d, _ := p["description"].(string)
			if (outputOnly.MatchString(d) || allOthersOut) && !inputMark.MatchString(d) {
				p["readOnly"] = true
			}
		}
		md, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(full))
		if err != nil {
			continue
		}
		m, ok := md.(protoreflect.MessageDescriptor)
		if !ok {
			continue
		}
		var req []string
		fields := m.Fields()
		for i := 0; i < fields.Len(); i++ {
			f := fields.Get(i)
			if p, ok := props[string(f.Name())].(obj); ok && p["readOnly"] == true {
				continue
			}
			if f.Name() == "request_id" {
				continue // the Idempotency-Key header may carry it instead
			}
			if requiredByRules(f) {
				req = append(req, string(f.Name()))
			}
		}
		if len(req) > 0 {
			sort.Strings(req)
			s["required"] = toAny(req)
		}
	}
}

// requiredByRules: protovalidate refuses the field's zero value.
func requiredByRules(f protoreflect.FieldDescriptor) bool {
	opts := f.Options()
	if opts == nil || !proto.HasExtension(opts, validate.E_Field) {
		return false
	}
	r, _ := proto.GetExtension(opts, validate.E_Field).(*validate.FieldRules)
	if r == nil || r.GetIgnore() == validate.Ignore_IGNORE_IF_ZERO_VALUE || r.GetIgnore() == validate.Ignore_IGNORE_ALWAYS {
		return false
	}
	if r.GetRequired() {
		return true
	}
	switch {
	case r.GetString() != nil:
		sr := r.GetString()
		if sr.GetMinLen() > 0 || sr.GetMinBytes() > 0 || sr.GetLen() > 0 {
			return true
		}
		if sr.HasPattern() {
			re, err := regexp.Compile(sr.GetPattern())
			return err == nil && !re.MatchString("") // the pattern refuses an empty value
		}
		return false
	case r.GetBytes() != nil:
		return r.GetBytes().GetMinLen() > 0
	case r.GetRepeated() != nil:
		return r.GetRepeated().GetMinItems() > 0
	case r.GetMap() != nil:
		return r.GetMap().GetMinPairs() > 0
	case r.GetEnum() != nil:
		for _, v := range r.GetEnum().GetNotIn() {
			if v == 0 {
				return true
			}
		}
		if in := r.GetEnum().GetIn(); len(in) > 0 {
			for _, v := range in {
				if v == 0 {
					return false
				}
			}
			return true
		}
	case r.GetInt32() != nil:
		return r.GetInt32().GetGt() >= 0 && r.GetInt32().HasGt() || r.GetInt32().GetGte() > 0 && r.GetInt32().HasGte()
	case r.GetInt64() != nil:
		return r.GetInt64().GetGt() >= 0 && r.GetInt64().HasGt() || r.GetInt64().GetGte() > 0 && r.GetInt64().HasGte()
	}
	return false
}

var nested = regexp.MustCompile(`\{([a-z_]+)\.([a-z_]+)\}`)

// mergePaths turns /v1/products/{product.product_id} into
// /v1/products/{product_id} and merges it with the path item already there.
func mergePaths(paths obj) (obj, error) {
	out := obj{}
	keys := sortedKeys(paths)
	for _, p := range keys {
		item := paths[p].(obj)
		np := nested.ReplaceAllString(p, "{$2}")
		if np != p {
			for _, m := range methods {
				op, ok := item[m].(obj)
				if !ok {
					continue
				}
				params, _ := op["parameters"].([]any)
				for _, pv := range params {
					prm := pv.(obj)
					if prm["in"] == "path" {
						if n, _ := prm["name"].(string); strings.Contains(n, ".") {
							prm["name"] = n[strings.IndexByte(n, '.')+1:]
						}
					}
				}
			}
		}
		have, ok := out[np].(obj)
		if !ok {
			out[np] = item
			continue
		}
		for m, op := range item {
			if _, dup := have[m]; dup {
				return nil, fmt.Errorf("%s %s is defined twice", strings.ToUpper(m), np)
			}
			have[m] = op
		}
	}
	return out, nil
}

// operations renames operation ids and tags, and declares the headers,
// errors and examples of every operation.
func operations(paths, schemas obj, examples map[string]obj) error {
	count := map[string]int{}
	for _, p := range paths {
		for _, m := range methods {
			if op, ok := p.(obj)[m].(obj); ok {
				_, method, _ := strings.Cut(op["operationId"].(string), "_")
				count[method]++
			}
		}
	}
	used := map[string]bool{}
	services := servicesByName()
	for _, path := range sortedKeys(paths) {
		item := paths[path].(obj)
		for _, m := range methods {
			op, ok := item[m].(obj)
			if !ok {
				continue
			}
			service, method, _ := strings.Cut(op["operationId"].(string), "_")
			id := method
			if count[method] > 1 {
				id = strings.TrimSuffix(service, "Service") + "_" + method
			}
			if used[id] {
				return fmt.Errorf("operation id %s twice", id)
			}
			used[id] = true
			op["operationId"] = id
			op["tags"] = []any{strings.TrimSuffix(service, "Service")}

			pathParams := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, pv := range params {
				if prm := pv.(obj); prm["in"] == "path" {
					pathParams[prm["name"].(string)] = true
					prm["required"] = true
				}
			}
			if m != "get" && takesRequestID(services, service, method) {
				params = append(params, obj{"$ref": "#/components/parameters/IdempotencyKey"})
			}
			// the body's message: its path fields come from the URL
			if rb, ok := op["requestBody"].(obj); ok {
				if ref := refOf(rb); ref != "" {
					if s, ok := schemas[ref].(obj); ok && len(pathParams) > 0 {
						dropRequired(s, pathParams)
					}
					if hasEtag(schemas, ref, 2) && len(pathParams) > 0 {
						params = append(params, obj{"$ref": "#/components/parameters/IfMatch"})
					}
				}
			} else if m != "get" && len(pathParams) > 0 && queryEtag(params) {
				params = append(params, obj{"$ref": "#/components/parameters/IfMatch"})
			}
			if len(params) > 0 {
				op["parameters"] = params
			} else {
				delete(op, "parameters")
			}

			responses, _ := op["responses"].(obj)
			if responses == nil {
				responses = obj{}
				op["responses"] = responses
			}
			if ok200, ok := responses["200"].(obj); ok {
				// as deep as the gateway's etagHeader looks: the answer or a message it holds
				if ref := refOf(ok200); ref != "" && hasEtag(schemas, ref, 1) {
					ok200["headers"] = obj{"ETag": obj{"$ref": "#/components/headers/ETag"}}
				}
				if ex, ok := examples[id]["response"]; ok {
					setExample(ok200, ex)
				}
			}
			for _, code := range errorCodes(m, len(pathParams) > 0) {
				responses[code] = obj{"$ref": "#/components/responses/Error" + code}
			}
			responses["default"] = obj{"$ref": "#/components/responses/Error"}
			if ex, ok := examples[id]["request"]; ok {
				if rb, ok := op["requestBody"].(obj); ok {
					setExample(rb, ex)
				}
			}
			if s, ok := examples[id]["summary"].(string); ok {
				op["summary"] = s
			} else if d, ok := op["description"].(string); ok {
				op["summary"] = summaryOf(d)
			}
		}
	}
	return nil
}

// summaryOf is a description's first sentence, for the operation lists of
// API browsers (long ones cut at a word).
func summaryOf(d string) string {
	d = strings.Join(strings.Fields(d), " ")
	if i := strings.Index(d, ". "); i > 0 {
		d = d[:i]
	}
	d = strings.TrimRight(d, ".,:; ")
	if r := []rune(d); len(r) > 100 {
		cut := string(r[:100])
		if i := strings.LastIndexByte(cut, ' '); i > 40 {
			cut = cut[:i]
		}
		d = strings.TrimRight(cut, ",;:(") + " …"
	}
	return d
}

// takesRequestID: the RPC's request has a request_id, which the gateway
// fills from the Idempotency-Key header (elsewhere the header means nothing).
func takesRequestID(services map[string]protoreflect.ServiceDescriptor, service, method string) bool {
	sd, ok := services[service]
	if !ok {
		return false
	}
	m := sd.Methods().ByName(protoreflect.Name(method))
	return m != nil && m.Input().Fields().ByName("request_id") != nil
}

// servicesByName are the registered services by their short name
// ("OrderService"), as gnostic's operation ids name them.
func servicesByName() map[string]protoreflect.ServiceDescriptor {
	out := map[string]protoreflect.ServiceDescriptor{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			out[string(sd.Name())] = sd
		}
		return true
	})
	return out
}

func errorCodes(method string, hasPath bool) []string {
	out := []string{"400", "401", "403"}
	if hasPath {
		out = append(out, "404")
	}
	if method != "get" {
		out = append(out, "409")
	}
	return append(out, "503")
}

func setExample(container obj, ex any) {
	content, _ := container["content"].(obj)
	if mt, ok := content["application/json"].(obj); ok {
		mt["example"] = ex
	}
}

// refOf is the full schema name of a body or response's JSON content.
func refOf(container obj) string {
	content, _ := container["content"].(obj)
	mt, _ := content["application/json"].(obj)
	schema, _ := mt["schema"].(obj)
	ref, _ := schema["$ref"].(string)
	return strings.TrimPrefix(ref, "#/components/schemas/")
}

// hasEtag: the schema, or a message it holds directly (depth levels),
// has an etag property.
func hasEtag(schemas obj, name string, depth int) bool {
	s, ok := schemas[name].(obj)
	if !ok || depth < 0 {
		return false
	}
	props, _ := s["properties"].(obj)
	if _, ok := props["etag"]; ok {
		return true
	}
	for _, pv := range props {
		p := pv.(obj)
		if ref := propRef(p); ref != "" && hasEtag(schemas, ref, depth-1) {
			return true
		}
	}
	return false
}

func propRef(p obj) string {
	if r, ok := p["$ref"].(string); ok {
		return strings.TrimPrefix(r, "#/components/schemas/")
	}
	if all, ok := p["allOf"].([]any); ok && len(all) == 1 {
		if r, ok := all[0].(obj)["$ref"].(string); ok {
			return strings.TrimPrefix(r, "#/components/schemas/")
		}
	}
	return ""
}

func queryEtag(params []any) bool {
	for _, pv := range params {
		if prm, ok := pv.(obj); ok && prm["name"] == "etag" && prm["in"] == "query" {
			return true
		}
	}
	return false
}

func dropRequired(s obj, drop map[string]bool) {
	req, _ := s["required"].([]any)
	var keep []any
	for _, r := range req {
		if !drop[r.(string)] {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		delete(s, "required")
		return
	}
	s["required"] = keep
}

// addErrorComponents declares the one error body, the headers and the
// error responses the operations refer to.
func addErrorComponents(comps obj) {
	schemas := comps["schemas"].(obj)
	schemas["shop.gateway.FieldViolation"] = obj{
		"type": "object", "description": "One bad request field, by its documented (snake_case) path.",
		"required": toAny([]string{"field", "description"}),
		"properties": obj{
			"field":       obj{"type": "string", "description": "The field's path in the request, e.g. `lines[0].quantity`.", "example": "lines[0].quantity"},
			"rule":        obj{"type": "string", "description": "The rule it broke, e.g. `int32.gt` (stable; switch on it).", "example": "int32.gt"},
			"description": obj{"type": "string", "description": "What is wrong, in words for a person.", "example": "value must be greater than 0"},
		},
	}
	schemas["shop.gateway.ErrorDetail"] = obj{
		"type": "object", "required": toAny([]string{"code", "status", "message", "request_id"}),
		"properties": obj{
			"code": obj{"type": "integer", "format": "int32", "description": "The HTTP status.", "example": 400},
			"status": obj{"type": "string", "description": "The gRPC code name: stable, switch on it. FAILED_PRECONDITION (the state forbids it) and ABORTED (a stale etag) are both 409.",
				"enum": toAny([]string{"INVALID_ARGUMENT", "UNAUTHENTICATED", "PERMISSION_DENIED", "NOT_FOUND", "ALREADY_EXISTS", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "RESOURCE_EXHAUSTED", "CANCELLED", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNKNOWN", "METHOD_NOT_ALLOWED"})},
			"message":          obj{"type": "string", "description": "What went wrong, for a person.", "example": "invalid request: lines[0].quantity: value must be greater than 0"},
			"request_id":       obj{"type": "string", "description": "The X-Request-Id of the call (quote it when asking for help)."},
			"field_violations": obj{"type": "array", "items": obj{"$ref": "#/components/schemas/shop.gateway.FieldViolation"}},
		},
	}
	schemas["shop.gateway.Error"] = obj{
		"type": "object", "description": "The one shape of every error the API returns.",
		"required":   toAny([]string{"error"}),
		"properties": obj{"error": obj{"$ref": "#/components/schemas/shop.gateway.ErrorDetail"}},
	}
	errResp := func(desc string) obj {
		return obj{"description": desc, "content": obj{"application/json": obj{
			"schema": obj{"$ref": "#/components/schemas/shop.gateway.Error"}}}}
	}
	comps["responses"] = obj{
		"Error":    errResp("An error, in the one error shape."),
		"Error400": errResp("INVALID_ARGUMENT: a field is missing or wrong (field_violations names it)."),
		"Error401": errResp("UNAUTHENTICATED: no token where one is needed, or the token is invalid or expired."),
		"Error403": errResp("PERMISSION_DENIED: the caller may not do this (the message says what is missing)."),
		"Error404": errResp("NOT_FOUND: no such record, or not the caller's (the two answer alike)."),
		"Error409": errResp("FAILED_PRECONDITION: the record's state forbids it; ABORTED: the etag is stale (read it again); ALREADY_EXISTS."),
		"Error503": withRetryAfter(errResp("UNAVAILABLE: a backend is away; retry after Retry-After seconds with the same Idempotency-Key.")),
	}
	comps["parameters"] = obj{
		"IdempotencyKey": obj{"name": "Idempotency-Key", "in": "header", "required": false,
			"description": "Makes a command safe to retry: a retry with the same key answers the first result (the same key with another body is refused). Equivalent to `request_id`.",
			"schema":      obj{"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"}},
		"IfMatch": obj{"name": "If-Match", "in": "header", "required": false,
			"description": "The etag the change is based on (from the resource's ETag). A stale one is 409 ABORTED; the same as sending it in the body's `etag`.",
			"schema":      obj{"type": "string"}, "example": `"v7"`},
	}
	comps["headers"] = obj{
		"ETag": obj{"description": "The resource's version; send it back as If-Match (or `etag`) with a change.",
			"schema": obj{"type": "string"}, "example": `"v7"`},
	}
	comps["securitySchemes"] = obj{"bearer": obj{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
}

func withRetryAfter(r obj) obj {
	r["headers"] = obj{"Retry-After": obj{"description": "Seconds to wait.", "schema": obj{"type": "integer"}}}
	return r
}

// rewriteRefs renames every $ref after the schemas' renaming.
func rewriteRefs(v any, renames map[string]string) {
	switch x := v.(type) {
	case obj:
		for k, val := range x {
			if k == "$ref" {
				if s, ok := val.(string); ok && strings.HasPrefix(s, "#/components/schemas/") {
					full := strings.TrimPrefix(s, "#/components/schemas/")
					if n, ok := renames[full]; ok {
						x[k] = "#/components/schemas/" + n
					} else if strings.HasPrefix(full, "shop.gateway.") {
						x[k] = "#/components/schemas/" + last(full)
					}
				}
				continue
			}
			rewriteRefs(val, renames)
		}
	case []any:
		for _, e := range x {
			rewriteRefs(e, renames)
		}
	}
}

func sortedKeys(m obj) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
