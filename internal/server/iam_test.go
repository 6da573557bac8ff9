package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/cloudlet/cloudlet/internal/iam"
	"github.com/cloudlet/cloudlet/internal/server"
)

type callerResult struct {
	OK      bool
	Code    string
	Status  int
	Message string
	Payload string
	Env     any
	Creds   struct{ ID, Secret, Token string }
	Arn     string
	UserID  string
	Account string
}

func callAs(t *testing.T, c *lambda.Client, event string) callerResult {
	t.Helper()
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("iam-dev-caller"), Payload: []byte(event)})
	if err != nil {
		t.Fatal(err)
	}
	var r callerResult
	if out.FunctionError != nil || json.Unmarshal(out.Payload, &r) != nil {
		t.Fatalf("caller %s: %s", event, out.Payload)
	}
	return r
}

// A function allowed only lambda:InvokeFunction on one function, calling
// through the JS SDK v3 with the credentials Cloudlet gave it, may invoke
// that function and is refused, with AWS's message, everything else: other
// functions, their configuration (and so their secrets), the list. Its
// credentials die with it.
func TestFunctionHasOnlyItsRolesPermissions(t *testing.T) {
	s := start(t)
	dir := copyDir(t, "testdata/iam")
	if _, err := s.Deploy(dir, ""); err != nil {
		t.Fatal(err)
	}
	admin := lambdaClient(s, "test")
	r := callAs(t, admin, `{"op":"invoke","name":"iam-dev-target"}`)
	if !r.OK || !strings.Contains(r.Payload, `"from":"iam-dev-target"`) {
		t.Fatalf("invoke the allowed function: %+v", r)
	}
	if !strings.HasPrefix(r.Creds.ID, "ASIA") || len(r.Creds.Token) < 100 {
		t.Fatalf("instance credentials %+v: want a temporary key with a session token", r.Creds)
	}
	arn := "arn:aws:lambda:us-east-1:000000000000:function:iam-dev-secret"
	who := "arn:aws:sts::000000000000:assumed-role/iam-dev-caller-us-east-1-lambdaRole/iam-dev-caller"
	for _, c := range []struct{ event, action, resource string }{
		{`{"op":"invoke","name":"iam-dev-secret"}`, "lambda:InvokeFunction", arn},
		{`{"op":"config","name":"iam-dev-secret"}`, "lambda:GetFunctionConfiguration", arn},
		{`{"op":"config","name":"iam-dev-no-such-function"}`, "lambda:GetFunctionConfiguration", "arn:aws:lambda:us-east-1:000000000000:function:iam-dev-no-such-function"},
		{`{"op":"list"}`, "lambda:ListFunctions", "*"},
	} {
		r := callAs(t, admin, c.event)
		want := "User: " + who + " is not authorized to perform: " + c.action + " on resource: " + c.resource +
			" because no identity-based policy allows the " + c.action + " action"
		if r.OK || r.Code != "AccessDeniedException" || r.Status != 403 || r.Message != want {
			t.Errorf("%s: %+v\nwant AccessDeniedException %q", c.event, r, want)
		}
	}
	// The admin still reads everything.
	if _, err := admin.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("iam-dev-secret")}); err != nil {
		t.Fatal(err)
	}

	// The caller's credentials, used from here with the Go SDK, carry the
	// same permissions; once the caller is removed they are refused.
	creds := r.Creds
	as := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: creds.ID, SecretAccessKey: creds.Secret, SessionToken: creds.Token}, nil
		})})
	if _, err := as.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("iam-dev-target")}); err != nil {
		t.Fatalf("the caller's credentials from outside: %v", err)
	}
	// They cannot reach the admin endpoints (deploy, info, logs, iam).
	for _, c := range []struct{ method, path, body string }{
		{"GET", server.AdminInfoPath, ""},
		{"GET", server.AdminLogsPath + "?function=iam-dev-secret", ""},
		{"GET", server.AdminIAMPath, ""},
		{"POST", server.AdminDeployPath, `{"dir":"` + dir + `"}`},
	} {
		req, _ := http.NewRequest(c.method, s.APIURL()+c.path, strings.NewReader(c.body))
		sum := sha256.Sum256([]byte(c.body))
		hash := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", hash)
		awsCreds := aws.Credentials{AccessKeyID: creds.ID, SecretAccessKey: creds.Secret, SessionToken: creds.Token}
		if err := v4.NewSigner().SignHTTP(context.Background(), awsCreds, req, hash, "cloudlet", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "AccessDeniedException") {
			t.Errorf("%s %s with a function's credentials: %d %s", c.method, c.path, resp.StatusCode, body)
		}
	}
	yml, _ := os.ReadFile(filepath.Join(dir, "serverless.yml"))
	i := strings.Index(string(yml), "  caller:")
	j := strings.Index(string(yml), "  target:")
	if err := os.WriteFile(filepath.Join(dir, "serverless.yml"), []byte(string(yml[:i])+string(yml[j:])), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deploy(dir, ""); err != nil {
		t.Fatal(err)
	}
	_, err := as.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("iam-dev-target")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnrecognizedClientException" {
		t.Fatalf("a removed function's credentials: err = %v, want UnrecognizedClientException", err)
	}
}

