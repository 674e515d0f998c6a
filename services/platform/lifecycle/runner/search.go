package runner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/kefu-suite/kefu/services/platform/lifecycle"
)

// The search attributes every clock runner keeps current (no personal
// data), so on-call finds records in the Temporal UI and CLI:
//
//	ShopId = 'shop_demo' AND NextDeadline < '2026-12-04T10:00:00Z'
//	Breached = true
//	Process = 'aftersale' AND WhoseMove = 'seller'
var (
	AttrShopID        = temporal.NewSearchAttributeKeyKeyword("ShopId")
	AttrProcess       = temporal.NewSearchAttributeKeyKeyword("Process")
	AttrState         = temporal.NewSearchAttributeKeyKeyword("RecordState")
	AttrWhoseMove     = temporal.NewSearchAttributeKeyKeyword("WhoseMove")
	AttrNextDeadline  = temporal.NewSearchAttributeKeyTime("NextDeadline")
	AttrNextClock     = temporal.NewSearchAttributeKeyKeyword("NextClock")
	AttrRung          = temporal.NewSearchAttributeKeyKeyword("Rung")
	AttrBreached      = temporal.NewSearchAttributeKeyBool("Breached")
	AttrPolicyVersion = temporal.NewSearchAttributeKeyKeyword("PolicyVersion")
)

// SearchAttributeTypes is every attribute the runner upserts, by name: what
// RegisterSearchAttributes (and the dev server's --search-attribute flags)
// register.
var SearchAttributeTypes = map[string]enumspb.IndexedValueType{
	AttrShopID.GetName():        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrProcess.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrState.GetName():         enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrWhoseMove.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrNextDeadline.GetName():  enumspb.INDEXED_VALUE_TYPE_DATETIME,
	AttrNextClock.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrRung.GetName():          enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrBreached.GetName():      enumspb.INDEXED_VALUE_TYPE_BOOL,
	AttrPolicyVersion.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// DevServerFlags are the `temporal server start-dev` flags that register
// the attributes on a dev server from its start.
func DevServerFlags() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(SearchAttributeTypes)) {
		t := "Keyword"
		switch SearchAttributeTypes[name] {
		case enumspb.INDEXED_VALUE_TYPE_DATETIME:
			t = "Datetime"
		case enumspb.INDEXED_VALUE_TYPE_BOOL:
			t = "Bool"
		}
		out = append(out, "--search-attribute", name+"="+t)
	}
	return out
}

// RegisterSearchAttributes adds the attributes the namespace lacks through
// the operator service; those it has are left alone, so every start may
// call it. One registered with another type is an error naming it.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return Unavailable("list the namespace's search attributes", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, want := range SearchAttributeTypes {
		got, ok := have.GetCustomAttributes()[name]
		if !ok {
			got, ok = have.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			missing[name] = want
		case got != want:
			return fmt.Errorf("search attribute %s is registered as %s, the clock runner needs %s", name, got, want)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing})
	if err != nil {
		return Unavailable("register the clock runner's search attributes", err)
	}
	return nil
}

// SearchAttributes are the attributes of a process's record with clocks c:
// its status and next deadline (warnings aside); an attribute with no value
// is unset.
func SearchAttributes(process string, c lifecycle.Clocks) []temporal.SearchAttributeUpdate {
	st := c.Status
	kw := func(k temporal.SearchAttributeKeyKeyword, v string) temporal.SearchAttributeUpdate {
		if v == "" {
			return k.ValueUnset()
		}
		return k.ValueSet(v)
	}
	out := []temporal.SearchAttributeUpdate{
		AttrProcess.ValueSet(process),
		kw(AttrShopID, st.ShopID), kw(AttrState, st.State), kw(AttrWhoseMove, st.WhoseMove),
		kw(AttrRung, st.Rung), kw(AttrPolicyVersion, st.PolicyVersion), AttrBreached.ValueSet(st.Breached),
	}
	if next, ok := c.NextDeadline(); ok {
		out = append(out, AttrNextDeadline.ValueSet(next.At.UTC().Truncate(time.Millisecond)), AttrNextClock.ValueSet(next.Name))
	} else {
		out = append(out, AttrNextDeadline.ValueUnset(), AttrNextClock.ValueUnset())
	}
	return out
}

// SearchKey is what the attributes of c say, to upsert only when it changes.
func SearchKey(c lifecycle.Clocks) string {
	next, _ := c.NextDeadline()
	return fmt.Sprintf("%+v|%s|%d", c.Status, next.Name, next.At.UnixMilli())
}
