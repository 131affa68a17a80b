// Package metrics is the Prometheus adapter: imbridge's collectors, registered on a
// registry of their own, and the methods through which the HTTP adapter and the Kafka
// adapter report to them. Every label value comes from a bounded set: configured topics,
// Chat's documented commands (bridge.KnownCommand), fixed outcome and reason names; never
// from the request.
package metrics

import (
	"context"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors. Its methods are safe for concurrent use.
type Metrics struct {
	registry *prometheus.Registry

	callbacks         *prometheus.CounterVec
	answerSeconds     *prometheus.HistogramVec
	signatureFailures *prometheus.CounterVec
	requestTimeSkew   prometheus.Histogram
	eventsPublished   *prometheus.CounterVec
	eventsFailed      *prometheus.CounterVec
	publishSeconds    prometheus.Histogram
	publishEvents     prometheus.Histogram
	leaderChanges     *prometheus.CounterVec
	quarantined       *prometheus.CounterVec
}

// New registers imbridge's collectors, the Go runtime and process collectors, and
// imbridge_build_info{version} on a new registry.
func New(version string) *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		registry: r,
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imbridge_callbacks_total",
			Help: "Callbacks answered, by Chat's documented command (other for the rest; a command whose route is off counts as itself with outcome unrouted) and outcome: ok, unrouted, replayed, quarantined, forbidden, unauthorized, bad_request, too_large, unavailable, method_not_allowed, not_found, uri_too_long, unsupported, internal, other.",
		}, []string{"command", "outcome"}),
		answerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "imbridge_callback_duration_seconds",
			Help:    "Time from receiving a callback to answering it, by outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2, 5},
		}, []string{"outcome"}),
		signatureFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imbridge_signature_failures_total",
			Help: "Callbacks refused by signature verification, by reason: missing, malformed_sign, malformed_request_time, skew, mismatch.",
		}, []string{"reason"}),
		requestTimeSkew: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imbridge_request_time_skew_seconds",
			Help:    "Now minus the callback's RequestTime, for authenticated callbacks only (anyone can send another RequestTime); negative when RequestTime is in the future.",
			Buckets: []float64{-300, -60, -30, -10, -5, -2, -1, 0, 1, 2, 5, 10, 30, 60, 300},
		}),
		eventsPublished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imbridge_events_published_total",
			Help: "Events Kafka acknowledged, by topic.",
		}, []string{"topic"}),
		eventsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imbridge_events_failed_total",
			Help: "Event publish attempts that failed, by topic (a retried event counts once per failure).",
		}, []string{"topic"}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imbridge_kafka_publish_duration_seconds",
			Help:    "Duration of one publish call to Kafka (all its events acknowledged or failed).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		publishEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imbridge_kafka_publish_events",
			Help:    "Events per publish call to Kafka.",
			Buckets: []float64{1, 3, 10, 30, 100, 300, 1000, 3000},
		}),
		leaderChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imbridge_kafka_leader_changes_total",
			Help: "Partition leader changes seen in the brokers' metadata, by topic: a broker lost, restarted or its leadership moved back.",
		}, []string{"topic"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imbridge_callbacks_quarantined_total",
			Help: "Authenticated callbacks kept whole on the quarantine topic instead of mapped, answered OK, by kind of reason: bad_request (a body or field imbridge cannot read), too_large (more entries than IMBRIDGE_MAX_PAIRS, or records over a topic's max.message.bytes), unsupported (a Content-Encoding), unavailable (no room for its records in IMBRIDGE_MAX_IN_FLIGHT_BYTES within a second: kept rather than answered 503).",
		}, []string{"kind"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imbridge_build_info",
		Help: "Always 1; labels say which build is running.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	r.MustRegister(m.callbacks, m.answerSeconds, m.signatureFailures, m.requestTimeSkew, m.eventsPublished,
		m.eventsFailed, m.publishSeconds, m.publishEvents, m.leaderChanges, m.quarantined, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Register adds further collectors, such as the spool gauges.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.registry.MustRegister(cs...) }

// Callback counts one answered callback.
func (m *Metrics) Callback(command, outcome string, took time.Duration) {
	m.callbacks.WithLabelValues(command, outcome).Inc()
	m.answerSeconds.WithLabelValues(outcome).Observe(took.Seconds())
}

// SignatureFailure counts one refused signature.
func (m *Metrics) SignatureFailure(reason string) { m.signatureFailures.WithLabelValues(reason).Inc() }

// RequestTimeSkew records now minus a callback's RequestTime.
func (m *Metrics) RequestTimeSkew(d time.Duration) { m.requestTimeSkew.Observe(d.Seconds()) }

// Published counts n events of topic acknowledged by Kafka.
func (m *Metrics) Published(topic string, n int) {
	m.eventsPublished.WithLabelValues(topic).Add(float64(n))
}

