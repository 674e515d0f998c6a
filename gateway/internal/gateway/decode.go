package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// contractJSON is the gateway's JSON marshaler with request-decoding errors
// in the contract's words: protojson says `proto: (line 1:31): invalid
// value for enum field kind: "X"`; a front end reads which field (by its
// documented snake_case path), what it must be, and for an enum every
// value it may take.
//
// Answers are written by contractEncoder (jsonenc.go) when enc is set.
type contractJSON struct {
	*runtime.JSONPb
	enc *contractEncoder
}

// Marshal writes v as JSONPb does, through contractEncoder when it can.
func (c contractJSON) Marshal(v any) ([]byte, error) {
	if m, ok := v.(proto.Message); ok && c.enc != nil {
		if b, ok := c.enc.Marshal(m); ok {
			return b, nil
		}
	}
	return c.JSONPb.Marshal(v)
}

func (c contractJSON) Unmarshal(data []byte, v any) error {
	return explainDecode(c.JSONPb.Unmarshal(data, v), v)
}

func (c contractJSON) NewDecoder(r io.Reader) runtime.Decoder {
	return contractDecoder{c.JSONPb.NewDecoder(r)}
}

type contractDecoder struct{ runtime.Decoder }

func (d contractDecoder) Decode(v any) error { return explainDecode(d.Decoder.Decode(v), v) }

var (
	badValue     = regexp.MustCompile(`invalid value for (\w+) field (\w+): (.*)$`)
	badMaskPath  = regexp.MustCompile(`FieldMask\.paths contains invalid path: "([^"]*)"`)
	unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)
	protoPrefix  = regexp.MustCompile(`^proto:\s*(\(line \d+:\d+\):\s*)?`)
)

// explainDecode rewrites a decoding error of the request body v.
func explainDecode(err error, v any) error {
	if err == nil || err == io.EOF {
		return err
	}
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		// a chunked body passes limitBody's length check: refused here
		return decodeError{field: "body", rule: ruleTooLarge,
			desc: fmt.Sprintf("the request body is larger than %d bytes", tooLarge.Limit)}
	case errors.As(err, &netErr) && netErr.Timeout():
		return decodeError{field: "body", rule: "body.timeout", desc: "the request body did not arrive in time"}
	}
	msg := messageOf(v)
	text := err.Error()
	var field, rule, desc string
	badVal, badMask, unknown := badValue.FindStringSubmatch(text), badMaskPath.FindStringSubmatch(text), unknownField.FindStringSubmatch(text)
	switch {
	case badVal != nil && msg != nil:
		path, fd := findField(msg.ProtoReflect().Descriptor(), badVal[2])
		if fd == nil {
			path = badVal[2]
		}
		field, rule = path, "json."+badVal[1]
		switch {
		case fd != nil && fd.Kind() == protoreflect.EnumKind:
			desc = fmt.Sprintf("%s is not one of %s", badVal[3], strings.Join(enumNames(fd.Enum()), ", "))
			rule = "json.enum"
		case fd != nil && (fd.Kind() == protoreflect.Int64Kind || fd.Kind() == protoreflect.Sint64Kind ||
			fd.Kind() == protoreflect.Uint64Kind || fd.Kind() == protoreflect.Fixed64Kind):
			desc = fmt.Sprintf("%s is not an integer; int64 values (money in fen) are JSON strings of digits, e.g. \"1999\"", badVal[3])
		default:
			desc = fmt.Sprintf("%s is not a valid %s", badVal[3], badVal[1])
		}
	case badMask != nil:
		field, rule = "update_mask", "json.field_mask"
		desc = fmt.Sprintf("%q: in a JSON body a field mask is one string of lowerCamelCase paths, comma-separated "+
			"(customerDemand,severity for customer_demand and severity); in a query, ?update_mask=customer_demand", badMask[1])
	case unknown != nil && msg != nil:
		field, rule = unknown[1], "json.unknown_field"
		desc = fmt.Sprintf("%s is not a field of %s", unknown[1], msg.ProtoReflect().Descriptor().Name())
	default:
		field, rule = "body", "json.syntax"
		desc = "the body is not valid JSON: " + protoPrefix.ReplaceAllString(text, "")
	}
	// grpc-gateway turns a decoder's error into a status by its text
	// alone, so the violation travels in the text; errorHandler reads it
	// back (decodedViolation).
	return decodeError{field: field, rule: rule, desc: desc}
}

// ruleTooLarge marks a body over MAX_BODY_BYTES: 413, not 400.
const ruleTooLarge = "body.too_large"

