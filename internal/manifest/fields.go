package manifest

import (
	"maps"
	"regexp"
	"slices"
	"strings"
)

// This file lists what serverless.yml may hold. Fields Cloudlet reads are
// in the *Fields slices; fields the Serverless Framework knows but
// Cloudlet ignores are in the ignored tables, with the warning given when
// one is set ("" for none: the field does not change how code runs
// locally).

// ignored maps a known but unused field to its warning.
type ignored map[string]string

const notSupported = "not supported yet, ignored"

var (
	topFields  = []string{"service", "provider", "functions"}
	topIgnored = ignored{
		"app":                                 "",
		"build":                               "",
		"configValidationMode":                "",
		"console":                             "",
		"custom":                              "",
		"dashboard":                           "",
		"deprecationNotificationMode":         "",
		"disabledDeprecations":                "",
		"frameworkVersion":                    "",
		"layers":                              "layers are " + notSupported,
		"license":                             "",
		"org":                                 "",
		"outputs":                             "",
		"package":                             "",
		"params":                              "", // read by ${param:...}
		"stages":                              "", // read by ${param:...}
		"tenant":                              "",
		"unresolvedVariablesNotificationMode": "",
		"useDotenv":                           ".env files are not loaded yet; export the variables instead",
		"variablesResolutionMode":             "",
	}

	providerFields  = []string{"name", "runtime", "stage", "region", "memorySize", "timeout", "environment", "logRetentionInDays", "iam", "iamRoleStatements", "iamManagedPolicies", "role"}
	providerIgnored = ignored{
		"alb":                                   "",
		"apiGateway":                            "API Gateway settings are " + notSupported,
		"apiName":                               "",
		"architecture":                          "",
		"cfnRole":                               "",
		"cloudFront":                            "",
		"credentials":                           "",
		"deploymentBucket":                      "",
		"deploymentMethod":                      "",
		"deploymentPrefix":                      "",
		"disableRollback":                       "",
		"ecr":                                   "",
		"endpointType":                          "",
		"ephemeralStorage":                      "",
		"eventBridge":                           "",
		"httpApi":                               "HTTP API settings (cors, authorizers, payload) are " + notSupported,
		"kmsKeyArn":                             "",
		"lambdaHashingVersion":                  "",
		"layers":                                "layers are " + notSupported,
		"logs":                                  "",
		"notificationArns":                      "",
		"profile":                               "",
		"resourcePolicy":                        "",
		"role":                                  "",
		"rolePermissionsBoundary":               "",
		"rollbackConfiguration":                 "",
		"runtimeManagement":                     "",
		"s3":                                    "",
		"stackName":                             "",
		"stackParameters":                       "",
		"stackPolicy":                           "",
		"stackTags":                             "",
		"tags":                                  "",
		"tracing":                               "",
		"usagePlan":                             "",
		"versionFunctions":                      "",
		"vpc":                                   "",
		"websocketsApiName":                     "",
		"websocketsApiRouteSelectionExpression": "",
		"websocketsDescription":                 "",
	}

	functionFields = []string{"handler", "runtime", "memorySize", "timeout", "environment",
		"events", "reservedConcurrency", "provisionedConcurrency", "instanceConcurrency", "name", "description", "ephemeralStorageSize",
		"logRetentionInDays", "iam", "iamRoleStatements", "iamRoleStatementsInherit", "iamRoleStatementsName", "role",
		"maximumRetryAttempts", "maximumEventAge", "onError", "destinations"}
	functionIgnored = ignored{
		"architecture":           "",
		"condition":              "",
		"dependsOn":              "",
		"disableLogs":            "",
		"ephemeralStorage":       "",
		"fileSystemConfig":       "file systems are " + notSupported,
		"image":                  "container images are " + notSupported,
		"kmsKeyArn":              "",
		"layers":                 "layers are " + notSupported,
		"package":                "",
		"provisionedConcurrency": "",
		"runtimeManagement":      "",
		"snapStart":              "",
		"tags":                   "",
		"tracing":                "",
		"url":                    "function URLs are " + notSupported,
		"versionFunction":        "",
		"vpc":                    "",
	}

	httpFields  = []string{"method", "path", "cors"}
	httpIgnored = ignored{
		"async":         "asynchronous invocation is " + notSupported,
		"authorizer":    "authorizers are " + notSupported + "; requests are not authorized",
		"caching":       "",
		"connectionId":  "",
		"description":   "",
		"documentation": "",
		"integration":   "", // checked in http()
		"operationId":   "",
		"private":       "API keys are " + notSupported + "; requests are not checked",
		"request":       "request templates, parameters and schemas are " + notSupported,
		"response":      "response templates are " + notSupported,
		"summary":       "",
	}
	httpAPIIgnored = ignored{
		"authorizer": "authorizers are " + notSupported + "; requests are not authorized",
		"name":       "",
	}

	// eventKinds are the event types of the Framework that Cloudlet does
	// not handle yet.
	eventKinds = []string{"activemq", "alb", "alexaSkill", "alexaSmartHome", "cloudFront",
		"cloudwatchEvent", "cloudwatchLog", "cognitoUserPool", "eventBridge", "iot",
		"iotFleetProvisioning", "kafka", "msk", "rabbitmq", "sns",
		"websocket"}

	// reservedEnv are the variables AWS Lambda sets itself and refuses in a
	// function's configuration.
	reservedEnv = map[string]bool{
		"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_ACCESS_KEY": true,
		"AWS_ACCESS_KEY_ID": true, "AWS_DEFAULT_REGION": true, "AWS_EXECUTION_ENV": true,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true, "AWS_LAMBDA_FUNCTION_NAME": true,
		"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
		"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
		"AWS_LAMBDA_RUNTIME_API": true, "AWS_REGION": true, "AWS_SECRET_ACCESS_KEY": true,
		"AWS_SESSION_TOKEN": true, "LAMBDA_RUNTIME_DIR": true, "LAMBDA_TASK_ROOT": true,
	}

	methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}

	serviceRe  = regexp.MustCompile(`^[a-zA-Z][0-9a-zA-Z-]*$`)
	stageRe    = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)
	funcKeyRe  = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	funcNameRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	envNameRe  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
	nodeRe     = regexp.MustCompile(`^nodejs[0-9]+\.x$`)
	pythonRe   = regexp.MustCompile(`^python3\.[0-9]+$`)
)

