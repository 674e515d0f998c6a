// Package domain holds the catalogue's rules without proto, pgx or gRPC:
// the eight categories and their attribute schemas, stock arithmetic and
// the substitute ranking. Pricing lives in the pricing sub-package.
package domain

import (
	"fmt"
	"sort"

	"github.com/kefu-suite/kefu/services/platform/errs"
)

// Category is one of the eight top-level categories of DOMAIN.md §1. The
// numbers are the contract's CategoryCode values.
type Category int

// The categories.
const (
	Apparel     Category = 1 // 服装鞋帽
	Digital     Category = 2 // 数码电子
	Appliances  Category = 3 // 家用电器
	Home        Category = 4 // 家居日用
	Beauty      Category = 5 // 美妆个护
	Food        Category = 6 // 食品生鲜
	MotherBaby  Category = 7 // 母婴用品
	Sports      Category = 8 // 运动户外
	maxCategory          = Sports
)

// Valid reports whether c is one of the eight.
func (c Category) Valid() bool { return c >= Apparel && c <= maxCategory }

// AttrType is the kind of value an attribute holds.
type AttrType int

// Attribute types (the contract's AttributeType numbers).
const (
	String     AttrType = 1
	Integer    AttrType = 2
	Boolean    AttrType = 3
	Enum       AttrType = 4
	StringList AttrType = 5
	EnumList   AttrType = 6
	KeyValues  AttrType = 7
	SizeChart  AttrType = 8
)

// Attr describes one category-specific attribute.
type Attr struct {
	Key      string // field name in the category's attributes message
	Label    string // what agents read
	Type     AttrType
	Required bool
	Unit     string
	Allowed  []string
}

// Schema is a category with its attributes.
type Schema struct {
	Category    Category
	Name        string // 服装鞋帽
	EnglishName string
	Field       string // the Product oneof field carrying the attributes
	Attrs       []Attr
}

var schemas = map[Category]Schema{
	Apparel: {Apparel, "服装鞋帽", "Apparel & shoes", "apparel", []Attr{
		{Key: "material", Label: "材质/面料", Type: String, Required: true},
		{Key: "size_chart", Label: "尺码表", Type: SizeChart, Required: true},
		{Key: "season", Label: "适用季节", Type: String},
		{Key: "care_instructions", Label: "洗涤说明", Type: String},
	}},
	Digital: {Digital, "数码电子", "Digital & electronics", "digital", []Attr{
		{Key: "specs", Label: "规格参数", Type: KeyValues, Required: true},
		{Key: "compatibility", Label: "兼容性", Type: StringList},
		{Key: "warranty_months", Label: "保修期", Type: Integer, Unit: "月"},
	}},
	Appliances: {Appliances, "家用电器", "Home appliances", "appliance", []Attr{
		{Key: "power_watts", Label: "功率", Type: Integer, Required: true, Unit: "W"},
		{Key: "capacity", Label: "容量", Type: String},
		{Key: "warranty_months", Label: "保修期", Type: Integer, Required: true, Unit: "月"},
		{Key: "energy_efficiency_grade", Label: "能效等级", Type: Integer},
		{Key: "voltage", Label: "额定电压", Type: String},
	}},
	Home: {Home, "家居日用", "Home goods", "home", []Attr{
		{Key: "material", Label: "材质", Type: String},
		{Key: "dimensions", Label: "尺寸", Type: String},
		{Key: "pieces", Label: "件数", Type: Integer},
		{Key: "usage", Label: "适用场景", Type: String},
	}},
	Beauty: {Beauty, "美妆个护", "Beauty & personal care", "beauty", []Attr{
		{Key: "ingredients", Label: "成分", Type: StringList, Required: true},
		{Key: "efficacy", Label: "功效", Type: StringList},
		{Key: "skin_types", Label: "适用肤质", Type: EnumList,
			Allowed: []string{"SKIN_TYPE_ALL", "SKIN_TYPE_DRY", "SKIN_TYPE_OILY", "SKIN_TYPE_COMBINATION", "SKIN_TYPE_SENSITIVE", "SKIN_TYPE_NORMAL"}},
		{Key: "shelf_life_days", Label: "保质期", Type: Integer, Required: true, Unit: "天"},
		{Key: "net_content", Label: "净含量", Type: String},
	}},
	Food: {Food, "食品生鲜", "Food & fresh", "food", []Attr{
		{Key: "shelf_life_days", Label: "保质期", Type: Integer, Required: true, Unit: "天"},
		{Key: "storage", Label: "储存条件", Type: Enum, Required: true,
			Allowed: []string{"FOOD_STORAGE_ROOM_TEMPERATURE", "FOOD_STORAGE_COOL_DRY", "FOOD_STORAGE_REFRIGERATED", "FOOD_STORAGE_FROZEN"}},
		{Key: "ingredients", Label: "配料表", Type: String},
		{Key: "net_content", Label: "净含量", Type: String},
		{Key: "production_licence", Label: "生产许可证编号", Type: String},
	}},
	MotherBaby: {MotherBaby, "母婴用品", "Mother & baby", "mother_baby", []Attr{
		{Key: "min_age_months", Label: "最小适用月龄", Type: Integer, Unit: "月"},
		{Key: "max_age_months", Label: "最大适用月龄", Type: Integer, Required: true, Unit: "月"},
		{Key: "material", Label: "材质", Type: String},
		{Key: "safety_standard", Label: "执行标准", Type: String},
	}},
	Sports: {Sports, "运动户外", "Sports & outdoor", "sports", []Attr{
		{Key: "sport", Label: "适用运动", Type: String},
		{Key: "material", Label: "材质", Type: String},
		{Key: "size", Label: "尺寸", Type: String},
		{Key: "weight_grams", Label: "重量", Type: Integer, Unit: "g"},
		{Key: "waterproof", Label: "防水", Type: Boolean},
	}},
}

// Schemas lists the eight categories in code order.
func Schemas() []Schema {
	out := make([]Schema, 0, len(schemas))
	for _, s := range schemas {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Category < out[j].Category })
	return out
}

// SchemaOf returns a category's schema.
func SchemaOf(c Category) (Schema, bool) {
	s, ok := schemas[c]
	return s, ok
}

// CheckAttributes checks a product's category attributes against the
// schema. field is the attributes oneof the product carries ("" when none);
// present lists the attribute keys that hold a value. The error names the
// missing field as the client sent it, e.g. "apparel.size_chart".
func CheckAttributes(c Category, field string, present map[string]bool) error {
	s, ok := schemas[c]
	if !ok {
		return errs.Field("category", "catalogue.product.category", "unknown category %d", int(c))
	}
	if field != s.Field {
		return errs.Field(s.Field, "catalogue.product.attributes_match_category",
			"a %s (%s) product needs its attributes in %q", s.EnglishName, s.Name, s.Field)
	}
	for _, a := range s.Attrs {
		if a.Required && !present[a.Key] {
			return errs.Field(s.Field+"."+a.Key, "catalogue.product.required_attribute",
				"%s (%s) is required for %s products", a.Label, a.Key, s.Name)
		}
	}
	for k := range present {
		if !s.has(k) {
			return fmt.Errorf("%w: attribute %q is not in the %s schema", errs.ErrInvalid, k, s.Name)
		}
	}
	return nil
}

func (s Schema) has(key string) bool {
	for _, a := range s.Attrs {
		if a.Key == key {
			return true
		}
	}
	return false
}
