package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/imbridge/imbridge/bridge"
)

// Load describes one run of signed Sns.CallbackBlackListDelete callbacks.
type Load struct {
	URL         string  // callback URL without query
	AppID       string  // SdkAppid
	Token       string  // callback token
	Connections int     // concurrent keep-alive connections
	Rate        float64 // callbacks per second; 0 means as fast as possible
	Pairs       int     // pairs per callback
	// MessageBytes, when above 0, sends one-to-one message callbacks
	// (C2C.CallbackAfterSendMsg, one event each, Pairs taken as 1) whose text is this
	// many bytes, instead of blocklist removals.
	MessageBytes int
	// Mixed, when true, sends the mixed load instead (see mix.go): by count 70%
	// one-to-one messages of about 1 KiB, 20% group joins of 20 members, 10% blocklist
	// removals of 3 pairs; MessageBytes and Pairs are not used.
	Mixed    bool
	Duration time.Duration // how long to send
	// dial opens connections; nil means a net.Dialer's (tests count with it).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Result is what one run measured.
type Result struct {
	RunID    string
	Sent     int64
	OK       int64
	ByStatus map[int]int64
	Errors   int64 // transport errors (no answer)
	Elapsed  time.Duration
	Latency  *hdrhistogram.Histogram // answer latency, microseconds, from the intended send time
	Events   int64                   // events the callbacks answered 200 OK carry
	acked    []ackedCallback         // callbacks answered 200 OK
}

type ackedCallback struct {
	key, seq int       // From_Account index and callback number: see accounts
	sent     time.Time // intended send time
}

var okBody = []byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)

// accounts returns the From_Account of key and the To_Account of pair j of callback
// seq: unique per run, so that the checker can tell every pair apart.
func accounts(run string, key, seq, j int) (string, string) {
	return "b" + run + "k" + strconv.Itoa(key), strconv.Itoa(seq) + "-" + strconv.Itoa(j)
}

func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// commandMessage is the command of message loads.
const commandMessage = "C2C.CallbackAfterSendMsg"

// messageBody is a one-to-one message callback from the run's account of key to the
// receiver of callback seq, with a text of size bytes.
func messageBody(run string, key, seq, size int) []byte {
	from, to := accounts(run, key, seq, 0)
	msgKey := strconv.Itoa(seq) + "_" + strconv.Itoa(key)
	return []byte(`{"CallbackCommand":"` + commandMessage + `","From_Account":"` + from + `","To_Account":"` + to +
		`","MsgSeq":` + strconv.Itoa(seq%(1<<31)) + `,"MsgRandom":` + strconv.Itoa(key) + `,"MsgTime":1669872112,"MsgKey":"` + msgKey +
		`","OnlineOnlyFlag":0,"SendMsgResult":0,"ErrorInfo":"send msg succeed","UnreadMsgNum":1,` +
		`"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"` + strings.Repeat("m", size) + `"}}],"CloudCustomData":""}`)
}

