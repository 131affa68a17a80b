// Command imbridge is the Tencent Cloud Chat callback bridge: `imbridge serve` answers
// Chat's after-event webhooks and publishes their events to Kafka (bridge.DefaultRoutes).
// This package only wires: configuration, logger, Kafka publisher, delivery, HTTP
// servers, signals and the shutdown order.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/imbridge/imbridge/bridge"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// usage is the top-level help; its list of callbacks is the routing table.
func usage() string {
	var b strings.Builder
	b.WriteString(`Usage: imbridge COMMAND [flags]

imbridge receives Tencent Cloud Chat's notification webhooks (and the Call product's,
which use Chat's protocol), verifies them and publishes them to Kafka: one event per
pair, member, message, push result or callback (the README's route table says which).
The callbacks it routes, with their default topics and event types:

`)
	width, topicWidth := 0, 0
	for _, r := range bridge.DefaultRoutes {
		width, topicWidth = max(width, len(r.Command)), max(topicWidth, len(r.Topic))
	}
	for _, r := range bridge.DefaultRoutes {
		fmt.Fprintf(&b, "  %-*s %-*s %s\n", width, r.Command, topicWidth, r.Topic, r.Type)
	}
	b.WriteString(`
Any other command is answered OK and published to imbridge.unrouted as sent
(IMBRIDGE_TOPIC_UNROUTED). An authenticated callback that cannot be mapped is answered OK
and kept whole, with the reason, on imbridge.quarantine (IMBRIDGE_TOPIC_QUARANTINE): Chat
never sends a callback again. Keep Chat's before-callbacks off imbridge's URL: Chat
reads OK as "allow" (imbridge counts them as command "before" and warns in the log).

Commands:
  serve     run the bridge (imbridge serve --help lists every setting)
  check     check Kafka as serve would use it (serve's settings of brokers, security and
            topics alone): the brokers answer, every topic exists and takes acks=all
  sign      add Sign and RequestTime to a callback URL (imbridge sign --help)
  sample    print a route's documented sample body, or sign and post it with --post
            URL (imbridge sample --help)
  spool     imbridge spool status DIR says what a spool holds, live or not; imbridge
            spool drain DIR forwards a stopped replica's backlog to Kafka and exits when
            it is empty (imbridge spool --help)
  replay    map callbacks kept on the quarantine or unrouted topic again and publish
            their events, with the eventIds they would have had (imbridge replay --help)
  dlq       imbridge dlq redrive publishes the events on the dead-letter topic again to
            the topics that refused them, once they fit (imbridge dlq --help)
  probe     GET an admin URL (default http://127.0.0.1:9090/readyz); exit 0 on 200, for
            container healthchecks in images without a shell
  version   print the version
`)
	return b.String()
}

func run(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], lookup, stdout, stderr)
	case "sign":
		return sign(args[1:], lookup, stdout, stderr)
	case "check":
		return check(args[1:], lookup, stdout, stderr)
	case "sample":
		return sample(args[1:], lookup, stdout, stderr)
	case "probe":
		return probe(args[1:], stdout, stderr)
	case "spool":
		return spoolCommand(args[1:], lookup, stdout, stderr)
	case "replay":
		return replayCommand(args[1:], lookup, stdout, stderr)
	case "dlq":
		return dlqCommand(args[1:], lookup, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "imbridge", versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage())
		return 0
	default:
		fmt.Fprintf(stderr, "imbridge: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
}

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
