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
		t, err := signingToken(lookup)
		if err != nil {
			fmt.Fprintf(stderr, "imbridge sign: %v\n", err)
			return 2
		}
		*token = t
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
	rt := time.Now().Unix()
	if *at != "now" {
		n, ok := bridge.ParseRequestTime(*at)
		if !ok {
			fmt.Fprintf(stderr, "imbridge sign: --time %q: expected Unix seconds or now\n", *at)
			return 2
		}
		rt = n
	}
	signURL(u, *token, rt)
	fmt.Fprintln(stdout, u.String())
	return 0
}

// signingToken is the token that sign and sample sign with: the first of
// IMBRIDGE_CALLBACK_TOKEN's comma-separated list, or the first line of the file
// IMBRIDGE_CALLBACK_TOKEN_FILE names; "" when neither is set.
func signingToken(lookup func(string) (string, bool)) (string, error) {
	if v, ok := lookup("IMBRIDGE_CALLBACK_TOKEN"); ok {
		first, _, _ := strings.Cut(v, ",")
		return first, nil
	}
	if f, ok := lookup("IMBRIDGE_CALLBACK_TOKEN_FILE"); ok && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("IMBRIDGE_CALLBACK_TOKEN_FILE: %w", err)
		}
		first, _, _ := strings.Cut(strings.ReplaceAll(string(b), "\n", ","), ",")
		return strings.TrimSpace(first), nil
	}
	return "", nil
}

// signURL sets u's RequestTime to rt (Unix seconds) and its Sign to the signature with
// token, as Chat does when callback authentication is on.
func signURL(u *url.URL, token string, rt int64) {
	q := u.Query()
	q.Set(bridge.ParamRequestTime, strconv.FormatInt(rt, 10))
	q.Set(bridge.ParamSign, bridge.Sign(token, strconv.FormatInt(rt, 10)))
	u.RawQuery = q.Encode()
}
