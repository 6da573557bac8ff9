package manifest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cloudlet/cloudlet/internal/iam"
)

const iamDoc = `service: shop
provider:
  name: aws
  runtime: nodejs20.x
  region: eu-west-1
  iam:
    role:
      statements:
        - Effect: Allow
          Action: [dynamodb:GetItem, dynamodb:Query]
          Resource:
            - !GetAtt OrdersTable.Arn
            - Fn::Join:
                - '/'
                - - Fn::GetAtt: [OrdersTable, Arn]
                  - index
                  - '*'
        - Effect: Allow
          Action: s3:PutObject
          Resource: !Sub 'arn:aws:s3:::${UploadBucket}/*'
        - Effect: Deny
          Action: dynamodb:DeleteItem
          Resource: !Sub 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${self:service}-*'
          Condition:
            Bool:
              aws:SecureTransport: false
      managedPolicies:
        - arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole
functions:
  list:
    handler: h.list
  admin:
    handler: h.admin
    iamRoleStatementsInherit: true
    iamRoleStatements:
      - Effect: Allow
        Action: lambda:InvokeFunction
        Resource: arn:aws:lambda:eu-west-1:000000000000:function:shop-dev-list
  report:
    handler: h.report
    iamRoleStatementsName: shop-report-role
    iamRoleStatements:
      - Effect: Allow
        Action: ['dynamodb:Scan']
        Resource: {Ref: AWS::NoSuchThing}
resources:
  Resources:
    OrdersTable:
      Type: AWS::DynamoDB::Table
      Properties:
        TableName: orders-${sls:stage}
    UploadBucket:
      Type: AWS::S3::Bucket
`

func TestRolesFromServerlessYml(t *testing.T) {
	_, err := parse(t, "", iamDoc, Options{})
	if err == nil || !strings.Contains(err.Error(), "serverless.yml:45: functions.report.iamRoleStatements[0].Resource: Ref AWS::NoSuchThing: no resource") {
		t.Fatalf("unresolvable Ref: err = %v", err)
	}
	// Ref of a table is its name, not an ARN: the statement is refused.
	_, err = parse(t, "", strings.Replace(iamDoc, "{Ref: AWS::NoSuchThing}", "{Ref: OrdersTable}", 1), Options{})
	if err == nil || !strings.Contains(err.Error(), `Resource "orders-dev" is not an ARN`) {
		t.Fatalf("Ref to a table as a Resource: err = %v", err)
	}
	doc := strings.Replace(iamDoc, "{Ref: AWS::NoSuchThing}", `{"Fn::GetAtt": ["OrdersTable", "Arn"]}`, 1)
	p := mustParse(t, doc, Options{})
	if len(p.Roles) != 3 {
		t.Fatalf("roles = %d, want the shared one and two functions' own", len(p.Roles))
	}
	shared, admin, report := p.Roles[0], p.Roles[1], p.Roles[2]
	if shared.Name != "shop-dev-eu-west-1-lambdaRole" || !reflect.DeepEqual(shared.Functions, []string{"shop-dev-list"}) {
		t.Fatalf("shared role %s for %v", shared.Name, shared.Functions)
	}
	if admin.Name != "shop-dev-admin-eu-west-1-lambdaRole" || p.Functions[1].Role != admin.Name || report.Name != "shop-report-role" {
		t.Fatalf("function roles %q, %q (function admin uses %q)", admin.Name, report.Name, p.Functions[1].Role)
	}
	want := [][]string{
		{"arn:aws:dynamodb:eu-west-1:000000000000:table/orders-dev", "arn:aws:dynamodb:eu-west-1:000000000000:table/orders-dev/index/*"},
		{"arn:aws:s3:::" + generatedName("shop-dev", "UploadBucket", true) + "/*"},
		{"arn:aws:dynamodb:eu-west-1:000000000000:table/shop-*"},
	}
	for i, w := range want {
		if got := shared.Statements[i].Resources; !reflect.DeepEqual(got, w) {
			t.Errorf("statement %d resources %v, want %v", i, got, w)
		}
	}
	if got := shared.Statements[0].Origin; got != "serverless.yml:9 provider.iam.role.statements[0]" {
		t.Errorf("origin %q", got)
	}
	if !reflect.DeepEqual(shared.ManagedPolicies, []string{"arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"}) {
		t.Errorf("managed policies %v", shared.ManagedPolicies)
	}
	// The default role's logging statements end every role.
	last := shared.Statements[len(shared.Statements)-1]
	if last.Actions[0] != "logs:putlogevents" || last.Resources[0] != "arn:aws:logs:eu-west-1:000000000000:log-group:/aws/lambda/shop-dev*:*:*" {
		t.Errorf("default statement %+v", last)
	}
	// inherit: the function's own statement, then the provider's; report's: its own only.
	if len(admin.Statements) != 1+3+2 || admin.Statements[0].Actions[0] != "lambda:invokefunction" || len(admin.ManagedPolicies) != 1 {
		t.Errorf("admin role: %d statements, %v", len(admin.Statements), admin.ManagedPolicies)
	}
	if len(report.Statements) != 1+2 || report.Statements[0].Resources[0] != "arn:aws:dynamodb:eu-west-1:000000000000:table/orders-dev" {
		t.Errorf("report role: %+v", report.Statements[0])
	}
}

func TestIAMErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"provider:\n  iam:\n    role:\n      statements:\n        - Effect: Permit\n          Action: s3:*\n          Resource: '*'\n",
			"serverless.yml:8: provider.iam.role.statements[0]: Effect must be Allow or Deny"},
		{"provider:\n  iamRoleStatements:\n    - Effect: Allow\n      Action: GetItem\n      Resource: '*'\n",
			"provider.iamRoleStatements[0]: Action \"GetItem\" is not an action"},
		{"provider:\n  iam:\n    role:\n      managedPolicies: [arn:aws:iam::aws:policy/NoSuchPolicy]\n",
			"cloudlet does not know the managed policy \"arn:aws:iam::aws:policy/NoSuchPolicy\""},
		{"provider:\n  iam:\n    role:\n      statements:\n        - Effect: Allow\n          Principal: '*'\n          Action: s3:*\n          Resource: '*'\n",
			"a role's statement has no Principal"},
	}
	for _, tt := range tests {
		doc := "service: svc\n" + strings.Replace(tt.doc, "provider:\n", "provider:\n  name: aws\n  runtime: nodejs20.x\n", 1) + "functions:\n  f:\n    handler: h.f\n"
		_, err := parse(t, "", doc, Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.doc, err, tt.want)
		}
	}
}

