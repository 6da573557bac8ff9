package sqs

import "testing"

// MD5OfMessageAttributes against known values: the SQS Developer Guide's
// example attribute, and a Number attribute.
func TestMD5OfAttributes(t *testing.T) {
	for _, c := range []struct {
		attrs map[string]attributeValue
		want  string
	}{
		{map[string]attributeValue{"SellerName": {DataType: "String", StringValue: "Example Store"}}, "cd28f3b68aeee4b2eac9c66f2f694b58"},
		{map[string]attributeValue{"timestamp": {DataType: "Number", StringValue: "1493147359900"}}, "235c5c510d26fb653d073faed50ae77c"},
	} {
		if got := md5OfAttributes(c.attrs); got != c.want {
			t.Errorf("%v: %s, want %s", c.attrs, got, c.want)
		}
	}
	if md5OfAttributes(nil) != "" {
		t.Error("no attributes have no MD5")
	}
}

// Message bodies may hold only the characters SQS allows.
func TestValidBody(t *testing.T) {
	for s, want := range map[string]bool{"hello\n\t": true, "héllo 🚀": true, "a\x00b": false, "\x01": false, "\uFFFE": false} {
		if validBody(s) != want {
			t.Errorf("%q: %v", s, !want)
		}
	}
}