// STS answers who a caller is, from inside a function (JS SDK v3) and from
// outside (Go SDK v2); the admin may assume a project's role and gets
// exactly its permissions; a function may not take another's role.
func TestSTSCallerIdentityAndAssumeRole(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/iam"), ""); err != nil {
		t.Fatal(err)
	}
	admin := lambdaClient(s, "test")
	r := callAs(t, admin, `{"op":"whoami"}`)
	if !r.OK || r.Arn != "arn:aws:sts::000000000000:assumed-role/iam-dev-caller-us-east-1-lambdaRole/iam-dev-caller" ||
		r.Account != "000000000000" || !strings.HasPrefix(r.UserID, "AROA") || !strings.HasSuffix(r.UserID, ":iam-dev-caller") {
		t.Fatalf("GetCallerIdentity from the function: %+v", r)
	}
	role := "arn:aws:iam::000000000000:role/iam-dev-us-east-1-lambdaRole"
	r = callAs(t, admin, `{"op":"assume","role":"`+role+`"}`)
	want := "User: arn:aws:sts::000000000000:assumed-role/iam-dev-caller-us-east-1-lambdaRole/iam-dev-caller is not authorized to perform: sts:AssumeRole on resource: " + role
	if r.OK || r.Code != "AccessDenied" || r.Status != 403 || r.Message != want {
		t.Fatalf("a function assuming another role: %+v", r)
	}

	ctx := context.Background()
	c := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
	id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::000000000000:root" || *id.Account != "000000000000" {
		t.Fatalf("admin identity: %v %v", id, err)
	}
	callerRole := "arn:aws:iam::000000000000:role/iam-dev-caller-us-east-1-lambdaRole"
	out, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(callerRole), RoleSessionName: aws.String("dev-test")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::000000000000:assumed-role/iam-dev-caller-us-east-1-lambdaRole/dev-test" ||
		out.Credentials.Expiration.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("AssumeRole: %+v %+v", out.AssumedRoleUser, out.Credentials)
	}
	as := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.APIURL()),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey,
				SessionToken: *out.Credentials.SessionToken}, nil
		})})
	if _, err := as.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("iam-dev-target")}); err != nil {
		t.Fatalf("the role allows invoking target: %v", err)
	}
	_, err = as.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" ||
		!strings.Contains(ae.ErrorMessage(), "assumed-role/iam-dev-caller-us-east-1-lambdaRole/dev-test is not authorized to perform: lambda:ListFunctions") {
		t.Fatalf("ListFunctions with the assumed role: %v", err)
	}
	_, err = c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/nope"), RoleSessionName: aws.String("x")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Fatalf("a one-letter session name: %v", err)
	}
	for _, arn := range []string{"arn:aws:iam::000000000000:role/nope", "arn:aws:iam::999999999999:role/iam-dev-caller-us-east-1-lambdaRole"} {
		_, err = c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("xy")})
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
			t.Fatalf("AssumeRole %s: %v", arn, err)
		}
	}
}

// --iam=soft lets a denied call through and records it as a would-be
// denial.
func TestSoftModeLogsButAllows(t *testing.T) {
	s := startWith(t, server.Options{DataDir: t.TempDir(), IAM: iam.Soft})
	if _, err := s.Deploy(copyDir(t, "testdata/iam"), ""); err != nil {
		t.Fatal(err)
	}
	r := callAs(t, lambdaClient(s, "test"), `{"op":"config","name":"iam-dev-secret"}`)
	if !r.OK || !strings.Contains(fmt.Sprint(r.Env), "hunter2") {
		t.Fatalf("soft mode refused the call: %+v", r)
	}
	rep := s.IAMReport("iam-dev-caller")
	if rep.SoftDenied != 1 || rep.Denied != 0 || len(rep.Decisions) != 1 || !rep.Decisions[0].Soft || rep.Decisions[0].Allowed {
		t.Fatalf("report: %+v", rep)
	}
}

