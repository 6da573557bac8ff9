package sqs

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/cloudlet/cloudlet/internal/awsapi"
)

// This file serves SQS's Query protocol (form-encoded requests, XML
// answers), which older SDKs, boto3 as Debian ships it and the aws CLI
// speak: each request is turned into the JSON protocol's input, served by
// the same handler, and its answer written as SQS's XML.

const queryNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// isQuery reports whether a request is in the Query protocol.
func isQuery(r *http.Request) bool {
	return r.Header.Get("X-Amz-Target") == "" &&
		(strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.URL.Query().Get("Action") != "")
}

// node is a tree of Query parameters: "A.1.B=v" is node{"A": {"1": {"B": v}}}.
type node map[string]any

func paramTree(form url.Values) node {
	root := node{}
	for k, vs := range form {
		if len(vs) == 0 {
			continue
		}
		parts := strings.Split(k, ".")
		n := root
		for i, p := range parts {
			if i == len(parts)-1 {
				n[p] = vs[0]
				break
			}
			child, ok := n[p].(node)
			if !ok {
				child = node{}
				n[p] = child
			}
			n = child
		}
	}
	return root
}

// list is a numbered list's members (A.1, A.2, ...), in order.
func (n node) list(name string) []any {
	m, ok := n[name].(node)
	if !ok {
		return nil
	}
	idx := make([]int, 0, len(m))
	for k := range m {
		if i, err := strconv.Atoi(k); err == nil {
			idx = append(idx, i)
		}
	}
	sort.Ints(idx)
	out := make([]any, 0, len(idx))
	for _, i := range idx {
		out = append(out, m[strconv.Itoa(i)])
	}
	return out
}

func (n node) str(name string) (string, bool) {
	s, ok := n[name].(string)
	return s, ok
}

