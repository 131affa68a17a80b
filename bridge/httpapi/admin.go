package httpapi

import (
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// AdminConfig configures the admin endpoints beyond /healthz and /readyz.
type AdminConfig struct {
	// Metrics, when not nil, is served at /metrics.
	Metrics http.Handler
	// Live, when not nil, decides /healthz: an error is a state the process cannot
	// leave (503, so that the orchestrator restarts it). Nil: always 200.
	Live func() error
	// Pprof serves Go's profiles at /debug/pprof/, except cmdline (the process's
	// arguments may hold a secret), with CPU profiles and traces of at most
	// MaxProfileDuration. Off by default: profiles reveal internals and cost CPU while
	// taken.
	Pprof bool
}

// MaxProfileDuration is the longest CPU profile or execution trace the admin endpoints
// take (?seconds=); longer ones are answered 400. The admin server's write timeout
// must be above it.
const MaxProfileDuration = 30 * time.Second

// capSeconds answers 400 when the request asks for more than MaxProfileDuration.
func capSeconds(h http.HandlerFunc) echo.HandlerFunc {
	return echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("seconds"); v != "" {
			sec, err := strconv.ParseFloat(v, 64)
			if err != nil || sec <= 0 || sec > MaxProfileDuration.Seconds() {
				http.Error(w, "seconds: expected a number above 0 and at most "+strconv.Itoa(int(MaxProfileDuration.Seconds())), http.StatusBadRequest)
				return
			}
		}
		h(w, r)
	}))
}

// NewAdminServer returns the Echo instance that serves /healthz, /readyz and what cfg
// turns on. /readyz is 200 while delivery can take callbacks (delivery.Ready), with
// the reason under "delivery" when a delivery that has a Health method (spool mode)
// takes callbacks but does not get them to Kafka; 503 with the reason otherwise.
func NewAdminServer(delivery bridge.Delivery, cfg AdminConfig, log *zap.Logger) *echo.Echo {
	// Scrapes and probes every few seconds: their 2xx lines only at debug.
	e := newEcho(log, nil, zap.DebugLevel, hints{
		notFound:         "the admin listener serves /healthz, /readyz and /metrics",
		methodNotAllowed: "the admin endpoints answer GET",
	})
	e.IPExtractor = echo.ExtractIPDirect()
	if cfg.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(cfg.Metrics))
	}
	if cfg.Pprof {
		e.GET("/debug/pprof/", echo.WrapHandler(http.HandlerFunc(pprof.Index)))
		e.GET("/debug/pprof/profile", capSeconds(pprof.Profile))
		e.GET("/debug/pprof/symbol", echo.WrapHandler(http.HandlerFunc(pprof.Symbol)))
		e.GET("/debug/pprof/trace", capSeconds(pprof.Trace))
		e.GET("/debug/pprof/:profile", func(c echo.Context) error {
			name := c.Param("profile")
			if name == "cmdline" {
				return echo.ErrNotFound // the arguments may hold a secret
			}
			return capSeconds(pprof.Handler(name).ServeHTTP)(c)
		})
	}
	e.GET("/healthz", func(c echo.Context) error {
		if cfg.Live != nil {
			if err := cfg.Live(); err != nil {
				return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "failed", "reason": err.Error()})
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		if err := delivery.Ready(c.Request().Context()); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
		}
		if h, ok := delivery.(healthReporter); ok {
			if err := h.Health(); err != nil {
				return c.JSON(http.StatusOK, map[string]string{"status": "ready", "delivery": err.Error()})
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	return e
}

// healthReporter is a delivery that can take callbacks while its events do not reach
// Kafka (spool mode): /readyz stays 200 and says why under "delivery".
type healthReporter interface{ Health() error }
