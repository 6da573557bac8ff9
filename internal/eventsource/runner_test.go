package eventsource_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cloudlet/cloudlet/internal/awsapi"
	"github.com/cloudlet/cloudlet/internal/dynamodb"
	"github.com/cloudlet/cloudlet/internal/eventsource"
	"github.com/cloudlet/cloudlet/internal/lambda"
	"github.com/cloudlet/cloudlet/internal/store"
)

// functions stands in for the function registry: each function is a Go
// func of the event; every call is recorded.
type functions struct {
	mu    sync.Mutex
	fns   map[string]func(ev event, call int) (*lambda.Result, error)
	calls map[string][]event
}

type event struct {
	Records []struct {
		EventName      string `json:"eventName"`
		EventSourceARN string `json:"eventSourceARN"`
		Dynamodb       struct {
			Keys           map[string]map[string]string `json:"Keys"`
			SequenceNumber string                       `json:"SequenceNumber"`
		} `json:"dynamodb"`
	} `json:"Records"`
	DDBStreamBatchInfo *struct {
		BatchSize int    `json:"batchSize"`
		StreamArn string `json:"streamArn"`
	} `json:"DDBStreamBatchInfo"`
	RequestContext *struct {
		Condition string `json:"condition"`
	} `json:"requestContext"`
}

func (f *functions) Invoke(ctx context.Context, req *lambda.Request) (*lambda.Result, error) {
	var ev event
	if err := json.Unmarshal(req.Payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.calls[req.Function] = append(f.calls[req.Function], ev)
	n := len(f.calls[req.Function])
	fn := f.fns[req.Function]
	f.mu.Unlock()
	if fn == nil {
		return &lambda.Result{Payload: []byte("null")}, nil
	}
	return fn(ev, n)
}

func (f *functions) got(name string) []event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]event(nil), f.calls[name]...)
}

