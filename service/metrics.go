package service

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath is where the Service's own server (ListenAndServe, Serve)
// answers Prometheus scrapes, unless WithoutMetrics is given.
const MetricsPath = "/metrics"

// Webhook outcomes, the outcome label of lcservice_webhooks_total.
const (
	OutcomeOK             = "ok"
	OutcomeFailed         = "failed"
	OutcomeRetry          = "retry"
	OutcomeNotImplemented = "not_implemented"
)

// WithoutMetrics stops ListenAndServe and Serve from answering GET
// /metrics. The metrics are still kept, and MetricsHandler still serves
// them wherever it is mounted.
func WithoutMetrics() Option { return func(s *Service) { s.noMetrics = true } }

// metrics holds the Service's Prometheus registry and the families it
// updates itself.
type metrics struct {
	reg      *prometheus.Registry
	webhooks *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func (s *Service) initMetrics() {
	m := &s.metrics
	m.reg = prometheus.NewRegistry()
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lcservice_webhooks_total",
		Help: "Webhooks handled, by event type and outcome (ok, failed, retry, not_implemented).",
	}, []string{"etype", "outcome"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lcservice_webhook_duration_seconds",
		Help:    "Time to handle a webhook, by event type.",
		Buckets: prometheus.DefBuckets,
	}, []string{"etype"})
	m.reg.MustRegister(m.webhooks, m.latency, statsCollector{s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// observe counts one handled webhook.
func (m *metrics) observe(etype EventType, outcome string, d time.Duration) {
	if !etype.Known() {
		etype = "unknown" // bound the label values to the known event types
	}
	m.webhooks.WithLabelValues(string(etype), outcome).Inc()
	m.latency.WithLabelValues(string(etype)).Observe(d.Seconds())
}

func outcomeOf(r Response) string {
	switch {
	case r.Success:
		return OutcomeOK
	case r.Retry:
		return OutcomeRetry
	}
	return OutcomeFailed
}

// RegisterMetrics adds collectors to the Service's registry, served with
// its own metrics: layers such as the interactive package add theirs.
func (s *Service) RegisterMetrics(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// MetricsRegistry returns the Service's own Prometheus registry.
func (s *Service) MetricsRegistry() *prometheus.Registry { return s.metrics.reg }

// MetricsHandler serves the Service's metrics in the Prometheus
// exposition format, to mount where the Service is not served by
// ListenAndServe (which serves it on GET /metrics).
func (s *Service) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// statsCollector reads Stats at scrape time: the transport's counters
// cost nothing more on the hot path.
type statsCollector struct{ s *Service }

var (
	descRefused = prometheus.NewDesc("lcservice_signature_refused_total",
		"Webhooks whose signature did not verify (401).", nil, nil)
	descLimitRefused = prometheus.NewDesc("lcservice_limit_refused_total",
		"Webhooks refused by a limit: too_large (413), busy (503, body budget), slow_body (408).", []string{"reason"}, nil)
	descDuplicates = prometheus.NewDesc("lcservice_duplicate_deliveries_total",
		"Deliveries answered from an earlier delivery of the same message.", nil, nil)
	descEvicted = prometheus.NewDesc("lcservice_evicted_connections_total",
		"Connections closed to make room at the connection cap.", nil, nil)
	descBodyBytes = prometheus.NewDesc("lcservice_body_budget_bytes",
		"Bytes of webhook bodies being read or not yet authenticated.", nil, nil)
	descOpenConns = prometheus.NewDesc("lcservice_open_connections",
		"Connections open to the Service's own server.", nil, nil)
	descInProgress = prometheus.NewDesc("lcservice_webhooks_in_progress",
		"Webhooks being handled now.", nil, nil)
)

func (statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRefused, descLimitRefused, descDuplicates, descEvicted, descBodyBytes, descOpenConns, descInProgress} {
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
	counter(descRefused, st.Refused)
	counter(descLimitRefused, st.TooLarge, "too_large")
	counter(descLimitRefused, st.Busy, "busy")
	counter(descLimitRefused, st.SlowBodies, "slow_body")
	counter(descDuplicates, st.Duplicates)
	counter(descEvicted, st.EvictedConn)
	gauge(descBodyBytes, st.BodyBytes)
	gauge(descOpenConns, st.OpenConns)
	gauge(descInProgress, c.s.inProgress.Load())
}
