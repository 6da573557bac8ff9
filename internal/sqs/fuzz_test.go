package sqs

import (
	"encoding/json"
	"net/url"
	"testing"
)

// Query-protocol parameters of any shape turn into JSON input (or an
// error), never a panic; what they turn into is valid JSON.
func FuzzQueryInput(f *testing.F) {
	f.Add("SendMessage", "QueueUrl=http://h/000000000000/q&MessageBody=hi&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=x&DelaySeconds=3")
	f.Add("SendMessageBatch", "SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=b&SendMessageBatchRequestEntry.2.Id=c")
	f.Add("CreateQueue", "QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v")
	f.Add("ReceiveMessage", "AttributeName.1=All&MessageAttributeName.1=.*&MaxNumberOfMessages=x")
	f.Add("DeleteMessageBatch", "DeleteMessageBatchRequestEntry.1=a&DeleteMessageBatchRequestEntry.x.Id=b&A.1.B.2.C=d")
	f.Fuzz(func(t *testing.T, op, query string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		b, e := jsonInput(op, paramTree(form))
		if e != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("%s %q: invalid JSON %s", op, query, b)
		}
	})
}

// MD5OfMessageAttributes never panics, whatever the attributes.
func FuzzMD5OfAttributes(f *testing.F) {
	f.Add("a", "String", "x", []byte(nil))
	f.Add("b", "Binary", "", []byte{0, 1})
	f.Fuzz(func(t *testing.T, name, typ, s string, b []byte) {
		if len(md5OfAttributes(map[string]attributeValue{name: {DataType: typ, StringValue: s, BinaryValue: b}})) != 32 {
			t.Fatal("not an MD5")
		}
	})
}
