package dynamodb

import (
	"strings"
	"testing"
)

func key(name, typ string) keyElement { return keyElement{AttributeName: name, KeyType: typ} }
func attr(name, typ string) attributeDefinition {
	return attributeDefinition{AttributeName: name, AttributeType: typ}
}

// CreateTable's checks, with DynamoDB's messages.
func TestCreateTableValidation(t *testing.T) {
	s := &Service{region: "us-east-1", account: "000000000000"}
	one := int64(1)
	ok := func() createTableInput {
		return createTableInput{TableName: "orders", BillingMode: "PAY_PER_REQUEST",
			AttributeDefinitions: []attributeDefinition{attr("pk", "S"), attr("sk", "N")},
			KeySchema:            []keyElement{key("pk", "HASH"), key("sk", "RANGE")}}
	}
	for _, c := range []struct {
		name   string
		change func(*createTableInput)
		want   string // "" when valid
	}{
		{"valid", func(*createTableInput) {}, ""},
		{"bad attribute type", func(in *createTableInput) { in.AttributeDefinitions[1].AttributeType = "X" }, "Member must satisfy enum value set: [B, N, S]"},
		{"range first", func(in *createTableInput) { in.KeySchema[0].KeyType, in.KeySchema[1].KeyType = "RANGE", "HASH" }, "The first KeySchemaElement is not a HASH key type"},
		{"three keys", func(in *createTableInput) { in.KeySchema = append(in.KeySchema, key("pk", "RANGE")) }, "Member must have length less than or equal to 2"},
		{"unused attribute", func(in *createTableInput) { in.AttributeDefinitions = append(in.AttributeDefinitions, attr("x", "S")) },
			"Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"},
		{"undefined key", func(in *createTableInput) { in.KeySchema[1].AttributeName = "nope" }, "Some index key attributes are not defined in AttributeDefinitions. Keys: [pk, nope], AttributeDefinitions: [pk, sk]"},
		{"provisioned without throughput", func(in *createTableInput) { in.BillingMode = "" }, "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"},
		{"on demand with throughput", func(in *createTableInput) { in.ProvisionedThroughput = &throughput{&one, &one} }, "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"},
		{"bad billing mode", func(in *createTableInput) { in.BillingMode = "FREE" }, "Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"},
		{"include without attributes", func(in *createTableInput) {
			in.GlobalSecondaryIndexes = []index{{IndexName: "bySk", KeySchema: []keyElement{key("sk", "HASH")}, Projection: projection{ProjectionType: "INCLUDE"}}}
		}, "NonKeyAttributes must be specified when ProjectionType is INCLUDE"},
		{"local index on another hash key", func(in *createTableInput) {
			in.LocalSecondaryIndexes = []index{{IndexName: "lsi", KeySchema: []keyElement{key("sk", "HASH"), key("pk", "RANGE")}, Projection: projection{ProjectionType: "ALL"}}}
		}, "required when specifying a LocalSecondaryIndex"},
		{"duplicate index", func(in *createTableInput) {
			ix := index{IndexName: "bySk", KeySchema: []keyElement{key("sk", "HASH")}, Projection: projection{ProjectionType: "KEYS_ONLY"}}
			in.GlobalSecondaryIndexes = []index{ix, ix}
		}, "Duplicate index name: bySk"},
		{"stream without view type", func(in *createTableInput) { in.StreamSpecification = &streamSpecification{StreamEnabled: true} }, "StreamViewType must be"},
	} {
		in := ok()
		c.change(&in)
		d, e := s.describeNew(&in)
		switch {
		case c.want == "" && e != nil:
			t.Errorf("%s: %v", c.name, e)
		case c.want == "" && (d.TableArn != "arn:aws:dynamodb:us-east-1:000000000000:table/orders" || d.TableStatus != "ACTIVE"):
			t.Errorf("%s: described %+v", c.name, d)
		case c.want != "" && (e == nil || e.Code != "ValidationException" || !strings.Contains(e.Message, c.want)):
			t.Errorf("%s: %v, want ValidationException %q", c.name, e, c.want)
		}
	}
	for name, want := range map[string]string{"ab": "greater than or equal to 3", strings.Repeat("a", 256): "less than or equal to 255", "a b c": "[a-zA-Z0-9_.-]+"} {
		if e := checkTableName(name); e == nil || !strings.Contains(e.Message, want) {
			t.Errorf("table name %q: %v", name, e)
		}
	}
}