func body(run string, key, seq, pairs int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[`)
	for j := 0; j < pairs; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		from, to := accounts(run, key, seq, j)
		b.WriteString(`{"From_Account":"` + from + `","To_Account":"` + to + `"}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// commandBlocklist is the command of blocklist loads.
const commandBlocklist = "Sns.CallbackBlackListDelete"

// command is the CallbackCommand of callback seq.
func (l Load) command(seq int) string {
	switch {
	case l.Mixed:
		return mixCommand(seq)
	case l.MessageBytes > 0:
		return commandMessage
	}
	return commandBlocklist
}

// events is the number of events callback seq carries once imbridge maps it.
func (l Load) events(seq int) int {
	switch l.command(seq) {
	case commandMessage:
		return 1
	case commandGroupJoin:
		return mixMembers
	}
	if l.Mixed {
		return mixPairs
	}
	return l.Pairs
}

func (l Load) signedURL(command string, now time.Time) string {
	rt := strconv.FormatInt(now.Unix(), 10)
	return l.URL + "?SdkAppid=" + l.AppID + "&CallbackCommand=" + command + "&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI" +
		"&RequestTime=" + rt + "&Sign=" + bridge.Sign(l.Token, rt)
}

// body is the callback body of job j.
func (l Load) body(run string, j job) []byte {
	switch {
	case l.Mixed:
		return mixBody(run, j.key, j.seq)
	case l.MessageBytes > 0:
		return messageBody(run, j.key, j.seq, l.MessageBytes)
	}
	return body(run, j.key, j.seq, l.Pairs)
}

type job struct {
	key, seq int
	intended time.Time
}

// Run sends the load and measures answers. In fixed-rate mode (Rate > 0) a scheduler
// issues callbacks at their intended times whether or not earlier ones were answered,
// and latency counts from the intended time, so queueing is not hidden (no coordinated
// omission). A progress line goes to progress every second.
func (l Load) Run(ctx context.Context, run string, progress io.Writer) *Result {
	res := &Result{RunID: run, ByStatus: map[int]int64{}, Latency: hdrhistogram.New(1, 60_000_000, 3)}
	dial := l.dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	// Every connection is open before the first callback is sent, so that no callback
	// waits for a dial: at a fixed rate those waits were the first second's stall.
	opened := openConnections(ctx, dial, l.URL, l.Connections, time.Now)
	defer opened.close()
	transport := &http.Transport{
		DialContext:         opened.dialContext,
		MaxIdleConns:        l.Connections,
		MaxIdleConnsPerHost: l.Connections,
		MaxConnsPerHost:     l.Connections,
		IdleConnTimeout:     90 * time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()
	jobs := make(chan job, 1<<16)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < l.Connections; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq := 0
			for {
				var j job
				if l.Rate > 0 {
					var ok bool
					select {
					case j, ok = <-jobs:
						if !ok {
							return
						}
					case <-ctx.Done():
						return
					}
				} else {
					if ctx.Err() != nil {
						return
					}
					j = job{key: w, seq: seq, intended: time.Now()}
					seq++
				}
				status, err := l.send(client, res.RunID, j)
				took := time.Since(j.intended)
				mu.Lock()
				res.Sent++
				if err != nil {
					res.Errors++
				} else {
					res.ByStatus[status]++
					_ = res.Latency.RecordValue(took.Microseconds())
					if status == 200 {
						res.OK++
						res.Events += int64(l.events(j.seq))
						res.acked = append(res.acked, ackedCallback{key: j.key, seq: j.seq, sent: j.intended})
					}
				}
				mu.Unlock()
			}
		}()
	}
	if l.Rate > 0 {
		go func() {
			defer close(jobs)
			interval := time.Duration(float64(time.Second) / l.Rate)
			next := start
			for seq := 0; ; seq++ {
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(d):
					}
				} else if ctx.Err() != nil {
					return
				}
				select {
				case jobs <- job{key: seq % l.Connections, seq: seq, intended: next}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mu.Lock()
				fmt.Fprintf(progress, "  %4.0fs  %d sent, %d ok, p99 so far %.2f ms\n", time.Since(start).Seconds(), res.Sent, res.OK,
					float64(res.Latency.ValueAtQuantile(99))/1000)
				mu.Unlock()
			}
		}
	}()
	wg.Wait()
	close(done)
	res.Elapsed = time.Since(start)
	return res
}

// send posts one callback and returns its status (-1 for a 200 with a wrong body).
func (l Load) send(client *http.Client, run string, j job) (int, error) {
	resp, err := client.Post(l.signedURL(l.command(j.seq), j.intended), "application/json", bytes.NewReader(l.body(run, j)))
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 && !bytes.Equal(b, okBody) {
		return -1, nil // a 200 with a wrong body counts as its own status
	}
	return resp.StatusCode, nil
}
