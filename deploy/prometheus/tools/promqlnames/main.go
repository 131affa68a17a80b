// Command promqlnames parses PromQL expressions with Prometheus's own parser and says
// which metrics each one reads. It reads a JSON array of expressions on stdin and writes
// a JSON array of {"expr", "metrics", "error"} on stdout, one per expression in order;
// "metrics" lists the metric names of the expression's selectors, sorted and without
// repeats. It exits 1 if any expression does not parse or has a selector without a
// metric name (whose metrics no one can check), 2 if stdin is not a JSON array of
// strings. The tests of cmd/imbridge run it on the dashboard's and the alert rules'
// expressions to hold them to the metrics imbridge exports.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/prometheus/prometheus/promql/parser"
)

// result is what promqlnames says about one expression.
type result struct {
	Expr    string   `json:"expr"`
	Metrics []string `json:"metrics"`
	Error   string   `json:"error,omitempty"`
}

func main() { os.Exit(run()) }

func run() int {
	var exprs []string
	if err := json.NewDecoder(os.Stdin).Decode(&exprs); err != nil {
		fmt.Fprintf(os.Stderr, "promqlnames: stdin: want a JSON array of PromQL expressions: %v\n", err)
		return 2
	}
	p := parser.NewParser(parser.Options{})
	results, code := make([]result, 0, len(exprs)), 0
	for _, e := range exprs {
		r := names(p, e)
		if r.Error != "" {
			code = 1
		}
		results = append(results, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(results); err != nil {
		fmt.Fprintf(os.Stderr, "promqlnames: stdout: %v\n", err)
		return 2
	}
	return code
}

// names parses expr and collects the metric names of its selectors.
func names(p parser.Parser, expr string) result {
	r := result{Expr: expr, Metrics: []string{}}
	ast, err := p.ParseExpr(expr)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name == "" {
			r.Error = fmt.Sprintf("selector %s names no metric", vs)
			return nil
		}
		if !slices.Contains(r.Metrics, vs.Name) {
			r.Metrics = append(r.Metrics, vs.Name)
		}
		return nil
	})
	slices.Sort(r.Metrics)
	return r
}