func (n node) strings(name string) []string {
	var out []string
	for _, v := range n.list(name) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// pairs is a list of {key, value} members as a map.
func (n node) pairs(name, key, value string) map[string]string {
	out := map[string]string{}
	for _, v := range n.list(name) {
		if m, ok := v.(node); ok {
			k, _ := m.str(key)
			val, _ := m.str(value)
			out[k] = val
		}
	}
	return out
}

// messageAttributes is MessageAttribute.N.{Name,Value.{DataType,StringValue,BinaryValue}}.
func (n node) messageAttributes(name string) map[string]any {
	out := map[string]any{}
	for _, v := range n.list(name) {
		m, ok := v.(node)
		if !ok {
			continue
		}
		k, _ := m.str("Name")
		val, _ := m["Value"].(node)
		a := map[string]any{}
		for _, f := range []string{"DataType", "StringValue", "BinaryValue"} {
			if s, ok := val.str(f); ok {
				a[f] = s
			}
		}
		out[k] = a
	}
	return out
}

var intParams = map[string]bool{"MaxNumberOfMessagesPerSecond": true, "MaxNumberOfMessages": true, "WaitTimeSeconds": true, "VisibilityTimeout": true,
	"DelaySeconds": true, "MaxResults": true}

// jsonInput turns a Query request's parameters into the JSON protocol's
// input for op.
func jsonInput(op string, n node) ([]byte, *awsapi.Error) {
	in := map[string]any{}
	var bad *awsapi.Error
	scalar := func(dst map[string]any, m node, k string) {
		s, ok := m.str(k)
		if !ok {
			return
		}
		if intParams[k] {
			i, err := strconv.Atoi(s)
			if err != nil {
				bad = invalidParameter("Value " + s + " for parameter " + k + " is invalid. Reason: must be an integer.")
				return
			}
			dst[k] = i
			return
		}
		dst[k] = s
	}
	for _, k := range []string{"QueueUrl", "QueueName", "QueueNamePrefix", "NextToken", "QueueOwnerAWSAccountId", "MessageBody",
		"ReceiptHandle", "ReceiveRequestAttemptId", "MessageGroupId", "MessageDeduplicationId",
		"MaxNumberOfMessages", "WaitTimeSeconds", "VisibilityTimeout", "DelaySeconds", "MaxResults",
		"SourceArn", "DestinationArn", "MaxNumberOfMessagesPerSecond", "TaskHandle"} {
		scalar(in, n, k)
	}
	if _, ok := n["Attribute"]; ok {
		in["Attributes"] = n.pairs("Attribute", "Name", "Value")
	}
	if _, ok := n["Tag"]; ok {
		key := "Tags"
		if op == "CreateQueue" {
			key = "tags"
		}
		in[key] = n.pairs("Tag", "Key", "Value")
	}
	for k, dst := range map[string]string{"TagKey": "TagKeys", "AttributeName": "AttributeNames",
		"MessageSystemAttributeName": "MessageSystemAttributeNames", "MessageAttributeName": "MessageAttributeNames"} {
		if _, ok := n[k]; ok {
			in[dst] = n.strings(k)
		}
	}
	if _, ok := n["MessageAttribute"]; ok {
		in["MessageAttributes"] = n.messageAttributes("MessageAttribute")
	}
	if _, ok := n["MessageSystemAttribute"]; ok {
		in["MessageSystemAttributes"] = n.messageAttributes("MessageSystemAttribute")
	}
	if entry := map[string]string{"SendMessageBatch": "SendMessageBatchRequestEntry", "DeleteMessageBatch": "DeleteMessageBatchRequestEntry",
		"ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchRequestEntry"}[op]; entry != "" {
		var entries []map[string]any
		for _, v := range n.list(entry) {
			m, ok := v.(node)
			if !ok {
				continue
			}
			e := map[string]any{}
			for _, k := range []string{"Id", "MessageBody", "ReceiptHandle", "DelaySeconds", "VisibilityTimeout", "MessageGroupId", "MessageDeduplicationId"} {
				scalar(e, m, k)
			}
			if _, ok := m["MessageAttribute"]; ok {
				e["MessageAttributes"] = m.messageAttributes("MessageAttribute")
			}
			if _, ok := m["MessageSystemAttribute"]; ok {
				e["MessageSystemAttributes"] = m.messageAttributes("MessageSystemAttribute")
			}
			entries = append(entries, e)
		}
		in["Entries"] = entries
	}
	if bad != nil {
		return nil, bad
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, invalidParameter(err.Error())
	}
	return b, nil
}

// serveQuery serves one Query-protocol request.
func (s *Service) serveQuery(w http.ResponseWriter, r *http.Request, call *awsapi.Call) {
	form, err := url.ParseQuery(string(call.Body))
	if err != nil {
		s.writeQueryError(w, call.RequestID, (&sqsError{"MalformedQueryString", "MalformedQueryString", 400, "The query string is malformed."}).awsError())
		return
	}
	for k, v := range r.URL.Query() {
		if _, ok := form[k]; !ok {
			form[k] = v
		}
	}
	op := form.Get("Action")
	n := paramTree(form)
	// A request to a queue's URL names its queue by the path.
	if _, ok := n["QueueUrl"]; !ok && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 1 {
		n["QueueUrl"] = s.queueURL(r, "") + strings.TrimPrefix(strings.Trim(r.URL.Path, "/"), s.account+"/")
	}
	body, e := jsonInput(op, n)
	if e != nil {
		s.writeQueryError(w, call.RequestID, e)
		return
	}
	c := *call
	c.Body = body
	out, e := s.dispatch(r, &c, op)
	if e != nil {
		s.writeQueryError(w, call.RequestID, e)
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		s.writeQueryError(w, call.RequestID, internalError(s, op, err))
		return
	}
	var doc map[string]any
	json.Unmarshal(b, &doc)
	var x bytes.Buffer
	x.WriteString(`<?xml version="1.0"?><` + op + `Response xmlns="` + queryNamespace + `"><` + op + `Result>`)
	writeResult(&x, op, doc)
	x.WriteString(`</` + op + `Result><ResponseMetadata><RequestId>` + call.RequestID + `</RequestId></ResponseMetadata></` + op + `Response>`)
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(x.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(x.Bytes())
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func elem(x *bytes.Buffer, name, text string) {
	x.WriteString("<" + name + ">" + esc(text) + "</" + name + ">")
}

func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeResult writes a JSON answer as SQS's XML result: lists flattened
// into repeated members, maps as Name/Value (or Key/Value) pairs.
func writeResult(x *bytes.Buffer, op string, doc map[string]any) {
	for _, k := range sortedKeys(doc) {
		v := doc[k]
		switch k {
		case "QueueUrls", "queueUrls":
			for _, u := range v.([]any) {
				elem(x, "QueueUrl", text(u))
			}
		case "Attributes":
			writePairs(x, v, "Attribute", "Name")
		case "Tags":
			writePairs(x, v, "Tag", "Key")
		case "Messages":
			for _, m := range v.([]any) {
				x.WriteString("<Message>")
				writeMessage(x, m.(map[string]any))
				x.WriteString("</Message>")
			}
		case "Successful":
			for _, e := range v.([]any) {
				x.WriteString("<" + op + "ResultEntry>")
				writeResult(x, op, e.(map[string]any))
				x.WriteString("</" + op + "ResultEntry>")
			}
		case "Results":
			for _, e := range v.([]any) {
				x.WriteString("<" + op + "ResultEntry>")
				writeResult(x, op, e.(map[string]any))
				x.WriteString("</" + op + "ResultEntry>")
			}
		case "Failed":
			for _, e := range v.([]any) {
				x.WriteString("<BatchResultErrorEntry>")
				writeResult(x, op, e.(map[string]any))
				x.WriteString("</BatchResultErrorEntry>")
			}
		default:
			elem(x, k, text(v))
		}
	}
}

// writePairs writes a map as repeated <member><key>k</key><Value>v</Value></member>.
func writePairs(x *bytes.Buffer, v any, member, key string) {
	m, _ := v.(map[string]any)
	for _, name := range sortedKeys(m) {
		x.WriteString("<" + member + ">")
		elem(x, key, name)
		elem(x, "Value", text(m[name]))
		x.WriteString("</" + member + ">")
	}
}

func writeMessage(x *bytes.Buffer, m map[string]any) {
	for _, k := range sortedKeys(m) {
		v := m[k]
		switch k {
		case "Attributes":
			writePairs(x, v, "Attribute", "Name")
		case "MessageAttributes":
			for _, name := range sortedKeys(v.(map[string]any)) {
				a := v.(map[string]any)[name].(map[string]any)
				x.WriteString("<MessageAttribute>")
				elem(x, "Name", name)
				x.WriteString("<Value>")
				for _, f := range sortedKeys(a) {
					elem(x, f, text(a[f]))
				}
				x.WriteString("</Value></MessageAttribute>")
			}
		default:
			elem(x, k, text(v))
		}
	}
}

// writeQueryError writes an error as the Query protocol's ErrorResponse.
func (s *Service) writeQueryError(w http.ResponseWriter, requestID string, e *awsapi.Error) {
	code, _ := e.Extra[queryErrorKey].(string)
	if code == "" {
		code = strings.TrimSuffix(e.Code, "Exception")
	}
	fault, status := "Sender", http.StatusBadRequest
	if e.Status >= 500 {
		fault, status = "Receiver", e.Status
	} else if e.Code == "AccessDeniedException" || e.Status == http.StatusForbidden {
		code, status = "AccessDenied", http.StatusForbidden
	}
	var x bytes.Buffer
	x.WriteString(`<?xml version="1.0"?><ErrorResponse xmlns="` + queryNamespace + `"><Error>`)
	elem(&x, "Type", fault)
	elem(&x, "Code", code)
	elem(&x, "Message", e.Message)
	x.WriteString(`<Detail/></Error>`)
	elem(&x, "RequestId", requestID)
	x.WriteString(`</ErrorResponse>`)
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(x.Len()))
	w.WriteHeader(status)
	w.Write(x.Bytes())
}
