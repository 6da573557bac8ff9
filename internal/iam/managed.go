package iam

import (
	"sort"
	"strings"
	"sync"
)

// managedDocs are the AWS managed policies projects attach most (those the
// Framework's docs and the serverless/examples projects use). Each holds
// AWS's statements for the services Cloudlet serves or will serve; where
// AWS's policy also grants services Cloudlet has no API for (CloudWatch
// alarms, Application Auto Scaling, ...), those statements are left out,
// since no call can use them here.
var managedDocs = map[string]string{
	"AdministratorAccess":         `[{"Effect":"Allow","Action":"*","Resource":"*"}]`,
	"PowerUserAccess":             `[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"}]`,
	"AWSLambdaBasicExecutionRole": `[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]`,
	"AWSLambdaSQSQueueExecutionRole": `[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes",
		"logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]`,
	"AWSLambdaDynamoDBExecutionRole": `[{"Effect":"Allow","Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator","dynamodb:ListStreams",
		"logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]`,
	"AWSLambdaKinesisExecutionRole": `[{"Effect":"Allow","Action":["kinesis:DescribeStream","kinesis:DescribeStreamSummary","kinesis:GetRecords","kinesis:GetShardIterator",
		"kinesis:ListShards","kinesis:ListStreams","kinesis:SubscribeToShard","logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]`,
	"AWSLambdaVPCAccessExecutionRole": `[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents",
		"ec2:CreateNetworkInterface","ec2:DescribeNetworkInterfaces","ec2:DescribeSubnets","ec2:DeleteNetworkInterface",
		"ec2:AssignPrivateIpAddresses","ec2:UnassignPrivateIpAddresses"],"Resource":"*"}]`,
	"AWSLambdaRole": `[{"Effect":"Allow","Action":["lambda:InvokeFunction"],"Resource":["*"]}]`,
	"AWSLambda_FullAccess": `[{"Effect":"Allow","Action":["lambda:*","logs:DescribeLogGroups","logs:DescribeLogStreams","logs:GetLogEvents","logs:FilterLogEvents",
		"dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator","dynamodb:ListStreams","dynamodb:ListTables",
		"sqs:ListQueues","sqs:SendMessage","s3:ListAllMyBuckets","s3:GetBucketLocation","iam:ListRoles","iam:GetRole","tag:GetResources"],"Resource":"*"}]`,
	"AWSLambda_ReadOnlyAccess": `[{"Effect":"Allow","Action":["lambda:Get*","lambda:List*","logs:DescribeLogGroups","logs:DescribeLogStreams",
		"logs:GetLogEvents","logs:FilterLogEvents"],"Resource":"*"}]`,
	"AmazonDynamoDBFullAccess":     `[{"Effect":"Allow","Action":["dynamodb:*","dax:*"],"Resource":"*"}]`,
	"AmazonDynamoDBReadOnlyAccess": `[{"Effect":"Allow","Action":["dynamodb:BatchGetItem","dynamodb:Describe*","dynamodb:List*","dynamodb:GetAbacStatus","dynamodb:GetItem","dynamodb:GetResourcePolicy","dynamodb:Query","dynamodb:Scan","dynamodb:PartiQLSelect","dax:Describe*","dax:List*","dax:GetItem","dax:BatchGetItem","dax:Query","dax:Scan"],"Resource":"*"}]`,
	"AmazonS3FullAccess":           `[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]`,
	"AmazonS3ReadOnlyAccess":       `[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]`,
	"AmazonSQSFullAccess":          `[{"Effect":"Allow","Action":["sqs:*"],"Resource":"*"}]`,
	"AmazonSQSReadOnlyAccess":      `[{"Effect":"Allow","Action":["sqs:GetQueueAttributes","sqs:GetQueueUrl","sqs:ListDeadLetterSourceQueues","sqs:ListQueues","sqs:ListMessageMoveTasks","sqs:ListQueueTags"],"Resource":"*"}]`,
	"AmazonSNSFullAccess":          `[{"Effect":"Allow","Action":["sns:*"],"Resource":"*"}]`,
	"AmazonSNSReadOnlyAccess":      `[{"Effect":"Allow","Action":["sns:GetTopicAttributes","sns:List*","sns:CheckIfPhoneNumberIsOptedOut","sns:GetEndpointAttributes","sns:GetDataProtectionPolicy","sns:GetPlatformApplicationAttributes","sns:GetSMSAttributes","sns:GetSMSSandboxAccountStatus","sns:GetSubscriptionAttributes"],"Resource":"*"}]`,
	"AmazonEventBridgeFullAccess":  `[{"Effect":"Allow","Action":["events:*","schemas:*","scheduler:*","pipes:*"],"Resource":"*"}]`,
	"AmazonKinesisFullAccess":      `[{"Effect":"Allow","Action":"kinesis:*","Resource":"*"}]`,
	"CloudWatchLogsFullAccess":     `[{"Effect":"Allow","Action":["logs:*","cloudwatch:GenerateQuery"],"Resource":"*"}]`,
	"CloudWatchLogsReadOnlyAccess": `[{"Effect":"Allow","Action":["logs:Describe*","logs:Get*","logs:List*","logs:StartQuery","logs:StopQuery","logs:TestMetricFilter","logs:FilterLogEvents","logs:StartLiveTail","logs:StopLiveTail","cloudwatch:GenerateQuery"],"Resource":"*"}]`,
	"AWSXrayWriteOnlyAccess":       `[{"Effect":"Allow","Action":["xray:PutTraceSegments","xray:PutTelemetryRecords","xray:GetSamplingRules","xray:GetSamplingTargets","xray:GetSamplingStatisticSummaries"],"Resource":["*"]}]`,
}

var (
	managedOnce     sync.Once
	managedPolicies map[string]*Policy
)

// ManagedPolicy returns the AWS managed policy with this ARN
// (arn:aws:iam::aws:policy/NAME, with or without a path such as
// service-role/), or nil when Cloudlet does not know it.
func ManagedPolicy(arn string) *Policy {
	managedOnce.Do(func() {
		managedPolicies = make(map[string]*Policy, len(managedDocs))
		for name, doc := range managedDocs {
			p, err := ParsePolicy("arn:aws:iam::aws:policy/"+name, []byte(`{"Version":"2012-10-17","Statement":`+doc+`}`))
			if err != nil {
				panic("iam: managed policy " + name + ": " + err.Error())
			}
			for _, st := range p.Statements {
				st.Origin = "the AWS managed policy " + name
			}
			managedPolicies[name] = p
		}
	})
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::aws:policy/")
	if !ok {
		return nil
	}
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rest = rest[i+1:]
	}
	return managedPolicies[rest]
}

// ManagedPolicyNames lists the managed policies Cloudlet knows.
func ManagedPolicyNames() []string {
	out := make([]string, 0, len(managedDocs))
	for n := range managedDocs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
