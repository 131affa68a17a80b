package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// probe is a healthcheck for images without a shell or curl: GET url, exit 0 on 200.
func probe(args []string, stdout, stderr io.Writer) int {
	url := "http://127.0.0.1:9090/readyz"
	if len(args) > 1 {
		fmt.Fprintln(stderr, "usage: imbridge probe [URL]")
		return 2
	}
	if len(args) == 1 {
		url = args[0]
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge probe: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(stdout, "%d %s\n", resp.StatusCode, strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