// Failed counts n failed publish attempts of events of topic.
func (m *Metrics) Failed(topic string, n int) { m.eventsFailed.WithLabelValues(topic).Add(float64(n)) }

// PublishDone records one publish call of events events that took d.
func (m *Metrics) PublishDone(events int, d time.Duration) {
	m.publishSeconds.Observe(d.Seconds())
	m.publishEvents.Observe(float64(events))
}

// LeaderChanged counts one partition leader change of topic (kafka.LeaderObserver).
func (m *Metrics) LeaderChanged(topic string, partition int) {
	m.leaderChanges.WithLabelValues(topic).Inc()
}

// SpoolStats is what the spool gauges read on every scrape.
type SpoolStats struct {
	Records, Events, Bytes int64
	// Limit is the most bytes the spool may hold (its MaxBytes).
	Limit  int64
	Oldest time.Time
	// Syncs counts the fsyncs that committed callbacks since the spool opened: one per
	// group of callbacks written together.
	Syncs int64
}

// RegisterSpool adds gauges of the spool's depth and the forwarder's counts.
func (m *Metrics) RegisterSpool(stats func() SpoolStats, deadLettered func() int64, now func() time.Time) {
	m.Register(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "imbridge_spool_records", Help: "Callbacks in the spool not yet published."},
			func() float64 { return float64(stats().Records) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "imbridge_spool_events", Help: "Events in the spool not yet published."},
			func() float64 { return float64(stats().Events) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "imbridge_spool_bytes", Help: "Bytes on disk (compressed) of the spool's records not yet published."},
			func() float64 { return float64(stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "imbridge_spool_limit_bytes", Help: "The most bytes the spool may hold on disk (IMBRIDGE_SPOOL_MAX_BYTES, or 80% of its volume); beyond it callbacks get 503."},
			func() float64 { return float64(stats().Limit) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "imbridge_spool_oldest_age_seconds", Help: "Age of the oldest record not yet published; 0 when the spool is empty."},
			func() float64 {
				if o := stats().Oldest; !o.IsZero() {
					return now().Sub(o).Seconds()
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "imbridge_spool_syncs_total", Help: "fsyncs that committed callbacks to the spool: one per group of callbacks written together (group commit), so fewer than callbacks under load."},
			func() float64 { return float64(stats().Syncs) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "imbridge_events_dead_lettered_total", Help: "Events moved to the dead-letter topic."},
			func() float64 { return float64(deadLettered()) }),
	)
}

// RegisterDeliveryHealth adds imbridge_delivery_healthy: 1 while events reach Kafka,
// 0 while health returns an error (spool mode: Kafka failing for longer than
// IMBRIDGE_KAFKA_UNREACHABLE_AFTER, an event stuck, the spool unreadable). Readiness
// does not follow it: the spool takes callbacks meanwhile.
func (m *Metrics) RegisterDeliveryHealth(health func() error) {
	m.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "imbridge_delivery_healthy",
		Help: "1 while events reach Kafka; 0 while Kafka has failed for longer than IMBRIDGE_KAFKA_UNREACHABLE_AFTER or an event is stuck (/readyz says why under \"delivery\")."},
		func() float64 {
			if health() != nil {
				return 0
			}
			return 1
		}))
}

// Quarantined counts a callback kept in quarantine, by kind (bad_request, too_large,
// unsupported, unavailable).
func (m *Metrics) Quarantined(kind string) { m.quarantined.WithLabelValues(kind).Inc() }

// ReadyTimeout bounds one evaluation of imbridge_ready, so that a scrape is not held
// by a broker that does not answer (sync mode).
const ReadyTimeout = 2 * time.Second

// RegisterReadiness adds imbridge_ready: 1 while ready returns nil, 0 otherwise,
// evaluated at each scrape as /readyz is at each probe (ready is what /readyz asks).
func (m *Metrics) RegisterReadiness(ready func(context.Context) error) {
	m.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "imbridge_ready",
		Help: "1 while the replica takes callbacks (what /readyz answers 200 for), 0 while it does not: spool at its limit or unwritable (spool mode), Kafka not answering (sync mode), shutting down. Chat's callbacks to a replica that is not ready are lost unless the load balancer sends them elsewhere."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), ReadyTimeout)
			defer cancel()
			if ready(ctx) != nil {
				return 0
			}
			return 1
		}))
}

// fsyncBuckets are the bounds of imbridge_spool_fsync_seconds: from a local SSD's
// fractions of a millisecond to a throttled network volume's second.
var fsyncBuckets = []float64{0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// SpoolSyncObserver registers imbridge_spool_fsync_seconds and returns what observes
// it: spool.Options.ObserveSync.
func (m *Metrics) SpoolSyncObserver() func(time.Duration) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "imbridge_spool_fsync_seconds",
		Help:    "How long each fsync that committed callbacks to the spool took (spool mode): a callback's answer waits for one, so a slow or throttled volume shows here first.",
		Buckets: fsyncBuckets})
	m.Register(h)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}
