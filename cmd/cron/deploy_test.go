package main

// deploy/supervisord-watch.conf as shipped, with only its paths moved into
// a temporary folder, under a real supervisord: its environment section
// parses, and the checker it starts accepts the configuration it gives.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDeploySupervisordWatchConf(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("supervisord")
	if err != nil {
		t.Fatal("supervisord not installed: run `make tools` (apt-get install -y supervisor)")
	}
	conf, err := os.ReadFile("../../deploy/supervisord-watch.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "svw") // a short path for the socket
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	envFile := filepath.Join(dir, "env")
	writeFile(t, envFile, "EXT_CLOUD_FAILOVER_LIST=NAM=nam.example.com,EU=eu.example.com,APAC=apac.example.com\n"+
		"CONNECTION_KEEPALIVE_ORG_ID=org-1\nCONNECTION_KEEPALIVE_TXN_ID=txn-1\n")
	text := strings.NewReplacer(
		"/var/run/supervisor.sock", filepath.Join(dir, "s.sock"),
		"/var/log/supervisor/supervisord.log", filepath.Join(dir, "supervisord.log"),
		"/var/run/supervisord.pid", filepath.Join(dir, "supervisord.pid"),
		"/etc/extcloud-failover/env", envFile,
		"/opt/application/tmp/", dir+"/",
		// validate instead of watch: it prints what it accepted and exits.
		"exec /usr/local/bin/extcloud-failover watch", "exec "+binPath+" validate",
		"stdout_logfile=/dev/stdout", "stdout_logfile="+filepath.Join(dir, "watch.log"),
	).Replace(string(conf))
	if strings.Contains(text, "/usr/local/bin") || !strings.Contains(text, binPath+" validate") {
		t.Fatalf("the substitutions no longer fit deploy/supervisord-watch.conf:\n%s", text)
	}
	path := filepath.Join(dir, "supervisord.conf")
	writeFile(t, path, text)
	cmd := exec.Command(bin, "-c", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(dir, "supervisord.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	want := "configuration ok: 3 regions, primary NAM, state " + dir + "/extcloud-failover.state.json, env file " + dir + "/ext_cloud.env"
	deadline := time.Now().Add(15 * time.Second)
	for {
		log, _ := os.ReadFile(filepath.Join(dir, "watch.log"))
		if strings.Contains(string(log), want) {
			break
		}
		if strings.Contains(string(log), "extcloud-failover:") || time.Now().After(deadline) {
			sv, _ := os.ReadFile(filepath.Join(dir, "supervisord.out"))
			t.Fatalf("the checker under deploy/supervisord-watch.conf printed %q, want %q\nsupervisord: %s", log, want, sv)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}
