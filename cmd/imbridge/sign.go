package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge"
)

const signUsage = `Usage: IMBRIDGE_CALLBACK_TOKEN=TOKEN imbridge sign [--time now|UNIXSECONDS] URL

Prints URL with RequestTime and Sign (SHA-256 of token + RequestTime, lowercase hex)
added, as Chat sends them when callback authentication is on. Use it for curl tests and
to compare with what Chat's console shows. The token comes from IMBRIDGE_CALLBACK_TOKEN
(the first of a comma-separated list) or the file IMBRIDGE_CALLBACK_TOKEN_FILE names;
--token TOKEN works too, but puts the token in the process's arguments, which every user
of the machine can read.
`

func sign(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imbridge sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, signUsage) }
	token := fs.String("token", "", "callback token")
	at := fs.String("time", "now", "RequestTime: Unix seconds, or now")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *token == "" {
		if v, ok := lookup("IMBRIDGE_CALLBACK_TOKEN"); ok {
			*token, _, _ = strings.Cut(v, ",")
		} else if f, ok := lookup("IMBRIDGE_CALLBACK_TOKEN_FILE"); ok && f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintf(stderr, "imbridge sign: IMBRIDGE_CALLBACK_TOKEN_FILE: %v\n", err)
				return 2
			}
			first, _, _ := strings.Cut(strings.ReplaceAll(string(b), "\n", ","), ",")
			*token = strings.TrimSpace(first)
		}
	}
	if *token == "" || fs.NArg() != 1 {
		fmt.Fprint(stderr, "imbridge sign: a token and one URL are required\n\n"+signUsage)
		return 2
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "imbridge sign: %v\n", err)
		return 2
	}
	rt := strconv.FormatInt(time.Now().Unix(), 10)
	if *at != "now" {
		n, ok := bridge.ParseRequestTime(*at)
		if !ok {
			fmt.Fprintf(stderr, "imbridge sign: --time %q: expected Unix seconds or now\n", *at)
			return 2
		}
		rt = strconv.FormatInt(n, 10)
	}
	q := u.Query()
	q.Set(bridge.ParamRequestTime, rt)
	q.Set(bridge.ParamSign, bridge.Sign(*token, rt))
	u.RawQuery = q.Encode()
	fmt.Fprintln(stdout, u.String())
	return 0
}
