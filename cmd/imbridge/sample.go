package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/imbridge/imbridge/bridge"
)

const sampleUsage = `Usage: imbridge sample COMMAND
       imbridge sample --list
       IMBRIDGE_SDKAPPID=ID IMBRIDGE_CALLBACK_TOKEN=TOKEN imbridge sample --post URL COMMAND

Prints the documented sample body of a route's callback (COMMAND is its CallbackCommand,
such as Group.CallbackAfterNewMemberJoin, or its route name, such as
group-member-joined): Chat's sample from its documentation, as imbridge's tests map it.
--list lists every routed command with its route name and default topic.

With --post URL (the callback URL, such as http://127.0.0.1:8080/callback), it posts the
sample as Chat would: the query gets SdkAppid (--sdkappid, or IMBRIDGE_SDKAPPID),
CallbackCommand, contenttype=json, ClientIP=127.0.0.1, OptPlatform=RESTAPI, RequestTime
(now) and Sign, made with the token as imbridge sign makes it (IMBRIDGE_CALLBACK_TOKEN,
the first of its list, or the file IMBRIDGE_CALLBACK_TOKEN_FILE names; --token works too
but shows in the process list). It prints the status and the answer; the exit status is
0 when the answer is 200 with ActionStatus OK, 1 otherwise.

Flags:
  --list            list the routed commands
  --post URL        sign and post the sample to URL
  --sdkappid ID     the SDKAppID of the query (default: IMBRIDGE_SDKAPPID)
  --token TOKEN     the callback token (default: IMBRIDGE_CALLBACK_TOKEN)
  --timeout D       how long to wait for the answer (default 10s)
`

// sample prints a route's documented sample callback body, or posts it signed.
func sample(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imbridge sample", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	list := fs.Bool("list", false, "")
	post := fs.String("post", "", "")
	appID := fs.String("sdkappid", "", "")
	token := fs.String("token", "", "")
	timeout := fs.Duration("timeout", 10*time.Second, "")
	bad := usageError(stderr, "sample", "Usage: imbridge sample [--list] [--post URL [--sdkappid ID]] COMMAND (imbridge sample --help)\n")
	var names []string
	for { // flags before and after COMMAND
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, sampleUsage)
				return 0
			}
			return bad("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		names, args = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	if *list {
		if len(names) > 0 {
			return bad("--list takes no COMMAND")
		}
		for _, r := range bridge.DefaultRoutes {
			fmt.Fprintf(stdout, "%-56s %-32s %s\n", r.Command, r.Name, r.Topic)
		}
		return 0
	}
	if len(names) != 1 {
		return bad("one COMMAND is required (imbridge sample --list lists them)")
	}
	route, ok := findRoute(names[0])
	if !ok {
		return bad("%q is neither a routed command nor a route name (imbridge sample --list lists them)", names[0])
	}
	body, err := bridge.Sample(route)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge sample: %v\n", err)
		return 1
	}
	if *post == "" {
		_, _ = stdout.Write(body)
		return 0
	}
	u, err := callbackURL(*post, *appID, *token, route.Command, lookup)
	if err != nil {
		return bad("%v", err)
	}
	return postSample(u, withAppID(body, u.Query().Get(bridge.ParamSDKAppID)), *timeout, stdout, stderr)
}

// withAppID is body with its top-level SdkAppId (ContentCallback.ResultNotify's
// sample carries one, which imbridge checks against the query's) set to appID; a body
// without one is returned as it is.
func withAppID(body []byte, appID string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	if _, ok := m["SdkAppId"]; !ok {
		return body
	}
	m["SdkAppId"] = json.RawMessage(appID)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(m) != nil {
		return body
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// findRoute finds a default route by command or by name.
func findRoute(name string) (bridge.Route, bool) {
	for _, r := range bridge.DefaultRoutes {
		if r.Command == name || r.Name == name {
			return r, true
		}
	}
	return bridge.Route{}, false
}

// callbackURL is raw with the query Chat sends for command, signed now.
func callbackURL(raw, appID, token, command string, lookup func(string) (string, bool)) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--post %q: expected an http or https URL, such as http://127.0.0.1:8080/callback", raw)
	}
	if appID == "" {
		appID, _ = lookup("IMBRIDGE_SDKAPPID")
	}
	if _, err := strconv.ParseUint(appID, 10, 64); err != nil {
		return nil, fmt.Errorf("--post needs the SDKAppID: --sdkappid or IMBRIDGE_SDKAPPID (a number), not %q", appID)
	}
	if token == "" {
		if token, err = signingToken(lookup); err != nil {
			return nil, err
		}
	}
	if token == "" {
		return nil, errors.New("--post needs the callback token: IMBRIDGE_CALLBACK_TOKEN, IMBRIDGE_CALLBACK_TOKEN_FILE or --token")
	}
	q := u.Query()
	q.Set(bridge.ParamSDKAppID, appID)
	q.Set(bridge.ParamCallbackCommand, command)
	q.Set(bridge.ParamContentType, "json")
	q.Set(bridge.ParamClientIP, "127.0.0.1")
	q.Set(bridge.ParamOptPlatform, "RESTAPI")
	u.RawQuery = q.Encode()
	signURL(u, token, time.Now().Unix())
	return u, nil
}

// postSample posts body to u and prints the status and the answer.
func postSample(u *url.URL, body []byte, timeout time.Duration, stdout, stderr io.Writer) int {
	client := &http.Client{Timeout: timeout}
	resp, err := client.Post(u.String(), "application/json", bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds the signature
		}
		fmt.Fprintf(stderr, "imbridge sample: POST %s://%s%s: %v\n", u.Scheme, u.Host, u.Path, err)
		return 1
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "%d %s\n", resp.StatusCode, bytes.TrimSpace(answer))
	var a struct{ ActionStatus string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(answer, &a) != nil || a.ActionStatus != "OK" {
		return 1
	}
	return 0
}
