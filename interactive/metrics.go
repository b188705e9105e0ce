package interactive

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lcsvc/lcservice/tasking"
)

// apiMetrics counts the REST API calls of the Service's tasking.Client.
type apiMetrics struct {
	calls   *prometheus.CounterVec
	retries *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newAPIMetrics() *apiMetrics {
	return &apiMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcservice_api_calls_total",
			Help: "LimaCharlie API call attempts, by kind (task, rule_put, rule_delete, rule_list) and status class (2xx, 4xx, 5xx, none when no answer came).",
		}, []string{"kind", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lcservice_api_retries_total",
			Help: "LimaCharlie API call attempts that were retries, by kind.",
		}, []string{"kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lcservice_api_call_duration_seconds",
			Help:    "Duration of one LimaCharlie API call attempt, by kind.",
			Buckets: prometheus.DefBuckets,
		}, []string{"kind"}),
	}
}

// observe is the tasking.Observer of the Service's client.
func (m *apiMetrics) observe(kind string, status, attempt int, d time.Duration) {
	m.calls.WithLabelValues(kind, statusClass(status)).Inc()
	if attempt > 1 {
		m.retries.WithLabelValues(kind).Inc()
	}
	m.latency.WithLabelValues(kind).Observe(d.Seconds())
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "none"
	}
	return strconv.Itoa(status/100) + "xx"
}

// statsCollector reads Stats at scrape time.
type statsCollector struct{ s *Service }

var (
	descTasked = prometheus.NewDesc("lcservice_interactive_tasked_total",
		"Tasks sent.", nil, nil)
	descTaskErrors = prometheus.NewDesc("lcservice_interactive_task_errors_total",
		"Tasks the API refused or that could not be sent.", nil, nil)
	descRouted = prometheus.NewDesc("lcservice_interactive_replies_routed_total",
		"Replies routed, by route: closure (a pending closure), relayed (a closure another replica holds, run there), named (a named handler), orphan (nobody claimed it).", []string{"route"}, nil)
	descReplyRefused = prometheus.NewDesc("lcservice_interactive_replies_refused_total",
		"Replies refused, by reason: invalid (malformed, forged, tampered or for another org or sensor token), expired.", []string{"reason"}, nil)
	descTimedOut = prometheus.NewDesc("lcservice_interactive_timed_out_total",
		"Tasks whose timeout has been handled.", nil, nil)
	descEvicted = prometheus.NewDesc("lcservice_interactive_evicted_total",
		"Pending closures evicted for space.", nil, nil)
	descRuleErrors = prometheus.NewDesc("lcservice_interactive_rule_errors_total",
		"Failed replicant rule installs or removals.", nil, nil)
	descPending = prometheus.NewDesc("lcservice_interactive_pending",
		"Tasks waiting for their replies: in this process, or in Redis for every replica when the store is shared.", nil, nil)
	descQueuedJobs = prometheus.NewDesc("lcservice_interactive_queued_jobs",
		"Job updates from timeout handlers waiting for the next response to their organization.", nil, nil)
)

func (statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTasked, descTaskErrors, descRouted, descReplyRefused, descTimedOut, descEvicted, descRuleErrors, descPending, descQueuedJobs} {
		ch <- d
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter(descTasked, st.Tasked)
	counter(descTaskErrors, st.TaskErrors)
	counter(descRouted, st.RoutedClosure, "closure")
	counter(descRouted, st.RoutedRelayed, "relayed")
	counter(descRouted, st.RoutedNamed, "named")
	counter(descRouted, st.Orphans, "orphan")
	counter(descReplyRefused, st.Refused, "invalid")
	counter(descReplyRefused, st.Expired, "expired")
	counter(descTimedOut, st.TimedOut)
	counter(descEvicted, st.Evicted)
	counter(descRuleErrors, st.RuleErrors)
	gauge(descPending, st.Pending.Pending)
	gauge(descQueuedJobs, st.QueuedJobs)
}

// instrument registers the interactive metrics on the base service, wires
// the client's API calls to them and logs the API base URL at start.
func (s *Service) instrument() error {
	m := newAPIMetrics()
	if err := s.RegisterMetrics(statsCollector{s}, m.calls, m.retries, m.latency); err != nil {
		return err
	}
	s.client = s.client.Observed(tasking.Observer(m.observe))
	s.OnStartup(func(context.Context) error {
		s.Logger().Info("interactive service starting", "api_url", s.client.BaseURL())
		return nil
	})
	return nil
}
