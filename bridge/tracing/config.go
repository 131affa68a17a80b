package tracing

import (
	"fmt"
	"strings"
)

// Protocols are the values of OTEL_EXPORTER_OTLP_TRACES_PROTOCOL (or
// OTEL_EXPORTER_OTLP_PROTOCOL) that imbridge exports with; http/protobuf is the default,
// as the OpenTelemetry specification says.
var Protocols = []string{"http/protobuf", "grpc"}

// Settings are what imbridge reads itself of the standard OTEL_* variables: whether to
// trace, and with which OTLP protocol. Everything else (endpoint, headers, TLS,
// timeouts, sampler, batching, service name and resource attributes) the OpenTelemetry
// SDK and its OTLP exporters read from the same variables, as they document.
type Settings struct {
	// On is true when traces are exported: OTEL_TRACES_EXPORTER=otlp, or
	// OTEL_TRACES_EXPORTER unset and an OTLP endpoint set
	// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); never with
	// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Default false.
	On bool
	// Protocol is one of Protocols. Default http/protobuf.
	Protocol string
}

// ReadSettings reads Settings with getenv (os.Getenv in the binary), or says which
// variable has a value imbridge cannot use.
func ReadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{Protocol: Protocols[0]}
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return s, nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return s, nil
	case "otlp":
		s.On = true
	case "":
		s.On = getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default:
		return s, fmt.Errorf("OTEL_TRACES_EXPORTER=%.40q: imbridge exports traces with otlp, or none", exp)
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(name)); p != "" {
			if p != Protocols[0] && p != Protocols[1] {
				return s, fmt.Errorf("%s=%.40q: expected %s", name, p, strings.Join(Protocols, " or "))
			}
			s.Protocol = p
			break
		}
	}
	return s, nil
}
