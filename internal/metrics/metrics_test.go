package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/lambda"
)

type fixed lambda.Stats

func (f fixed) Stats() lambda.Stats { return lambda.Stats(f) }

type counts [3]uint64

func (c counts) Counts() (uint64, uint64, uint64) { return c[0], c[1], c[2] }

func TestExposition(t *testing.T) {
	src := fixed{MaxConcurrency: 144, StemCellsReady: 2, Functions: []lambda.FunctionStats{
		{Name: "svc-dev-hello", Instances: 3, Busy: 2, Starting: 1, Queued: 4, ReservedConcurrency: -1,
			ProcessStarts: 5, StemStarts: 7, Throttles: 1, Invocations: 99, Provisioned: 2, ProvisionedInvocations: 60},
		{Name: "svc-dev-limited", ReservedConcurrency: 2},
	}}
	w := httptest.NewRecorder()
	events := asyncStats{{Function: "svc-dev-hello", Queued: 3, Oldest: 90 * time.Second, Received: 12, Succeeded: 8,
		Retried: 2, Throttled: 5, RetriesExhausted: 1, DestinationsDelivered: 1, DestinationsRefused: 1}}
	Handler(src, counts{10, 3, 1}, events).ServeHTTP(w, httptest.NewRequest("GET", Path, nil))
	body, _ := io.ReadAll(w.Result().Body)
	text := string(body)
	for _, want := range []string{
		"cloudlet_account_concurrency_limit 144",
		"cloudlet_stem_cells_ready 2",
		`cloudlet_async_events_queued{function="svc-dev-hello"} 3`,
		`cloudlet_async_event_oldest_age_seconds{function="svc-dev-hello"} 90`,
		`cloudlet_async_events_total{function="svc-dev-hello",outcome="received"} 12`,
		`cloudlet_async_events_total{function="svc-dev-hello",outcome="retried"} 2`,
		`cloudlet_async_events_total{function="svc-dev-hello",outcome="throttled"} 5`,
		`cloudlet_async_events_total{function="svc-dev-hello",outcome="dropped_retries_exhausted"} 1`,
		`cloudlet_async_destination_records_total{function="svc-dev-hello",outcome="refused"} 1`,
		`cloudlet_function_instances{function="svc-dev-hello"} 3`,
		`cloudlet_function_concurrent_executions{function="svc-dev-hello"} 2`,
		`cloudlet_function_instances_starting{function="svc-dev-hello"} 1`,
		`cloudlet_function_queued_invocations{function="svc-dev-hello"} 4`,
		`cloudlet_function_invocations_total{function="svc-dev-hello"} 99`,
		`cloudlet_function_cold_starts_total{from="process",function="svc-dev-hello"} 5`,
		`cloudlet_function_cold_starts_total{from="stem_cell",function="svc-dev-hello"} 7`,
		`cloudlet_function_throttles_total{function="svc-dev-hello"} 1`,
		`cloudlet_function_provisioned_concurrency{function="svc-dev-hello"} 2`,
		`cloudlet_function_provisioned_invocations_total{function="svc-dev-hello"} 60`,
		`cloudlet_function_reserved_concurrency{function="svc-dev-limited"} 2`,
		`cloudlet_iam_decisions_total{decision="allowed"} 10`,
		`cloudlet_iam_decisions_total{decision="denied"} 3`,
		`cloudlet_iam_decisions_total{decision="soft_denied"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, `cloudlet_function_reserved_concurrency{function="svc-dev-hello"}`) {
		t.Error("a function without reserved concurrency reports one")
	}
}

type asyncStats []async.FunctionStats

func (a asyncStats) Stats(context.Context) ([]async.FunctionStats, error) { return a, nil }