// decodeError is a refused body, its text marked for decodedViolation.
type decodeError struct{ field, rule, desc string }

const decodeMark = "\x00kefu-decode\x00"

func (e decodeError) Error() string {
	return decodeMark + e.field + "\x00" + e.rule + "\x00" + e.desc
}

// decodedViolation reads back a decodeError from a status message.
func decodedViolation(msg string) (*errdetails.BadRequest_FieldViolation, bool) {
	rest, ok := strings.CutPrefix(msg, decodeMark)
	if !ok {
		return nil, false
	}
	parts := strings.SplitN(rest, "\x00", 3)
	if len(parts) != 3 {
		return nil, false
	}
	return &errdetails.BadRequest_FieldViolation{Field: parts[0], Reason: parts[1], Description: parts[2]}, true
}

// messageOf is the message a decoder fills: v itself, or the message v
// points to (grpc-gateway decodes a body field through a **Message).
func messageOf(v any) proto.Message {
	if m, ok := v.(proto.Message); ok {
		return m
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil
	}
	t := rv.Type().Elem()
	if t.Kind() != reflect.Pointer {
		return nil
	}
	if m, ok := reflect.New(t.Elem()).Interface().(proto.Message); ok {
		return m
	}
	return nil
}

// findField finds the field a decoding error names (by its JSON or proto
// name) in md or the messages it holds, breadth first, and answers its
// snake_case path ("lines.kind").
func findField(md protoreflect.MessageDescriptor, name string) (string, protoreflect.FieldDescriptor) {
	type item struct {
		md   protoreflect.MessageDescriptor
		path string
	}
	queue := []item{{md, ""}}
	visited := map[protoreflect.FullName]bool{}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if visited[it.md.FullName()] {
			continue
		}
		visited[it.md.FullName()] = true
		fields := it.md.Fields()
		for i := 0; i < fields.Len(); i++ {
			f := fields.Get(i)
			p := string(f.Name())
			if it.path != "" {
				p = it.path + "." + p
			}
			if string(f.Name()) == name || f.JSONName() == name {
				return p, f
			}
			if f.Kind() == protoreflect.MessageKind && !f.IsMap() {
				queue = append(queue, item{f.Message(), p})
			}
		}
	}
	return "", nil
}

func enumNames(ed protoreflect.EnumDescriptor) []string {
	vals := ed.Values()
	out := make([]string, 0, vals.Len())
	for i := 0; i < vals.Len(); i++ {
		if vals.Get(i).Number() == 0 {
			continue // UNSPECIFIED: never a value to send
		}
		out = append(out, string(vals.Get(i).Name()))
	}
	return out
}

// contractQuery is grpc-gateway's query parser with its errors in the
// contract's words (`parsing field "kind": "X" is not a valid value` →
// kind's allowed values; a number that is not one).
type contractQuery struct{ runtime.DefaultQueryParser }

var queryField = regexp.MustCompile(`^parsing field "([^"]+)": (.*)$`)

func (p *contractQuery) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	err := p.DefaultQueryParser.Parse(msg, values, filter)
	if err == nil {
		return nil
	}
	m := queryField.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	path, detail := m[1], m[2]
	fd := fieldByPath(msg.ProtoReflect().Descriptor(), path)
	rule, desc := "query.value", detail
	switch {
	case fd != nil && fd.Kind() == protoreflect.EnumKind:
		rule = "query.enum"
		desc = fmt.Sprintf("%q is not one of %s", values.Get(path), strings.Join(enumNames(fd.Enum()), ", "))
	case fd != nil && strings.Contains(detail, "strconv."):
		rule = "query.number"
		desc = fmt.Sprintf("%q is not a number", values.Get(path))
	case fd != nil && fd.Kind() == protoreflect.BoolKind:
		rule = "query.bool"
		desc = fmt.Sprintf("%q is not true or false", values.Get(path))
	}
	return decodeError{field: path, rule: rule, desc: desc}
}

// fieldByPath follows a dotted proto path ("filter.kind") from md.
func fieldByPath(md protoreflect.MessageDescriptor, path string) protoreflect.FieldDescriptor {
	var fd protoreflect.FieldDescriptor
	for _, part := range strings.Split(path, ".") {
		if md == nil {
			return nil
		}
		fd = md.Fields().ByName(protoreflect.Name(part))
		if fd == nil {
			fd = md.Fields().ByJSONName(part)
		}
		if fd == nil {
			return nil
		}
		md = fd.Message()
	}
	return fd
}