// A function's resource policy (AddPermission) lets another function's role
// invoke it; it survives a restart, and RemovePermission takes it back.
func TestResourcePolicyAllowsCrossFunctionInvoke(t *testing.T) {
	data := t.TempDir()
	s := startWith(t, server.Options{DataDir: data})
	if _, err := s.Deploy(copyDir(t, "testdata/iam"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := lambdaClient(s, "test")
	secret := aws.String("iam-dev-secret")
	if r := callAs(t, admin, `{"op":"invoke","name":"iam-dev-secret"}`); r.OK {
		t.Fatal("invoked without a grant")
	}
	cfg, err := admin.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("iam-dev-caller")})
	if err != nil || *cfg.Role != "arn:aws:iam::000000000000:role/iam-dev-caller-us-east-1-lambdaRole" {
		t.Fatalf("the caller's role: %v %v", cfg, err)
	}
	out, err := admin.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: secret, StatementId: aws.String("allow-caller"),
		Action: aws.String("lambda:InvokeFunction"), Principal: cfg.Role})
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if json.Unmarshal([]byte(*out.Statement), &st) != nil || st["Sid"] != "allow-caller" ||
		fmt.Sprint(st["Principal"]) != "map[AWS:arn:aws:iam::000000000000:role/iam-dev-caller-us-east-1-lambdaRole]" ||
		st["Resource"] != "arn:aws:lambda:us-east-1:000000000000:function:iam-dev-secret" {
		t.Fatalf("statement %s", *out.Statement)
	}
	_, err = admin.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: secret, StatementId: aws.String("allow-caller"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("*")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceConflictException" {
		t.Fatalf("the same statement id again: %v", err)
	}
	if r := callAs(t, admin, `{"op":"invoke","name":"iam-dev-secret"}`); !r.OK {
		t.Fatalf("invoke with the resource policy's grant: %+v", r)
	}
	// The function's own calls still cannot change policies.
	if r := callAs(t, admin, `{"op":"config","name":"iam-dev-secret"}`); r.OK {
		t.Fatal("the grant to invoke gave more")
	}

	s.Close()
	s = startWith(t, server.Options{DataDir: data})
	admin = lambdaClient(s, "test")
	pol, err := admin.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: secret})
	if err != nil || !strings.Contains(*pol.Policy, `"Sid":"allow-caller"`) || !strings.Contains(*pol.Policy, `"Id":"default"`) {
		t.Fatalf("GetPolicy after a restart: %v %v", pol, err)
	}
	if r := callAs(t, admin, `{"op":"invoke","name":"iam-dev-secret"}`); !r.OK {
		t.Fatalf("invoke after a restart: %+v", r)
	}
	// RevisionId is the policy's, from GetPolicy: it guards a change
	// against another made meanwhile.
	if _, err := admin.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: secret, StatementId: aws.String("second"),
		Action: aws.String("lambda:GetFunction"), Principal: cfg.Role, RevisionId: pol.RevisionId}); err != nil {
		t.Fatalf("AddPermission with GetPolicy's RevisionId: %v", err)
	}
	_, err = admin.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: secret, StatementId: aws.String("third"),
		Action: aws.String("lambda:GetFunction"), Principal: cfg.Role, RevisionId: pol.RevisionId})
	if !errors.As(err, &ae) || ae.ErrorCode() != "PreconditionFailedException" {
		t.Fatalf("AddPermission with a stale RevisionId: %v", err)
	}
	if _, err := admin.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: secret, StatementId: aws.String("second")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: secret, StatementId: aws.String("allow-caller")}); err != nil {
		t.Fatal(err)
	}
	if r := callAs(t, admin, `{"op":"invoke","name":"iam-dev-secret"}`); r.OK || r.Code != "AccessDeniedException" {
		t.Fatalf("invoke after RemovePermission: %+v", r)
	}
	_, err = admin.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: secret, StatementId: aws.String("allow-caller")})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" || ae.ErrorMessage() != "Statement allow-caller is not found in resource policy." {
		t.Fatalf("RemovePermission of a removed statement: %v", err)
	}
	_, err = admin.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: secret})
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("GetPolicy with no policy: %v", err)
	}
}

// A lambda-policies.json from before the store moves into it at start.
func TestPoliciesFileMovesIntoTheStore(t *testing.T) {
	data := t.TempDir()
	doc := `{"iam-dev-secret":[{"Sid":"old","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/iam-dev-caller-us-east-1-lambdaRole"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:iam-dev-secret"}]}`
	if err := os.WriteFile(filepath.Join(data, "lambda-policies.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startWith(t, server.Options{DataDir: data})
	if _, err := s.Deploy(copyDir(t, "testdata/iam"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "lambda-policies.json")); !os.IsNotExist(err) {
		t.Fatalf("lambda-policies.json after the move: %v", err)
	}
	if r := callAs(t, lambdaClient(s, "test"), `{"op":"invoke","name":"iam-dev-secret"}`); !r.OK {
		t.Fatalf("the moved grant does not allow the invoke: %+v", r)
	}
}
