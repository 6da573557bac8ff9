package server_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Event invocations of a function with one instance, more at once than
// it takes in the throttle's bounded wait: each one runs (none is
// dropped as before), recorded by the function itself.
func TestEventInvokesAreNotDropped(t *testing.T) {
	s := start(t)
	if _, err := s.Deploy(copyDir(t, "testdata/async"), ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := lambdaClient(s, "test")
	const n = 12
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("async-dev-record"), InvocationType: types.InvocationTypeEvent,
				Payload: []byte(`{"id":"e` + strconv.Itoa(i) + `"}`)})
			if err != nil || out.StatusCode != 202 {
				t.Errorf("Event invoke %d: %v %v", i, out, err)
			}
		}(i)
	}
	wg.Wait()
	db := dynamoClient(s, "test", "test", "")
	waitFor(t, "every event recorded", func() bool {
		out, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("async-seen"), Select: "COUNT"})
		return err == nil && out.Count == n
	})
}
