// The settings table's shape, and the setters and checks its rows share.

package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge"
)

// shortDuration writes d as time.Duration.String does, without zero units at the end
// ("5m", not "5m0s"), as the settings table shows defaults.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// setting is one configuration knob: an environment variable, the flag of the same
// meaning, its default, and how a value is stored into Config.
type setting struct {
	env, flag, def, meta, usage string
	secret                      bool
	set                         func(c *Config, v string) error
}

// settings lists every knob of `imbridge serve`, in the order --help shows them.
var settings = slices.Concat(generalSettings, routeSettings(), deliverySettings)

// routeSettings are IMBRIDGE_ROUTES and one topic setting per route.
func routeSettings() []setting {
	var names []string
	for _, r := range bridge.DefaultRoutes {
		names = append(names, r.Name)
	}
	out := []setting{{env: "IMBRIDGE_ROUTES", flag: "routes", def: strings.Join(names, ","), meta: "NAMES",
		usage: "switched-on routes, comma-separated; a command whose route is off is answered OK like a command without a route: kept whole on the unrouted topic (IMBRIDGE_TOPIC_UNROUTED), or with nothing published when that is off",
		set: func(c *Config, v string) error {
			c.Routes = nil
			for _, n := range strings.Split(v, ",") {
				if n = strings.TrimSpace(n); n == "" {
					continue
				}
				if !slices.Contains(names, n) {
					return fmt.Errorf("route names from %s", strings.Join(names, ", "))
				}
				c.Routes = append(c.Routes, n)
			}
			return nil
		}}}
	for _, r := range bridge.DefaultRoutes {
		name := r.Name
		usage := "topic for " + r.Command + " events (" + r.Type + ")"
		var shared []string
		for _, o := range bridge.DefaultRoutes {
			if o.Name != name && o.Topic == r.Topic {
				shared = append(shared, o.Name)
			}
		}
		if len(shared) > 0 {
			usage += "; shared with " + strings.Join(shared, ", ") + " by default, so that one subject's events stay in order in one partition"
		}
		out = append(out, setting{
			env:   "IMBRIDGE_TOPIC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")),
			flag:  "topic-" + name,
			def:   r.Topic,
			meta:  "TOPIC",
			usage: usage,
			set: func(c *Config, v string) error {
				if err := checkTopic(v); err != nil {
					return err
				}
				if c.Topics == nil {
					c.Topics = map[string]string{}
				}
				c.Topics[name] = v
				return nil
			},
		})
	}
	return append(out,
		setting{env: "IMBRIDGE_TOPIC_UNROUTED", flag: "topic-unrouted", def: bridge.TopicUnrouted, meta: "TOPIC",
			usage: "topic for every verified callback whose command has no route (switched on), as one imbridge.unrouted.v1 event with the body as Chat sent it, keyed by the command; off (or empty): such callbacks are answered OK and publish nothing, and are lost",
			set:   optionalTopic(func(c *Config) *string { return &c.UnroutedTopic })},
		setting{env: "IMBRIDGE_TOPIC_QUARANTINE", flag: "topic-quarantine", def: bridge.TopicQuarantine, meta: "TOPIC",
			usage: "topic for every authenticated callback that cannot be mapped (a body or field imbridge cannot read, more entries than IMBRIDGE_MAX_PAIRS, records over a topic's max.message.bytes, a Content-Encoding, no CallbackCommand): kept whole as received, the reason in headers, answered OK, since Chat never sends a callback again; its max.message.bytes must hold IMBRIDGE_BODY_LIMIT plus headers (make dev creates it with 2 MiB); off (or empty): such callbacks are refused with 400, 413 or 415, and lost",
			set:   optionalTopic(func(c *Config) *string { return &c.QuarantineTopic })})
}

// optionalTopic stores a topic name, or nothing for "off" or "".
func optionalTopic(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" || v == "off" {
			*field(c) = ""
			return nil
		}
		if err := checkTopic(v); err != nil {
			return fmt.Errorf("%w, or off", err)
		}
		*field(c) = v
		return nil
	}
}

// fileSetter reads a secret from the file named by the value; other is the variable
// holding the secret directly, which must not be set as well.
func fileSetter(other string, isSet func(*Config) bool, set func(c *Config, content string) error) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if isSet(c) {
			return fmt.Errorf("only one of %s and %s_FILE", other, other)
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("a readable file (%v)", errors.Unwrap(err))
		}
		content := strings.TrimSpace(string(b))
		if content == "" {
			return errors.New("a file that is not empty")
		}
		return set(c, content)
	}
}

func intSetter(least int, field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < least {
			return fmt.Errorf("a whole number, at least %d", least)
		}
		*field(c) = n
		return nil
	}
}

func stringSetter(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func boolSetter(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("true or false")
		}
		*field(c) = b
		return nil
	}
}

func setTokens(c *Config, v string) error {
	c.CallbackTokens = nil
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if len(t) > 128 {
			return errors.New("tokens of 1 to 128 characters, separated by commas")
		}
		c.CallbackTokens = append(c.CallbackTokens, bridge.Secret(t))
	}
	return nil
}

func durationSetter(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("a positive duration such as 1.5s or 2m")
		}
		*field(c) = d
		return nil
	}
}

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// checkTopic reports whether v is a valid Kafka topic name.
func checkTopic(v string) error {
	if !topicName.MatchString(v) || v == "." || v == ".." {
		return errors.New("a Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -")
	}
	return nil
}
