// Command go-hello is a Lambda function written with github.com/aws/aws-lambda-go,
// unchanged from what runs on AWS: built as `bootstrap`, it runs under the
// provided.al2023 runtime (or, named in `handler:`, under go1.x).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	switch req.QueryStringParameters["mode"] {
	case "error":
		return events.APIGatewayProxyResponse{}, errors.New("asked to fail")
	case "sleep":
		time.Sleep(time.Hour)
	case "exit":
		os.Exit(3)
	}
	name := req.QueryStringParameters["name"]
	if name == "" {
		name = "World"
	}
	deadline, _ := ctx.Deadline()
	fmt.Printf("hello from Go, request %s\n", lc.AwsRequestID)
	body, _ := json.Marshal(map[string]any{
		"message":       "Hello, " + name + "!",
		"requestId":     lc.AwsRequestID,
		"functionArn":   lc.InvokedFunctionArn,
		"functionName":  lambdacontext.FunctionName,
		"memoryLimitMB": lambdacontext.MemoryLimitInMB,
		"hasDeadline":   !deadline.IsZero(),
		"path":          req.Path,
		"id":            req.PathParameters["id"],
	})
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(body), Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func main() { lambda.Start(handle) }
