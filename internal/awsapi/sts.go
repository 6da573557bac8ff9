package awsapi

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlet/cloudlet/internal/iam"
)

// stsOps is STS's operation table.
var stsOps = iam.Register("sts",
	iam.Operation{Name: "AssumeRole", Action: "sts:AssumeRole", ResourceType: "role"},
	// GetCallerIdentity needs no permission, and no policy can deny it.
	iam.Operation{Name: "GetCallerIdentity", Action: "sts:GetCallerIdentity", ResourceType: "*"},
)

const stsXMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"

// STSService serves STS over the Query protocol (form-encoded requests,
// XML answers), as every SDK calls it: GetCallerIdentity and AssumeRole
// for the roles the deployed project declares.
type STSService struct {
	keys *iam.Keys
}

// NewSTS returns the STS API over keys.
func NewSTS(keys *iam.Keys) *STSService { return &STSService{keys: keys} }

// ServeAWS implements Service.
func (s *STSService) ServeAWS(w http.ResponseWriter, r *http.Request, call *Call) {
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		body, err := url.ParseQuery(string(call.Body))
		if err != nil {
			s.WriteError(w, call.RequestID, stsError(400, "MalformedQueryString", "The request body is not form-encoded: "+err.Error()))
			return
		}
		for k, v := range body {
			form[k] = v
		}
	}
	action := form.Get("Action")
	if v := form.Get("Version"); action != "" && v != "2011-06-15" {
		s.WriteError(w, call.RequestID, stsError(400, "InvalidAction", "Could not find operation "+action+" for version "+v))
		return
	}
	switch action {
	case "GetCallerIdentity":
		s.getCallerIdentity(w, call)
	case "AssumeRole":
		s.assumeRole(w, call, form)
	case "":
		s.WriteError(w, call.RequestID, stsError(400, "MissingAction", "Missing Action"))
	default:
		s.WriteError(w, call.RequestID, stsError(400, "InvalidAction",
			"Could not find operation "+action+" for version 2011-06-15 (Cloudlet's STS serves GetCallerIdentity and AssumeRole)"))
	}
}

// caller is the principal of a call: its key's, or the admin's when the
// Handler runs without IAM.
func (s *STSService) caller(call *Call) *iam.Principal {
	if call.Key != nil {
		return call.Key.Principal
	}
	return &iam.Principal{ARN: "arn:aws:iam::" + call.AccountID + ":root", Account: call.AccountID, UserID: call.AccountID, Admin: true}
}

func (s *STSService) getCallerIdentity(w http.ResponseWriter, call *Call) {
	p := s.caller(call)
	type result struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	}
	writeQueryResult(w, call.RequestID, "GetCallerIdentity", result{Arn: p.ARN, UserID: p.UserID, Account: p.Account})
}

var sessionNameRe = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

