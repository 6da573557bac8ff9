package dynamodb

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// product is the Developer Guide's ProductCatalog item its expression
// examples run against.
const product = `{
	"Id": {"N": "456"},
	"ProductCategory": {"S": "Sporting Goods"},
	"Price": {"N": "650"},
	"Color": {"SS": ["Black", "Red"]},
	"Description": {"S": "Bicycle"},
	"Pictures": {"M": {"FrontView": {"S": "http://example.com/products/456_front.jpg"}, "SideView": {"S": "http://example.com/products/456_left_side.jpg"}}},
	"ProductReviews": {"M": {"FiveStar": {"L": [{"S": "Excellent! Can't recommend it highly enough! Buy it!"}, {"S": "Do yourself a favor and buy this."}]}, "OneStar": {"L": [{"S": "Terrible product! Do not buy this."}]}}},
	"RelatedItems": {"L": [{"N": "341"}, {"N": "472"}, {"N": "649"}]},
	"VideoClip": {"B": "dmlkZW8gY2xpcCBieXRlcw=="},
	"InStock": {"BOOL": true},
	"QuantityOnHand": {"NULL": true}
}`

func item(t *testing.T, doc string) Item {
	t.Helper()
	var it Item
	if err := json.Unmarshal([]byte(doc), &it); err != nil {
		t.Fatal(err)
	}
	return it
}