// A value Cloudlet cannot evaluate never widens what a role allows: an
// Allow loses that resource, a Deny denies every resource; both warn.
func TestUnresolvableResources(t *testing.T) {
	doc := head[:strings.Index(head, "functions:")] + `  iam:
    role:
      statements:
        - Effect: Allow
          Action: s3:*
          Resource:
            - Fn::ImportValue: shared-bucket-arn
        - Effect: Allow
          Action: es:ESHttpPost
          Resource:
            - arn:aws:es:us-east-1:000000000000:domain/known/*
            - Fn::GetAtt: [Thing, Arn]
        - Effect: Deny
          Action: s3:DeleteObject
          Resource:
            Fn::ImportValue: other
functions:
  f:
    handler: h.f
resources:
  Resources:
    Thing:
      Type: AWS::Custom::Thing
`
	p := mustParse(t, doc, Options{})
	sts := p.Roles[0].Statements
	if len(sts) != 2+2 {
		t.Fatalf("%d statements, want the two that keep a resource and the two defaults", len(sts))
	}
	if !reflect.DeepEqual(sts[0].Resources, []string{"arn:aws:es:us-east-1:000000000000:domain/known/*"}) {
		t.Errorf("allow kept %v", sts[0].Resources)
	}
	if sts[1].Effect != iam.Deny || !reflect.DeepEqual(sts[1].Resources, []string{"*"}) {
		t.Errorf("deny became %v %v", sts[1].Effect, sts[1].Resources)
	}
	w := strings.Join(p.Warnings, "\n")
	for _, want := range []string{
		"serverless.yml:8: provider.iam.role.statements[0]: CloudFormation Fn::ImportValue cannot be evaluated by cloudlet",
		"no resource of this statement can be evaluated; the statement is left out",
		"Fn::GetAtt Thing.Arn: cloudlet does not evaluate the attribute Arn of AWS::Custom::Thing resources; the statement leaves that resource out",
		"this Deny applies to every resource instead",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
}

// The other places an unresolvable value may sit: it never makes an Allow
// allow more, nor a Deny deny less.
func TestUnresolvableValuesNeverWiden(t *testing.T) {
	doc := head[:strings.Index(head, "functions:")] + `  iam:
    role:
      statements:
        - Effect: Allow
          Action: dynamodb:*
          NotResource:
            - arn:aws:dynamodb:us-east-1:000000000000:table/public
            - Fn::ImportValue: private-table-arn
        - Effect: Allow
          Action: s3:GetObject
          Resource: '*'
          Condition:
            StringEquals:
              aws:SourceVpc:
                Fn::ImportValue: vpc
        - Effect: Deny
          Action: s3:*
          NotResource:
            Fn::ImportValue: allowed-bucket
        - Effect: Deny
          Action: s3:DeleteObject
          Resource: '*'
          Condition:
            StringNotEquals:
              aws:SourceVpc:
                Fn::ImportValue: vpc
functions:
  f:
    handler: h.f
  g:
    handler: h.g
    role: arn:aws:iam::123456789012:role/existing
`
	p := mustParse(t, doc, Options{})
	sts := p.Roles[0].Statements
	if len(sts) != 2+2 {
		t.Fatalf("%d statements, want the two Denies and the two defaults", len(sts))
	}
	if sts[0].Effect != iam.Deny || !reflect.DeepEqual(sts[0].Resources, []string{"*"}) || sts[0].NotResources != nil {
		t.Errorf("Deny with an unresolvable exception: %+v", sts[0])
	}
	if sts[1].Effect != iam.Deny || len(sts[1].Conditions) != 0 {
		t.Errorf("Deny with an unresolvable condition: %+v", sts[1])
	}
	// g names an existing role: a role of its own with only the defaults.
	if len(p.Roles) != 2 || p.Functions[1].Role != p.Roles[1].Name || len(p.Roles[1].Statements) != 2 ||
		!reflect.DeepEqual(p.Roles[0].Functions, []string{"svc-dev-f"}) {
		t.Fatalf("roles %+v, g uses %q", p.Roles, p.Functions[1].Role)
	}
}

// A resource's name written as a CloudFormation function is evaluated (not
// replaced by the generated-name pattern); one that cannot be makes the
// ARN unresolvable.
func TestResourceNamesWrittenAsFunctions(t *testing.T) {
	doc := head[:strings.Index(head, "functions:")] + `  iam:
    role:
      statements:
        - Effect: Deny
          Action: dynamodb:DeleteTable
          Resource:
            - Fn::GetAtt: [Users, Arn]
            - Fn::GetAtt: [Imported, Arn]
functions:
  f:
    handler: h.f
resources:
  Resources:
    Users:
      Type: AWS::DynamoDB::Table
      Properties:
        TableName: !Sub '${AWS::StackName}-users'
    Imported:
      Type: AWS::DynamoDB::Table
      Properties:
        TableName:
          Fn::ImportValue: shared-table
`
	p := mustParse(t, doc, Options{})
	want := []string{"arn:aws:dynamodb:us-east-1:000000000000:table/svc-dev-users", "*"}
	if got := p.Roles[0].Statements[0].Resources; !reflect.DeepEqual(got, want) {
		t.Fatalf("resources %v, want %v", got, want)
	}
}
