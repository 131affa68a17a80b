// Loading serve's configuration from defaults, environment and flags, and its help.

package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/imbridge/imbridge/bridge/tracing"
)

// loadConfig builds the configuration from defaults, the environment (lookup) and
// the command-line flags, in that order of precedence, and validates it. The error
// names the variable or flag, the value (never a secret's) and what is expected.
// flag.ErrHelp is returned after serve's help text was written to out.
func loadConfig(args []string, lookup func(string) (string, bool), out io.Writer) (Config, error) {
	return loadConfigFor("serve", args, lookup, out)
}

// loadConfigFor is loadConfig for command (serve or check), whose help --help prints.
func loadConfigFor(command string, args []string, lookup func(string) (string, bool), out io.Writer) (Config, error) {
	c, errs, err := parseSettings(command, settings, args, lookup, out)
	if err != nil {
		return Config{}, err
	}
	if len(errs) > 0 {
		return Config{}, errs[0]
	}
	if c.Tracing, err = tracing.ReadSettings(func(k string) string { v, _ := lookup(k); return v }); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// parseSettings reads list from defaults, the environment (lookup) and the flags of
// command. err is a bad command line (flag.ErrHelp after command's help was written to
// out); errs are the settings whose values could not be read, in list's order, each
// naming the variable or flag and the value (never a secret's). Nothing is validated
// across settings.
func parseSettings(command string, list []setting, args []string, lookup func(string) (string, bool), out io.Writer) (c Config, errs []error, err error) {
	values := make([]string, len(list))
	from := make([]string, len(list))
	for i, s := range list {
		values[i], from[i] = s.def, ""
		if v, ok := lookup(s.env); ok {
			values[i], from[i] = v, s.env
		}
	}
	fs := flag.NewFlagSet("imbridge "+command, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { commandUsage(command, out) }
	for i, s := range list {
		fs.Func(s.flag, s.usage, func(v string) error {
			values[i], from[i] = v, "--"+s.flag
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	if fs.NArg() > 0 {
		return Config{}, nil, fmt.Errorf("%s takes no arguments, got %q", command, fs.Arg(0))
	}
	for i, s := range list {
		if from[i] == "" && s.def == "" {
			continue
		}
		if err := s.set(&c, values[i]); err != nil {
			shown := strconv.Quote(values[i])
			if s.secret {
				shown = "<secret>"
			}
			errs = append(errs, fmt.Errorf("%s=%s: expected %v", from[i], shown, err))
			continue
		}
		if s.secret && strings.HasPrefix(from[i], "--") && values[i] != "" {
			c.SecretFlags = append(c.SecretFlags, from[i])
		}
	}
	for i, s := range list {
		v := values[i]
		if s.secret && v != "" {
			v = "<secret>"
		}
		c.effective = append(c.effective, effectiveSetting{strings.ToLower(strings.TrimPrefix(s.env, "IMBRIDGE_")), v})
	}
	return c, errs, nil
}

// commandUsage prints the help of serve or check: what it does, then every setting.
func commandUsage(command string, out io.Writer) {
	list := settings
	switch command {
	case "check":
		fmt.Fprint(out, `Usage: imbridge check [flags]

Checks Kafka as serve would use it: the brokers answer with the security settings, and
the topic of every switched-on route (and the quarantine and DLQ topics) exists, every
partition has a leader and enough in-sync replicas for acks=all, and the quarantine
topic holds a body of IMBRIDGE_BODY_LIMIT. It reads only the settings below, serve's
settings of brokers, security and topics (serve's others, such as the callback token or
the spool, are neither needed nor read), and reports every problem it finds at once:
one line per check, ok, WARN (passed, needs attention) or FAIL; the exit status is 1
when any failed. Every flag can also be set by the environment variable named beside
it; a flag wins over the variable.

`)
		list = checkSettings()
	default:
		fmt.Fprint(out, `Usage: imbridge serve [flags]

Runs the callback endpoint for Tencent Cloud Chat's after-event webhooks (and the Call
product's): it verifies each callback (SDKAppID, token signature, shape), keeps its
events (spooled to disk, or acknowledged by Kafka in sync mode), answers Chat OK, and
publishes the events to Kafka, one topic per area: every route is listed by
imbridge --help, with its topic and event type. A command without a route goes whole
to the unrouted topic, a callback that cannot be mapped to the quarantine topic.
Before-callbacks do not belong on this URL: Chat reads OK as "allow".
Every flag can also be set by the environment variable named beside it; a flag wins
over the variable.

`)
	}
	for _, s := range list {
		def := ""
		if s.def != "" {
			def = fmt.Sprintf(" (default %q)", s.def)
		}
		fmt.Fprintf(out, "  --%s %s\n      %s%s\n      %s\n", s.flag, s.meta, s.env, def, s.usage)
	}
	if command == "serve" {
		fmt.Fprint(out, tracingUsage)
	}
}

// tracingUsage ends serve's help: tracing takes the standard variables only.
const tracingUsage = `
Tracing (OpenTelemetry) is off unless the standard variables ask for it:
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, or
OTEL_TRACES_EXPORTER=otlp; OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true turn it
off. OTEL_EXPORTER_OTLP_PROTOCOL is http/protobuf (default) or grpc; the endpoint,
headers, TLS, OTEL_TRACES_SAMPLER, OTEL_BSP_* and OTEL_SERVICE_NAME (default imbridge)
are read as the OpenTelemetry SDK documents them. Each callback gets a server span, each
topic of its events a producer span "send <topic>", and each record a traceparent
header naming it.
`