// ids is the item ids of every record delivered to name, in order.
func (f *functions) ids(name string) []string {
	var out []string
	for _, ev := range f.got(name) {
		for _, r := range ev.Records {
			out = append(out, r.Dynamodb.Keys["id"]["S"])
		}
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type env struct {
	st  *store.Store
	ddb *dynamodb.Service
	db  *sdk.Client
	fns *functions
}

func setup(t *testing.T, dir string) *env {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := dynamodb.New(st, "us-east-1", "000000000000", nil)
	ts := httptest.NewServer(awsapi.New(awsapi.Options{Services: map[string]awsapi.Service{"dynamodb": svc}}))
	t.Cleanup(ts.Close)
	db := sdk.New(sdk.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		})})
	e := &env{st: st, ddb: svc, db: db, fns: &functions{fns: map[string]func(event, int) (*lambda.Result, error){}, calls: map[string][]event{}}}
	if err := svc.Apply(context.Background(), []dynamodb.TableSpec{{Name: "users", Origin: "test", Properties: map[string]any{
		"BillingMode":          "PAY_PER_REQUEST",
		"AttributeDefinitions": []any{map[string]any{"AttributeName": "id", "AttributeType": "S"}},
		"KeySchema":            []any{map[string]any{"AttributeName": "id", "KeyType": "HASH"}},
		"StreamSpecification":  map[string]any{"StreamViewType": "NEW_AND_OLD_IMAGES"},
	}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) runner(t *testing.T, ms ...eventsource.Mapping) *eventsource.Runner {
	r := eventsource.NewRunner(e.st, e.ddb, nil, e.fns, func(f string) string { return "arn:aws:lambda:us-east-1:000000000000:function:" + f }, nil)
	r.Set(ms)
	t.Cleanup(r.Close)
	return r
}

func mapping(fn string) eventsource.Mapping {
	return eventsource.Mapping{ID: fn + "/users/0", Function: fn, Table: "users", BatchSize: 3, StartingPosition: "TRIM_HORIZON", MaxRetries: -1, Enabled: true}
}

func TestMain(m *testing.M) {
	eventsource.RetryBase, eventsource.RetryMax = time.Millisecond, 5*time.Millisecond
	m.Run()
}

// Records arrive in order, in batches of at most BatchSize, filtered; a
// new runner on the same store goes on from the kept position.
func TestDeliveryInOrder(t *testing.T) {
	dir := t.TempDir()
	e := setup(t, dir)
	for i := 0; i < 7; i++ {
		e.put(t, fmt.Sprintf("u%d", i))
	}
	m := mapping("audit")
	m.FilterPatterns = []string{`{"eventName": ["INSERT"]}`}
	r := e.runner(t, m)
	want := "[u0 u1 u2 u3 u4 u5 u6]"
	eventually(t, "seven records", func() bool { return fmt.Sprint(e.fns.ids("audit")) == want })
	for _, ev := range e.fns.got("audit") {
		if len(ev.Records) > 3 || ev.Records[0].EventSourceARN == "" {
			t.Fatalf("batch %+v", ev)
		}
	}
	e.delete(t, "u0") // filtered out: REMOVE
	e.put(t, "u7")
	eventually(t, "u7", func() bool { return fmt.Sprint(e.fns.ids("audit")) == "[u0 u1 u2 u3 u4 u5 u6 u7]" })
	r.Close()
	// another runner (a restart) starts after what was delivered
	e.put(t, "u8")
	e2 := &env{st: e.st, ddb: e.ddb, db: e.db, fns: e.fns}
	e2.runner(t, m)
	eventually(t, "u8", func() bool { return fmt.Sprint(e.fns.ids("audit")) == "[u0 u1 u2 u3 u4 u5 u6 u7 u8]" })
}

// A failing batch is retried until it succeeds; past MaxRetries it goes
// to the failure destination and the mapping goes on; reported item
// failures retry from the earliest failed record.
func TestRetriesAndFailures(t *testing.T) {
	e := setup(t, t.TempDir())
	e.fns.fns["flaky"] = func(ev event, call int) (*lambda.Result, error) {
		if call <= 2 {
			return &lambda.Result{FunctionError: "Unhandled", ErrorType: "Error", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
		}
		return &lambda.Result{Payload: []byte("null")}, nil
	}
	e.fns.fns["broken"] = func(ev event, call int) (*lambda.Result, error) {
		for _, r := range ev.Records {
			if r.Dynamodb.Keys["id"]["S"] == "bad" {
				return &lambda.Result{FunctionError: "Unhandled", ErrorType: "Error"}, nil
			}
		}
		return &lambda.Result{Payload: []byte("null")}, nil
	}
	e.fns.fns["partial"] = func(ev event, call int) (*lambda.Result, error) {
		for _, r := range ev.Records {
			if r.Dynamodb.Keys["id"]["S"] == "b" && call == 1 {
				return &lambda.Result{Payload: []byte(`{"batchItemFailures":[{"itemIdentifier":"` + r.Dynamodb.SequenceNumber + `"}]}`)}, nil
			}
		}
		return &lambda.Result{Payload: []byte(`{"batchItemFailures":[]}`)}, nil
	}
	flaky := mapping("flaky")
	broken := mapping("broken")
	broken.MaxRetries, broken.BatchSize, broken.OnFailure = 1, 1, "dlq"
	partial := mapping("partial")
	partial.ReportFailures = true
	e.put(t, "a")
	e.put(t, "b")
	e.put(t, "bad")
	e.put(t, "c")
	e.runner(t, flaky, broken, partial)
	// the first batch twice refused, then done; then the next
	eventually(t, "flaky's batches", func() bool { return fmt.Sprint(e.fns.ids("flaky")) == "[a b bad a b bad a b bad c]" })
	eventually(t, "the failure destination", func() bool { return len(e.fns.got("dlq")) == 1 })
	info := e.fns.got("dlq")[0]
	if info.DDBStreamBatchInfo == nil || info.DDBStreamBatchInfo.BatchSize != 1 || info.RequestContext.Condition != "RetryAttemptsExhausted" {
		t.Fatalf("on-failure record %+v", info)
	}
	eventually(t, "broken goes on past bad", func() bool { return fmt.Sprint(e.fns.ids("broken")) == "[a b bad bad c]" })
	eventually(t, "partial retries from b", func() bool { return fmt.Sprint(e.fns.ids("partial")) == "[a b bad b bad c]" })
}

func (e *env) put(t *testing.T, id string) {
	t.Helper()
	if _, err := e.db.PutItem(context.Background(), &sdk.PutItemInput{TableName: aws.String("users"),
		Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) delete(t *testing.T, id string) {
	t.Helper()
	if _, err := e.db.DeleteItem(context.Background(), &sdk.DeleteItemInput{TableName: aws.String("users"),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}}); err != nil {
		t.Fatal(err)
	}
}