func values(t *testing.T, doc string) map[string]*Value {
	t.Helper()
	if doc == "" {
		return nil
	}
	var m map[string]*Value
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The Developer Guide's condition expression examples, against its item.
func TestConditionExamples(t *testing.T) {
	it := item(t, product)
	for _, c := range []struct {
		expr   string
		names  map[string]string
		values string
		want   bool
	}{
		{"attribute_not_exists(Price)", nil, "", false},
		{"attribute_not_exists(Discount)", nil, "", true},
		{"attribute_exists(#pr.FiveStar)", map[string]string{"#pr": "ProductReviews"}, "", true},
		{"attribute_exists(#pr.ThreeStar)", map[string]string{"#pr": "ProductReviews"}, "", false},
		{"attribute_exists(ProductReviews.OneStar[0])", nil, "", true},
		{"attribute_type(ProductReviews.FiveStar, :v_sub)", nil, `{":v_sub": {"S": "L"}}`, true},
		{"attribute_type(QuantityOnHand, :t)", nil, `{":t": {"S": "NULL"}}`, true},
		{"begins_with(Pictures.FrontView, :v_sub)", nil, `{":v_sub": {"S": "http://"}}`, true},
		{"contains(Color, :v_sub)", nil, `{":v_sub": {"S": "Red"}}`, true},
		{"contains(Color, :v_sub)", nil, `{":v_sub": {"S": "Blue"}}`, false},
		{"contains(Description, :v)", nil, `{":v": {"S": "cycle"}}`, true},
		{"contains(RelatedItems, :v)", nil, `{":v": {"N": "472"}}`, true},
		{"size(VideoClip) > :v_sub", nil, `{":v_sub": {"N": "10"}}`, true},
		{"size(Color) = :two", nil, `{":two": {"N": "2"}}`, true},
		{"size(RelatedItems) < :two", nil, `{":two": {"N": "2"}}`, false},
		{"Price > :limit", nil, `{":limit": {"N": "500"}}`, true},
		{"Price <= :limit", nil, `{":limit": {"N": "500"}}`, false},
		{"ProductCategory IN (:cat1, :cat2) and Price between :lo and :hi", nil,
			`{":cat1": {"S": "Sporting Goods"}, ":cat2": {"S": "Gardening Supplies"}, ":lo": {"N": "500"}, ":hi": {"N": "600"}}`, false},
		{"(ProductCategory IN (:cat1, :cat2)) and (Price between :lo and :hi)", nil,
			`{":cat1": {"S": "Sporting Goods"}, ":cat2": {"S": "Gardening Supplies"}, ":lo": {"N": "600"}, ":hi": {"N": "700"}}`, true},
		{"NOT InStock = :f OR Price < :p", nil, `{":f": {"BOOL": true}, ":p": {"N": "1"}}`, false},
		{"a = :x OR b = :x AND c = :x", nil, `{":x": {"N": "1"}}`, false}, // AND binds tighter
		{"Discount <> :x", nil, `{":x": {"N": "1"}}`, true},               // a missing attribute is not equal
		{"Discount = Discount2", nil, "", false},
		{"Price = :s", nil, `{":s": {"S": "650"}}`, false}, // types differ
		{"Price = :n", nil, `{":n": {"N": "650.000"}}`, true},
		{"RelatedItems[1] = :n", nil, `{":n": {"N": "472"}}`, true},
		{"Color = :set", nil, `{":set": {"SS": ["Red", "Black"]}}`, true}, // sets in any order
	} {
		x := newExprContext(c.names, values(t, c.values))
		cd, err := parseCondition("ConditionExpression", c.expr, x)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if err := x.unused(); err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := cd.holds(it); got != c.want {
			t.Errorf("%s = %v, want %v", c.expr, got, c.want)
		}
	}
}

// The Developer Guide's update expression examples, each checked by its
// effect on the item.
func TestUpdateExamples(t *testing.T) {
	for _, c := range []struct {
		expr   string
		names  map[string]string
		values string
		check  string // a condition that must hold afterwards
		cvals  string
	}{
		{"SET ProductCategory = :c, Price = :p", nil, `{":c": {"S": "Hardware"}, ":p": {"N": "60"}}`, "ProductCategory = :c AND Price = :p", `{":c": {"S": "Hardware"}, ":p": {"N": "60"}}`},
		{"SET #ri = list_append(#ri, :vals)", map[string]string{"#ri": "RelatedItems"}, `{":vals": {"L": [{"N": "1"}]}}`, "size(RelatedItems) = :n AND RelatedItems[3] = :one", `{":n": {"N": "4"}, ":one": {"N": "1"}}`},
		{"SET #ri = list_append(:vals, #ri)", map[string]string{"#ri": "RelatedItems"}, `{":vals": {"L": [{"N": "1"}]}}`, "RelatedItems[0] = :one", `{":one": {"N": "1"}}`},
		{"SET Price = Price - :p", nil, `{":p": {"N": "15"}}`, "Price = :x", `{":x": {"N": "635"}}`},
		{"SET Price = if_not_exists(Price, :p)", nil, `{":p": {"N": "100"}}`, "Price = :x", `{":x": {"N": "650"}}`},
		{"SET Discount = if_not_exists(Discount, :p)", nil, `{":p": {"N": "100"}}`, "Discount = :p", `{":p": {"N": "100"}}`},
		{"REMOVE Description, InStock, QuantityOnHand", nil, "", "attribute_not_exists(Description) AND attribute_not_exists(InStock) AND attribute_not_exists(QuantityOnHand)", ""},
		{"REMOVE RelatedItems[1], RelatedItems[2]", nil, "", "size(RelatedItems) = :one AND RelatedItems[0] = :v", `{":one": {"N": "1"}, ":v": {"N": "341"}}`},
		{"ADD QuantityOnHand2 :q", nil, `{":q": {"N": "5"}}`, "QuantityOnHand2 = :q", `{":q": {"N": "5"}}`},
		{"ADD Price :q", nil, `{":q": {"N": "-0.5"}}`, "Price = :x", `{":x": {"N": "649.5"}}`},
		{"ADD Color :c", nil, `{":c": {"SS": ["Orange", "Purple"]}}`, "size(Color) = :n AND contains(Color, :o)", `{":n": {"N": "4"}, ":o": {"S": "Orange"}}`},
		{"DELETE Color :p", nil, `{":p": {"SS": ["Red", "Yellow"]}}`, "Color = :left", `{":left": {"SS": ["Black"]}}`},
		{"DELETE Color :p", nil, `{":p": {"SS": ["Red", "Black"]}}`, "attribute_not_exists(Color)", ""},
		{"SET RelatedItems[1] = :ri", nil, `{":ri": {"N": "8"}}`, "RelatedItems[1] = :ri", `{":ri": {"N": "8"}}`},
		{"SET RelatedItems[99] = :ri", nil, `{":ri": {"N": "8"}}`, "RelatedItems[3] = :ri", `{":ri": {"N": "8"}}`},
		{"SET #pr.FiveStar = list_append(#pr.FiveStar, :r5), #pr.NewBucket = :empty", map[string]string{"#pr": "ProductReviews"},
			`{":r5": {"L": [{"S": "Very happy with my purchase"}]}, ":empty": {"M": {}}}`, "size(ProductReviews.FiveStar) = :three AND attribute_type(ProductReviews.NewBucket, :m)", `{":three": {"N": "3"}, ":m": {"S": "M"}}`},
		{"SET Price = Price + :p REMOVE InStock ADD Tags :t DELETE Color :c", nil, `{":p": {"N": "1"}, ":t": {"SS": ["x"]}, ":c": {"SS": ["Red"]}}`,
			"Price = :x AND attribute_not_exists(InStock) AND contains(Tags, :xs) AND NOT contains(Color, :red)", `{":x": {"N": "651"}, ":xs": {"S": "x"}, ":red": {"S": "Red"}}`},
		{"SET a = :big + :big", nil, `{":big": {"N": "99999999999999999999999999999999999999"}}`, "attribute_exists(a)", ""}, // 39 digits: refused below
	} {
		it := item(t, product)
		x := newExprContext(c.names, values(t, c.values))
		actions, err := parseUpdate(c.expr, x)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if err := x.unused(); err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		err = apply(it, actions)
		if strings.Contains(c.expr, ":big") {
			if err == nil || !strings.Contains(err.Error(), "38 significant digits") && !strings.Contains(err.Error(), "overflow") {
				t.Fatalf("%s: %v, want a precision error", c.expr, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		cd, err := parseCondition("ConditionExpression", c.check, newExprContext(nil, values(t, c.cvals)))
		if err != nil {
			t.Fatalf("check %s: %v", c.check, err)
		}
		if !cd.holds(it) {
			b, _ := json.Marshal(it)
			t.Errorf("%s: afterwards %s does not hold: %s", c.expr, c.check, b)
		}
	}
}

// Numbers: canonical text as DynamoDB answers it, and the limits.
func TestNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"1.50": "1.5", "01": "1", "1e2": "100", "+3": "3", "-0": "0", ".5": "0.5", "-.5": "-0.5", "123e-2": "1.23",
		"0e1000": "0", "1E+3": "1000", "-3e2": "-300", "1e-3": "0.001", "1e125": "1" + strings.Repeat("0", 125),
	} {
		if _, got, err := parseNumber(in); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"1e126": "Number overflow", "11e125": "Number overflow", "1e-131": "Number underflow", "0.9e-130": "Number underflow",
		"NaN": "cannot be converted", "Infinity": "cannot be converted", " 1": "cannot be converted", "dog": "cannot be converted",
		"1234567890123456789012345678901234567890": "38 significant digits",
	} {
		if _, _, err := parseNumber(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", in, err, msg)
		}
	}
	// sizes as DynamoDB counts them
	for in, want := range map[string]int{"0": 1, "1": 2, "12": 2, "123": 3, "-1": 3, "10": 2, "0.1": 2} {
		if got := numberSize(in); got != want {
			t.Errorf("size of %s = %d, want %d", in, got, want)
		}
	}
}

// Key bytes order numbers by value.
func TestNumberKeyOrder(t *testing.T) {
	nums := []string{"-1e125", "-1000", "-100.5", "-100", "-10", "-1.5", "-1.23", "-1.2", "-1", "-0.001", "0", "0.001", "1", "1.2", "1.23", "1.5", "10", "100", "100.5", "1000", "1e125"}
	for i := 1; i < len(nums); i++ {
		_, a, _ := parseNumber(nums[i-1])
		_, b, _ := parseNumber(nums[i])
		if bytes.Compare(numberKey(a), numberKey(b)) >= 0 {
			t.Errorf("%s does not sort before %s", nums[i-1], nums[i])
		}
	}
}

// Parse errors carry DynamoDB's messages.
func TestExpressionErrors(t *testing.T) {
	vals := `{":v": {"N": "1"}, ":l": {"L": []}}`
	for _, c := range []struct{ expr, msg string }{
		{"", "Invalid ConditionExpression: The expression can not be empty;"},
		{"foo", `Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "foo"`},
		{"a = :v AND", `Syntax error; token: "<EOF>"`},
		{"a == :v", `Syntax error; token: "="`},
		{"name = :v", "Attribute name is a reserved keyword; reserved keyword: name"},
		{"a = :nope", "An expression attribute value used in expression is not defined; attribute value: :nope"},
		{"#x = :v", "An expression attribute name used in the document path is not defined; attribute name: #x"},
		{"nofunc(a) AND :v = :v", "Invalid function name; function: nofunc"},
		{"a BETWEEN :v AND :z", "An expression attribute value used in expression is not defined; attribute value: :z"},
		{"a < :l", "Incorrect operand type for operator or function; operator or function: <, operand type: L"},
		{"attribute_type(a, :v)", "Invalid attribute type name found"},
		{"a = :v @", `Syntax error; token: "@"`},
	} {
		_, err := parseCondition("ConditionExpression", c.expr, newExprContext(nil, values(t, vals)))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q: %v, want %q", c.expr, err, c.msg)
		}
	}
}
