// Package seed imports the catalogue's seed CSVs through the service's own
// use cases (so every row meets the same rules as an API call), idempotently:
// each row's stable id becomes its request id.
package seed

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	cataloguev1 "github.com/kefu-suite/kefu/proto/gen/shop/catalogue/v1"
	"github.com/kefu-suite/kefu/services/catalogue/internal/app"
	seedfiles "github.com/kefu-suite/kefu/services/catalogue/seed"
	"github.com/kefu-suite/kefu/services/platform/identity"
)

// Files names the three seed files.
const (
	ProductsFile     = "商品数据测试.csv"
	FaqsFile         = "faqs.csv"
	QuickRepliesFile = "quick_replies.csv"
	PromotionsFile   = "promotions.csv"
)

// Counts is how many rows each file holds (imported now or earlier).
type Counts struct {
	Products     int `json:"products"`
	Faqs         int `json:"faqs"`
	QuickReplies int `json:"quick_replies"`
	Promotions   int `json:"promotions"`
}

// Import loads every seed file into shopID. Running it again changes nothing.
func Import(ctx context.Context, svc *app.Service, shopID string) (Counts, error) {
	return ImportFrom(ctx, seedfiles.Files, svc, shopID)
}

// ImportFrom is Import over another set of files (tests).
func ImportFrom(ctx context.Context, files fs.FS, svc *app.Service, shopID string) (Counts, error) {
	var n Counts
	v, err := protovalidate.New()
	if err != nil {
		return n, err
	}
	ctx = identity.With(ctx, identity.Identity{Subject: "catalogue-seed", Role: identity.RoleService})

	products, err := Read[*cataloguev1.Product](files, ProductsFile, func() *cataloguev1.Product { return &cataloguev1.Product{} })
	if err != nil {
		return n, err
	}
	for i, p := range products {
		p.ShopId = shopID
		req := &cataloguev1.CreateProductRequest{RequestId: "seed-" + p.GetProductId(), Product: p}
		if err := call(ctx, v, req, func() error { _, err := svc.CreateProduct(ctx, req); return err }); err != nil {
			return n, fmt.Errorf("%s row %d (%s): %w", ProductsFile, i+2, p.GetProductId(), err)
		}
		n.Products++
	}
	faqs, err := Read[*cataloguev1.Faq](files, FaqsFile, func() *cataloguev1.Faq { return &cataloguev1.Faq{} })
	if err != nil {
		return n, err
	}
	for i, f := range faqs {
		f.ShopId = shopID
		req := &cataloguev1.CreateFaqRequest{RequestId: "seed-" + f.GetFaqId(), Faq: f}
		if err := call(ctx, v, req, func() error { _, err := svc.CreateFaq(ctx, req); return err }); err != nil {
			return n, fmt.Errorf("%s row %d: %w", FaqsFile, i+2, err)
		}
		n.Faqs++
	}
	replies, err := Read[*cataloguev1.QuickReply](files, QuickRepliesFile, func() *cataloguev1.QuickReply { return &cataloguev1.QuickReply{} })
	if err != nil {
		return n, err
	}
	for i, q := range replies {
		q.ShopId = shopID
		req := &cataloguev1.CreateQuickReplyRequest{RequestId: "seed-" + q.GetQuickReplyId(), QuickReply: q}
		if err := call(ctx, v, req, func() error { _, err := svc.CreateQuickReply(ctx, req); return err }); err != nil {
			return n, fmt.Errorf("%s row %d: %w", QuickRepliesFile, i+2, err)
		}
		n.QuickReplies++
	}
	promotions, err := Read[*cataloguev1.Promotion](files, PromotionsFile, func() *cataloguev1.Promotion { return &cataloguev1.Promotion{} })
	if err != nil {
		return n, err
	}
	for i, p := range promotions {
		p.ShopId = shopID
		// Promotions have no client-chosen id: the row number is the stable key.
		req := &cataloguev1.CreatePromotionRequest{RequestId: fmt.Sprintf("seed-promotion-%02d", i+1), Promotion: p}
		if err := call(ctx, v, req, func() error { _, err := svc.CreatePromotion(ctx, req); return err }); err != nil {
			return n, fmt.Errorf("%s row %d: %w", PromotionsFile, i+2, err)
		}
		n.Promotions++
	}
	return n, nil
}

// call validates the request as the gRPC interceptor would, then runs it.
func call(_ context.Context, v protovalidate.Validator, req proto.Message, fn func() error) error {
	if err := v.Validate(req); err != nil {
		return err
	}
	return fn()
}

// Read parses a seed CSV whose header row holds proto field names into
// messages: each row becomes a JSON object (numbers, bools and enum names
// by the field's kind; message, list and map cells hold JSON) and is read
// with protojson, so unknown columns and bad values are errors.
func Read[M proto.Message](files fs.FS, name string, newMsg func() M) ([]M, error) {
	f, err := files.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	fields := newMsg().ProtoReflect().Descriptor().Fields()
	var out []M
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, line, err)
		}
		obj := map[string]json.RawMessage{}
		for i, col := range header {
			cell := strings.TrimSpace(rec[i])
			if cell == "" {
				continue
			}
			fd := fields.ByName(protoreflect.Name(col))
			if fd == nil {
				return nil, fmt.Errorf("%s: column %q is not a field of %s", name, col, fields.Get(0).Parent().FullName())
			}
			v, err := cellJSON(fd, cell)
			if err != nil {
				return nil, fmt.Errorf("%s line %d column %s: %w", name, line, col, err)
			}
			obj[col] = v
		}
		b, _ := json.Marshal(obj)
		m := newMsg()
		if err := protojson.Unmarshal(b, m); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", name, line, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func cellJSON(fd protoreflect.FieldDescriptor, cell string) (json.RawMessage, error) {
	if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && isStringWKT(fd.Message().FullName()) {
		// Timestamps and durations are JSON strings ("2026-12-20T10:00:00Z", "3600s").
		b, _ := json.Marshal(cell)
		return b, nil
	}
	if fd.IsList() || fd.IsMap() || fd.Kind() == protoreflect.MessageKind {
		if !json.Valid([]byte(cell)) {
			return nil, fmt.Errorf("not JSON: %q", cell)
		}
		return json.RawMessage(cell), nil
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if _, err := strconv.ParseBool(cell); err != nil {
			return nil, fmt.Errorf("not a bool: %q", cell)
		}
		return json.RawMessage(strings.ToLower(cell)), nil
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.DoubleKind, protoreflect.FloatKind:
		if _, err := strconv.ParseFloat(cell, 64); err != nil {
			return nil, fmt.Errorf("not a number: %q", cell)
		}
		return json.RawMessage(cell), nil
	}
	b, _ := json.Marshal(cell) // strings and enum names
	return b, nil
}

// isStringWKT: well-known types whose JSON form is a plain string.
func isStringWKT(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask":
		return true
	}
	return false
}
