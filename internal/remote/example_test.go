package remote_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"extcloud-failover/internal/remote"
)

func ExampleRender() {
	os.Stdout.Write(remote.Render(remote.Target{Region: "EU", Cloud: "eu.cloud.example", Generation: 3}))
	os.Stdout.Write(remote.EnvPlain.Render(remote.Target{Region: "EU", Cloud: "eu.cloud.example", Generation: 3}))
	// Output:
	// # Written by extcloud-failover; do not edit. Generation 3, region EU.
	// export EXT_CLOUD=eu.cloud.example
	// export EXT_REGION=EU
	// export EXT_CLOUD_REGION=EU
	// export EXT_CLOUD_GENERATION=3
	// # Written by extcloud-failover; do not edit. Generation 3, region EU.
	// EXT_CLOUD=eu.cloud.example
	// EXT_REGION=EU
	// EXT_CLOUD_REGION=EU
	// EXT_CLOUD_GENERATION=3
}

func ExampleWriteEnvFile() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ext_cloud.env")

	eu := remote.Target{Region: "EU", Cloud: "eu.cloud.example", Generation: 3}
	changed, err := remote.WriteEnvFile(path, eu)
	fmt.Println(changed, err)
	changed, err = remote.WriteEnvFile(path, eu) // same content: not rewritten
	fmt.Println(changed, err)
	_, err = remote.WriteEnvFile(path, remote.Target{Region: "NAM", Cloud: "nam.cloud.example", Generation: 2})
	fmt.Println(err != nil)

	e, err := remote.ReadEnvFile(path)
	fmt.Println(e.Region, e.Generation, err)
	// Output:
	// true <nil>
	// false <nil>
	// true
	// EU 3 <nil>
}

func ExampleSupervisor_Push() {
	s, err := remote.NewSupervisor(remote.SupervisorConfig{
		URLs:     []string{"unix:///var/run/supervisor.sock", "http://ops:secret@10.0.0.2:9001/RPC2"},
		Programs: []string{"app", "workers:*"},
		EnvFile:  "/opt/application/tmp/ext_cloud.env",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Hosts())

	// Push writes the env file once, then restarts the programs on every
	// supervisord; per-host failures are in res.Failed.
	ctx := context.Background()
	res, err := s.Push(ctx, remote.Target{Region: "EU", Cloud: "eu.cloud.example", Generation: 3}, nil)
	if err != nil {
		fmt.Println("env file:", err)
		return
	}
	for host, herr := range res.Failed {
		fmt.Println(host, herr)
	}
}