func (s *STSService) assumeRole(w http.ResponseWriter, call *Call, form url.Values) {
	arn, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	var problems []string
	if len(arn) < 20 || len(arn) > 2048 {
		problems = append(problems, "Value '"+arn+"' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20")
	}
	if !sessionNameRe.MatchString(session) {
		problems = append(problems, "Value '"+session+"' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	ttl := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 43200 {
			problems = append(problems, "Value '"+d+"' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200")
		} else {
			ttl = time.Duration(n) * time.Second
		}
	}
	if len(problems) > 0 {
		msg := strconv.Itoa(len(problems)) + " validation error"
		if len(problems) > 1 {
			msg += "s"
		}
		s.WriteError(w, call.RequestID, stsError(400, "ValidationError", msg+" detected: "+strings.Join(problems, "; ")))
		return
	}
	if ttl > time.Hour {
		s.WriteError(w, call.RequestID, stsError(400, "ValidationError",
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."))
		return
	}
	if form.Get("Policy") != "" || form.Get("PolicyArns.member.1.arn") != "" {
		s.WriteError(w, call.RequestID, stsError(400, "ValidationError",
			"Cloudlet does not evaluate session policies (Policy, PolicyArns) yet: call AssumeRole without them"))
		return
	}
	p := s.caller(call)
	name := arn[strings.LastIndexByte(arn, '/')+1:]
	role, ok := s.keys.Role(name)
	ok = ok && role.ARN == arn // this account's role, by its exact ARN
	denied := func() {
		s.WriteError(w, call.RequestID, stsError(403, "AccessDenied",
			"User: "+p.ARN+" is not authorized to perform: sts:AssumeRole on resource: "+arn))
	}
	switch {
	case !ok:
		denied() // AWS does not tell a role that does not exist from one the caller may not assume
		return
	case !p.Admin:
		// The caller's policies must allow it, and the role must trust it:
		// the roles of serverless.yml trust only the Lambda service, so a
		// function cannot take another function's role.
		if e := call.Authorize(stsOps.Op("AssumeRole"), role.ARN, nil, nil); e != nil {
			denied()
			return
		}
		if role.Trust == nil {
			denied()
			return
		}
		req := iam.Request{Principal: p, Action: "sts:AssumeRole", Resource: role.ARN}
		if d := iam.Evaluate(&req, nil, role.Trust); !d.Allowed {
			denied()
			return
		}
	}
	key := s.keys.AssumeRole(role, session, ttl)
	type user struct {
		Arn           string `xml:"Arn"`
		AssumedRoleID string `xml:"AssumedRoleId"`
	}
	type creds struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type result struct {
		Credentials      creds `xml:"Credentials"`
		AssumedRoleUser  user  `xml:"AssumedRoleUser"`
		PackedPolicySize int   `xml:"PackedPolicySize"`
	}
	writeQueryResult(w, call.RequestID, "AssumeRole", result{
		Credentials:     creds{key.ID, key.Secret, key.Token, key.Expires.UTC().Format(time.RFC3339)},
		AssumedRoleUser: user{Arn: key.Principal.ARN, AssumedRoleID: key.Principal.UserID},
	})
}

// writeQueryResult writes a Query protocol answer:
// <OpResponse><OpResult>…</OpResult><ResponseMetadata>….
func writeQueryResult(w http.ResponseWriter, requestID, op string, result any) {
	type metadata struct {
		RequestID string `xml:"RequestId"`
	}
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	start := xml.StartElement{Name: xml.Name{Local: op + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: stsXMLNS}}}
	err := enc.EncodeToken(start)
	if err == nil {
		err = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: op + "Result"}})
	}
	if err == nil {
		err = enc.EncodeElement(metadata{requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = enc.EncodeToken(start.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil { // strings only: cannot happen
		http.Error(w, "encode", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}

func stsError(status int, code, msg string) *Error {
	return &Error{Code: code, Status: status, Message: msg, Type: "Sender"}
}

// stsCodes are STS's codes for the front door's authentication errors.
var stsCodes = map[string]string{
	"UnrecognizedClientException":         "InvalidClientTokenId",
	"InvalidSignatureException":           "SignatureDoesNotMatch",
	"ExpiredTokenException":               "ExpiredToken",
	"IncompleteSignatureException":        "IncompleteSignature",
	"MissingAuthenticationTokenException": "MissingAuthenticationToken",
	"RequestEntityTooLargeException":      "RequestEntityTooLarge",
	"InternalFailure":                     "InternalFailure",
}

// WriteError implements ErrorWriter: the Query protocol's XML error.
func (s *STSService) WriteError(w http.ResponseWriter, requestID string, e *Error) {
	code := e.Code
	if c, ok := stsCodes[code]; ok {
		code = c
	}
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	type errBody struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		XMLNS     string   `xml:"xmlns,attr"`
		Error     errBody  `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}{XMLNS: stsXMLNS, Error: errBody{typ, code, e.Message}, RequestID: requestID})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(e.Status)
	w.Write(body)
}
