package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudlet/cloudlet/internal/async"
	"github.com/cloudlet/cloudlet/internal/lambda"
)

// Path is where the metrics are served.
const Path = "/metrics"

// Source gives the registry's state.
type Source interface {
	Stats() lambda.Stats
}

// IAMCounts gives the authorizer's decision counts (iam.Authorizer).
type IAMCounts interface {
	Counts() (allowed, denied, softDenied uint64)
}

// AsyncSource gives the asynchronous invocations' state (async.Queue).
type AsyncSource interface {
	Stats(ctx context.Context) ([]async.FunctionStats, error)
}

var (
	fnLabel = []string{"function"}

	asyncQueued = prometheus.NewDesc("cloudlet_async_events_queued",
		"Asynchronous invocations of the function waiting, being retried or running.", fnLabel, nil)
	asyncOldest = prometheus.NewDesc("cloudlet_async_event_oldest_age_seconds",
		"Age of the function's oldest queued asynchronous invocation (Lambda's AsyncEventAge).", fnLabel, nil)
	asyncEvents = prometheus.NewDesc("cloudlet_async_events_total",
		"Asynchronous invocations of the function by outcome: received, succeeded, retried (after a function error), "+
			"throttled (waited, not counted as an attempt), dropped_retries_exhausted, dropped_age_exceeded, dropped_function_gone.",
		[]string{"function", "outcome"}, nil)
	asyncDestinations = prometheus.NewDesc("cloudlet_async_destination_records_total",
		"Records of asynchronous invocations sent to destinations and dead-letter targets (sent), or refused by them.",
		[]string{"function", "outcome"}, nil)

	instances = prometheus.NewDesc("cloudlet_function_instances",
		"Instances of the function running now, initialising ones included.", fnLabel, nil)
	concurrent = prometheus.NewDesc("cloudlet_function_concurrent_executions",
		"Invocations of the function running now (Lambda's ConcurrentExecutions).", fnLabel, nil)
	starting = prometheus.NewDesc("cloudlet_function_instances_starting",
		"Instances of the function initialising now.", fnLabel, nil)
	queued = prometheus.NewDesc("cloudlet_function_queued_invocations",
		"Invocations of the function waiting for an instance.", fnLabel, nil)
	reserved = prometheus.NewDesc("cloudlet_function_reserved_concurrency",
		"The function's reserved concurrency, when it has one.", fnLabel, nil)
	provisioned = prometheus.NewDesc("cloudlet_function_provisioned_concurrency",
		"Instances of the function kept initialised at all times.", fnLabel, nil)
	provisionedInvocations = prometheus.NewDesc("cloudlet_function_provisioned_invocations_total",
		"Invocations run by provisioned instances (the rest spilled over to on-demand ones).", fnLabel, nil)
	invocations = prometheus.NewDesc("cloudlet_function_invocations_total",
		"Invocations the function's instances ran.", fnLabel, nil)
	coldStarts = prometheus.NewDesc("cloudlet_function_cold_starts_total",
		"Instances started for the function, by how: a new process, or a stem cell.", []string{"function", "from"}, nil)
	throttles = prometheus.NewDesc("cloudlet_function_throttles_total",
		"Invocations of the function refused for lack of concurrency (429).", fnLabel, nil)
	accountLimit = prometheus.NewDesc("cloudlet_account_concurrency_limit",
		"Instances allowed across all functions.", nil, nil)
	stemReady = prometheus.NewDesc("cloudlet_stem_cells_ready",
		"Pre-started runtimes waiting to become instances.", nil, nil)
	iamDecisions = prometheus.NewDesc("cloudlet_iam_decisions_total",
		"AWS API calls decided by IAM: allowed, denied (refused), soft_denied (denied, let through by --iam=soft).", []string{"decision"}, nil)
)

type iamCollector struct{ src IAMCounts }

func (c iamCollector) Describe(ch chan<- *prometheus.Desc) { ch <- iamDecisions }

func (c iamCollector) Collect(ch chan<- prometheus.Metric) {
	a, d, s := c.src.Counts()
	for _, v := range []struct {
		label string
		n     uint64
	}{{"allowed", a}, {"denied", d}, {"soft_denied", s}} {
		ch <- prometheus.MustNewConstMetric(iamDecisions, prometheus.CounterValue, float64(v.n), v.label)
	}
}

type collector struct{ src Source }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{instances, concurrent, starting, queued, reserved, invocations, coldStarts, throttles, accountLimit, stemReady, provisioned, provisionedInvocations} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(accountLimit, prometheus.GaugeValue, float64(st.MaxConcurrency))
	ch <- prometheus.MustNewConstMetric(stemReady, prometheus.GaugeValue, float64(st.StemCellsReady))
	for _, f := range st.Functions {
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), f.Name)
		}
		gauge(instances, f.Instances)
		gauge(concurrent, f.Busy)
		gauge(starting, f.Starting)
		gauge(queued, f.Queued)
		if f.ReservedConcurrency >= 0 {
			gauge(reserved, f.ReservedConcurrency)
		}
		gauge(provisioned, f.Provisioned)
		ch <- prometheus.MustNewConstMetric(invocations, prometheus.CounterValue, float64(f.Invocations), f.Name)
		ch <- prometheus.MustNewConstMetric(provisionedInvocations, prometheus.CounterValue, float64(f.ProvisionedInvocations), f.Name)
		ch <- prometheus.MustNewConstMetric(coldStarts, prometheus.CounterValue, float64(f.ProcessStarts), f.Name, "process")
		ch <- prometheus.MustNewConstMetric(coldStarts, prometheus.CounterValue, float64(f.StemStarts), f.Name, "stem_cell")
		ch <- prometheus.MustNewConstMetric(throttles, prometheus.CounterValue, float64(f.Throttles), f.Name)
	}
}

type asyncCollector struct{ src AsyncSource }

func (c asyncCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{asyncQueued, asyncOldest, asyncEvents, asyncDestinations} {
		ch <- d
	}
}

func (c asyncCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := c.src.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(asyncQueued, err)
		return
	}
	for _, f := range stats {
		ch <- prometheus.MustNewConstMetric(asyncQueued, prometheus.GaugeValue, float64(f.Queued), f.Function)
		ch <- prometheus.MustNewConstMetric(asyncOldest, prometheus.GaugeValue, f.Oldest.Seconds(), f.Function)
		for _, v := range []struct {
			outcome string
			n       uint64
		}{{"received", f.Received}, {"succeeded", f.Succeeded}, {"retried", f.Retried}, {"throttled", f.Throttled},
			{"dropped_retries_exhausted", f.RetriesExhausted}, {"dropped_age_exceeded", f.AgeExceeded}, {"dropped_function_gone", f.Gone}} {
			ch <- prometheus.MustNewConstMetric(asyncEvents, prometheus.CounterValue, float64(v.n), f.Function, v.outcome)
		}
		ch <- prometheus.MustNewConstMetric(asyncDestinations, prometheus.CounterValue, float64(f.DestinationsDelivered), f.Function, "sent")
		ch <- prometheus.MustNewConstMetric(asyncDestinations, prometheus.CounterValue, float64(f.DestinationsRefused), f.Function, "refused")
	}
}

// Handler serves the metrics of src, authz and events (nil: none), and of
// the Go process itself.
func Handler(src Source, authz IAMCounts, events AsyncSource) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{src}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if authz != nil {
		reg.MustRegister(iamCollector{authz})
	}
	if events != nil {
		reg.MustRegister(asyncCollector{events})
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