const supportedRuntimes = "nodejs*.x, python3.*, provided.al2, provided.al2023 or go1.x"

func supportedRuntime(rt string) bool {
	switch rt {
	case "provided.al2", "provided.al2023", "go1.x":
		return true
	}
	return nodeRe.MatchString(rt) || pythonRe.MatchString(rt)
}

// handlerNamesFunction reports whether the runtime's handler is
// <file>.<function> rather than a path to an executable.
func handlerNamesFunction(rt string) bool {
	return strings.HasPrefix(rt, "nodejs") || strings.HasPrefix(rt, "python")
}

// suggest returns the field name closest to key, or "".
func suggest(key string, known []string, ign ignored) string {
	best, bestDist := "", max(1, len(key)/3)+1
	try := func(name string) {
		if strings.EqualFold(name, key) {
			best, bestDist = name, 0
			return
		}
		if abs(len(name)-len(key)) >= bestDist {
			return
		}
		if d := editDistance(strings.ToLower(key), strings.ToLower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	for _, name := range known {
		try(name)
	}
	for _, name := range slices.Sorted(maps.Keys(ign)) {
		try(name)
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps
// of neighbours that turn a into b (optimal string alignment distance).
func editDistance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			rows[i][j] = min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				rows[i][j] = min(rows[i][j], rows[i-2][j-2]+1)
			}
		}
	}
	return rows[len(a)][len(b)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
