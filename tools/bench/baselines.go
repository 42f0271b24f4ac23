// This file holds the baselines each figure is measured against in the same
// run: tiny programs built and timed beside the real binaries.

package main

import "context"

// bareGetSrc is the floor of a Go one-shot: one GET with net/http, body
// read, exit code from the status.
const bareGetSrc = `package main

import (
	"io"
	"net/http"
	"os"
)

func main() {
	resp, err := http.Get(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		os.Exit(1)
	}
}
`

// minRuntimeSrc is the floor of a Go custom Lambda runtime: it reads events
// from the Runtime API, does one GET of PROBE_URL per event and posts a
// small JSON response. No SDK, no configuration, no state.
const minRuntimeSrc = `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	probe := os.Getenv("PROBE_URL")
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		healthy := false
		if pr, err := http.Get(probe); err == nil {
			io.Copy(io.Discard, pr.Body)
			pr.Body.Close()
			healthy = pr.StatusCode == 200
		}
		body := fmt.Sprintf("{\"healthy\":%t}", healthy)
		out, err := http.Post(api+id+"/response", "application/json", strings.NewReader(body))
		if err != nil {
			os.Exit(1)
		}
		io.Copy(io.Discard, out.Body)
		out.Body.Close()
	}
}
`

// baselines are the programs built for this run.
type baselines struct {
	bareGet    string
	minRuntime string
	python     string // the real interpreter, not a version-manager shim
}

func (b *bench) buildBaselines(ctx context.Context) error {
	var err error
	if b.base.bareGet, err = b.buildGoFile(ctx, "bareget", bareGetSrc); err != nil {
		return err
	}
	if b.base.minRuntime, err = b.buildGoFile(ctx, "minruntime", minRuntimeSrc); err != nil {
		return err
	}
	b.base.python, err = realPython(ctx)
	return err
}
