package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"extcloud-failover/internal/testenv"
)

var (
	svGen1 = Target{Region: "EU", Cloud: "eu.cloud.example", Generation: 1}
	svGen2 = Target{Region: "NAM", Cloud: "nam.cloud.example", Generation: 2}
)

// svNew returns a Supervisor for urls writing env in a fresh folder.
func svNew(t *testing.T, c SupervisorConfig) *Supervisor {
	t.Helper()
	if c.EnvFile == "" {
		c.EnvFile = filepath.Join(t.TempDir(), "ext_cloud.env")
	}
	s, err := NewSupervisor(c)
	if err != nil {
		t.Fatalf("NewSupervisor: %v", err)
	}
	return s
}

// svPush pushes and fails the test if the env file could not be written.
func svPush(t *testing.T, s *Supervisor, tg Target, hosts ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := s.Push(ctx, tg, hosts)
	if err != nil {
		t.Fatalf("Push(%+v): %v", tg, err)
	}
	return res
}

// svWantConverged fails unless res converged exactly hosts, in order.
func svWantConverged(t *testing.T, res Result, hosts ...string) {
	t.Helper()
	if len(res.Failed) != 0 || strings.Join(res.Converged, " ") != strings.Join(hosts, " ") {
		t.Fatalf("Push: converged %q, failed %v; want converged %q", res.Converged, res.Failed, hosts)
	}
}

// svFailed returns the error res holds for host, failing if there is none.
func svFailed(t *testing.T, res Result, host string) error {
	t.Helper()
	err := res.Failed[host]
	if err == nil {
		t.Fatalf("Push: converged %q, failed %v; want %s failed", res.Converged, res.Failed, host)
	}
	for _, h := range res.Converged {
		if h == host {
			t.Fatalf("Push: %s both converged and failed", host)
		}
	}
	return err
}

// svPID returns the pid supervisord reports for program name.
func svPID(t *testing.T, sv *testenv.Supervisord, name string) int64 {
	t.Helper()
	info, _ := sv.Call(t, "supervisor.getProcessInfo", name).(map[string]any)
	pid, ok := info["pid"].(int64)
	if !ok {
		t.Fatalf("getProcessInfo(%s) = %v: no pid", name, info)
	}
	return pid
}

// svWaitCount polls count until it equals want, within 10 s.
func svWaitCount(t *testing.T, count func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := count()
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("program started %d times, want %d", got, want)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

func TestSupervisorPushUnixSocket(t *testing.T) {
	t.Parallel()
	cmd, count := testenv.CountingProgram(t, t.TempDir())
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd}},
	})
	svWaitCount(t, count, 1)
	env := filepath.Join(t.TempDir(), "ext_cloud.env")
	s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: []string{"app"}, EnvFile: env})

	pid0 := svPID(t, sv, "app")
	svWantConverged(t, svPush(t, s, svGen1), sv.URL)
	svWaitCount(t, count, 2)
	pid1 := svPID(t, sv, "app")
	if pid1 == pid0 {
		t.Fatalf("app pid %d unchanged: not restarted", pid0)
	}
	if got := readTestFile(t, env); got != string(Render(svGen1)) {
		t.Fatalf("env file = %q, want %q", got, Render(svGen1))
	}

	t.Run("re-push of the same generation restarts nothing", func(t *testing.T) {
		svWantConverged(t, svPush(t, s, svGen1), sv.URL)
		if pid := svPID(t, sv, "app"); pid != pid1 {
			t.Errorf("app pid %d -> %d: restarted again", pid1, pid)
		}
		if got := count(); got != 2 {
			t.Errorf("app started %d times, want 2", got)
		}
	})

	t.Run("new generation restarts once more", func(t *testing.T) {
		svWantConverged(t, svPush(t, s, svGen2), sv.URL)
		svWaitCount(t, count, 3)
		if pid := svPID(t, sv, "app"); pid == pid1 {
			t.Errorf("app pid %d unchanged: not restarted", pid)
		}
	})

	t.Run("stopped program is started on re-push", func(t *testing.T) {
		sv.Call(t, "supervisor.stopProcess", "app", true)
		svWantConverged(t, svPush(t, s, svGen2), sv.URL)
		svWaitCount(t, count, 4)
	})

	t.Run("stale generation refused, nothing restarted", func(t *testing.T) {
		pid := svPID(t, sv, "app")
		res, err := s.Push(context.Background(), svGen1, nil)
		if !errors.Is(err, ErrStaleGeneration) {
			t.Fatalf("Push(older) error = %v, want ErrStaleGeneration", err)
		}
		if !errors.Is(svFailed(t, res, sv.URL), ErrStaleGeneration) {
			t.Errorf("Failed[%s] = %v, want ErrStaleGeneration", sv.URL, res.Failed[sv.URL])
		}
		if got := svPID(t, sv, "app"); got != pid {
			t.Errorf("app restarted after a refused push")
		}
	})
}

func TestSupervisorPushAfterCrash(t *testing.T) {
	t.Parallel()
	cmd, count := testenv.CountingProgram(t, t.TempDir())
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd}},
	})
	svWaitCount(t, count, 1)
	env := filepath.Join(t.TempDir(), "ext_cloud.env")
	// A previous push wrote the file, then crashed before restarting: the
	// file is newer than the program's start.
	if _, err := WriteEnvFile(env, svGen1); err != nil {
		t.Fatal(err)
	}
	info, _ := sv.Call(t, "supervisor.getProcessInfo", "app").(map[string]any)
	start, _ := info["start"].(int64)
	later := time.Unix(start+1, 0)
	if err := os.Chtimes(env, later, later); err != nil {
		t.Fatal(err)
	}
	pid := svPID(t, sv, "app")
	s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: []string{"app"}, EnvFile: env})
	svWantConverged(t, svPush(t, s, svGen1), sv.URL)
	svWaitCount(t, count, 2)
	if got := svPID(t, sv, "app"); got == pid {
		t.Errorf("app pid %d unchanged: not restarted after the crash", pid)
	}
}

func TestSupervisorPushInet(t *testing.T) {
	t.Parallel()
	cmd, count := testenv.CountingProgram(t, t.TempDir())
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Username: "ops", Password: "s3cret-pw",
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmd}},
	})
	svWaitCount(t, count, 1)

	t.Run("password from config", func(t *testing.T) {
		s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Username: "ops", Password: "s3cret-pw", Programs: []string{"app"}})
		svWantConverged(t, svPush(t, s, svGen1), sv.URL)
		svWaitCount(t, count, 2)
	})

	t.Run("password in URL", func(t *testing.T) {
		withPW := strings.Replace(sv.URL, "http://", "http://ops:s3cret-pw@", 1)
		s := svNew(t, SupervisorConfig{URLs: []string{withPW}, Username: "x", Password: "wrong", Programs: []string{"app"}})
		if got := s.Hosts(); len(got) != 1 || got[0] != sv.URL {
			t.Fatalf("Hosts() = %q, want [%s]", got, sv.URL)
		}
		svWantConverged(t, svPush(t, s, svGen1), sv.URL)
		svWaitCount(t, count, 3)
	})

	t.Run("wrong password", func(t *testing.T) {
		s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Username: "ops", Password: "wrong-pw", Programs: []string{"app"}})
		err := svFailed(t, svPush(t, s, svGen1), sv.URL)
		want := "supervisor " + sv.URL + ": unauthorized (check SUPERVISOR_USERNAME/SUPERVISOR_PASSWORD)"
		if err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if got := count(); got != 3 {
			t.Errorf("app started %d times, want 3 (no restart without auth)", got)
		}
	})
}

func TestSupervisorPushGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd1, count1 := testenv.CountingProgram(t, dir)
	cmd2, count2 := testenv.CountingProgram(t, dir)
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{
			{Name: "web1", Command: cmd1, Group: "web"},
			{Name: "web2", Command: cmd2, Group: "web"},
		},
	})
	svWaitCount(t, count1, 1)
	svWaitCount(t, count2, 1)
	env := filepath.Join(t.TempDir(), "ext_cloud.env")
	s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: []string{"web:*"}, EnvFile: env})
	svWantConverged(t, svPush(t, s, svGen1), sv.URL)
	svWaitCount(t, count1, 2)
	svWaitCount(t, count2, 2)

	t.Run("re-push restarts only the member not running", func(t *testing.T) {
		sv.Call(t, "supervisor.stopProcess", "web:web2", true)
		pid1 := svPID(t, sv, "web:web1")
		svWantConverged(t, svPush(t, s, svGen1), sv.URL)
		svWaitCount(t, count2, 3)
		if got := svPID(t, sv, "web:web1"); got != pid1 {
			t.Errorf("web1 restarted although it already ran with the file")
		}
		if got := count1(); got != 2 {
			t.Errorf("web1 started %d times, want 2", got)
		}
	})

	t.Run("single member by name", func(t *testing.T) {
		s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: []string{"web:web1"}})
		svWantConverged(t, svPush(t, s, svGen1), sv.URL)
		svWaitCount(t, count1, 3)
	})
}

func TestSupervisorPushFailures(t *testing.T) {
	t.Parallel()
	cmd, count := testenv.CountingProgram(t, t.TempDir())
	sv := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{
			{Name: "app", Command: cmd},
			{Name: "bad", Command: "/bin/false", StartSecs: 1, NoAutostart: true},
		},
	})
	svWaitCount(t, count, 1)
	tests := []struct {
		name     string
		programs []string
		want     []string // substrings of the error
	}{
		{"unknown program", []string{"nosuch"}, []string{"supervisor " + sv.URL + ": program nosuch: stopProcess: ", "BAD_NAME", "nosuch", "SUPERVISOR_PROGRAMS"}},
		{"unknown group", []string{"nogroup:*"}, []string{"program nogroup:*", "BAD_NAME", "SUPERVISOR_PROGRAMS"}},
		{"program cannot start", []string{"bad"}, []string{"supervisor " + sv.URL + ": program bad: startProcess: ", "SPAWN_ERROR"}},
		{"failure after a good program", []string{"app", "nosuch"}, []string{"program nosuch", "BAD_NAME"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: tt.programs})
			tg := Target{Region: "EU", Cloud: "eu.example", Generation: int64(i + 1)}
			err := svFailed(t, svPush(t, s, tg), sv.URL)
			t.Logf("error: %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("not running after start", func(t *testing.T) {
		// bad is FATAL now; a re-push of the same generation tries again.
		s := svNew(t, SupervisorConfig{URLs: []string{sv.URL}, Programs: []string{"bad"}})
		svFailed(t, svPush(t, s, svGen1), sv.URL)
		err := svFailed(t, svPush(t, s, svGen1), sv.URL)
		t.Logf("error: %v", err)
		if !strings.Contains(err.Error(), "program bad") {
			t.Errorf("error %q does not name program bad", err)
		}
		info, _ := sv.Call(t, "supervisor.getProcessInfo", "bad").(map[string]any)
		if info["statename"] == "RUNNING" {
			t.Errorf("bad is RUNNING")
		}
	})
}

func TestSupervisorPushFanOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmdA, countA := testenv.CountingProgram(t, dir)
	cmdB, countB := testenv.CountingProgram(t, dir)
	a := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmdA}},
	})
	b := testenv.StartSupervisord(t, testenv.SupervisordOptions{
		Inet:     true,
		Programs: []testenv.SupervisordProgram{{Name: "app", Command: cmdB}},
	})
	svWaitCount(t, countA, 1)
	svWaitCount(t, countB, 1)
	env := filepath.Join(t.TempDir(), "ext_cloud.env")
	s := svNew(t, SupervisorConfig{URLs: []string{a.URL, b.URL}, Programs: []string{"app"}, EnvFile: env, Concurrency: 2})
	if got := strings.Join(s.Hosts(), " "); got != a.URL+" "+b.URL {
		t.Fatalf("Hosts() = %q", got)
	}

	svWantConverged(t, svPush(t, s, svGen1), a.URL, b.URL)
	svWaitCount(t, countA, 2)
	svWaitCount(t, countB, 2)

	t.Run("one supervisord down", func(t *testing.T) {
		b.Stop(t)
		res := svPush(t, s, svGen2)
		if strings.Join(res.Converged, " ") != a.URL {
			t.Errorf("converged %q, want [%s]", res.Converged, a.URL)
		}
		err := svFailed(t, res, b.URL)
		t.Logf("error: %v", err)
		if !strings.HasPrefix(err.Error(), "supervisor "+b.URL+": ") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error = %q, want a connection error naming the host", err)
		}
		svWaitCount(t, countA, 3)

		// Back up: its program started after the file was written, so the
		// re-push converges it without another restart.
		b.Restart(t)
		svWaitCount(t, countB, 3)
		pidA := svPID(t, a, "app")
		svWantConverged(t, svPush(t, s, svGen2, b.URL), b.URL)
		if got := countB(); got != 3 {
			t.Errorf("b's app started %d times, want 3", got)
		}
		if got := svPID(t, a, "app"); got != pidA {
			t.Errorf("a's app restarted although not selected")
		}
	})

	t.Run("unknown host", func(t *testing.T) {
		pidA, pidB := svPID(t, a, "app"), svPID(t, b, "app")
		res := svPush(t, s, svGen2, "unix:///nowhere.sock")
		err := svFailed(t, res, "unix:///nowhere.sock")
		if want := "supervisor unix:///nowhere.sock: not configured in SUPERVISOR_URL: remote: host no longer configured"; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if !errors.Is(err, ErrUnknownHost) {
			t.Errorf("error %v does not wrap ErrUnknownHost", err)
		}
		// The host left SUPERVISOR_URL: the configured ones, which may
		// have taken its place, are pushed; both run svGen2 already, so
		// nothing restarts.
		if strings.Join(res.Converged, " ") != a.URL+" "+b.URL {
			t.Errorf("converged %q, want every configured host [%s %s]", res.Converged, a.URL, b.URL)
		}
		if svPID(t, a, "app") != pidA || svPID(t, b, "app") != pidB {
			t.Error("a host that already ran the generation restarted")
		}
	})

	t.Run("one at a time", func(t *testing.T) {
		s := svNew(t, SupervisorConfig{URLs: []string{a.URL, b.URL}, Programs: []string{"app"}, EnvFile: env, Concurrency: 1})
		tg := Target{Region: "APAC", Cloud: "ap.example", Generation: 3}
		svWantConverged(t, svPush(t, s, tg), a.URL, b.URL)
		svWaitCount(t, countA, 4)
		svWaitCount(t, countB, 4)
	})
}

func TestSupervisorPushEnvFileError(t *testing.T) {
	t.Parallel()
	// No supervisord is needed: the push must stop before any call.
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	t.Cleanup(srv.Close)
	env := filepath.Join(t.TempDir(), "missing", "ext_cloud.env")
	s := svNew(t, SupervisorConfig{URLs: []string{srv.URL}, Programs: []string{"app"}, EnvFile: env})
	res, err := s.Push(context.Background(), svGen1, nil)
	if err == nil || !strings.Contains(err.Error(), "parent folder") {
		t.Fatalf("Push error = %v, want the env file error", err)
	}
	if !errors.Is(res.Failed[srv.URL], err) || len(res.Converged) != 0 {
		t.Errorf("result = %+v, want the host failed with the env file error", res)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("supervisord called %d times after the env file failed", n)
	}
}

func TestSupervisorPushBadServers(t *testing.T) {
	t.Parallel()
	const okState = `<?xml version="1.0"?><methodResponse><params><param><value><struct>` +
		`<member><name>statecode</name><value><int>1</int></value></member>` +
		`<member><name>statename</name><value><string>RUNNING</string></value></member>` +
		`</struct></value></param></params></methodResponse>`
	tests := []struct {
		name   string
		status int
		body   string // answer to every call but getState
		state  string // answer to getState (okState if empty)
		want   string
	}{
		{name: "garbage", status: 200, body: "this is not xml <<<", want: "decode response"},
		{name: "truncated", status: 200, body: `<?xml version="1.0"?><methodResponse><params><param><value><struct><member>`, want: "decode response"},
		{name: "empty response", status: 200, body: `<methodResponse></methodResponse>`, want: "decode response: no value"},
		{name: "wrong type", status: 200, body: `<methodResponse><params><param><value><struct><member><name>start</name><value><string>x</string></value></member></struct></value></param></params></methodResponse>`, want: "getProcessInfo"},
		{name: "bad state", status: 200, state: `<methodResponse><params><param><value><array><data></data></array></value></param></params></methodResponse>`, want: "decode response"},
		{name: "shutting down", status: 200, state: strings.Replace(okState, "RUNNING", "SHUTDOWN", 1), want: "supervisord is SHUTDOWN (want RUNNING)"},
		{name: "server error", status: 500, body: "boom", want: "status 500 Internal Server Error"},
		{name: "huge", status: 200, body: "<methodResponse>" + strings.Repeat("x", 2<<20), want: "response larger than"},
		{name: "fault", status: 200, body: `<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>30</int></value></member><member><name>faultString</name><value><string>FAILED: oops</string></value></member></struct></value></fault></methodResponse>`, want: "Fault(30): FAILED: oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				buf := make([]byte, 4096)
				n, _ := r.Body.Read(buf)
				if strings.Contains(string(buf[:n]), "supervisor.getState") {
					state := tt.state
					if state == "" {
						state = okState
					}
					fmt.Fprint(w, state)
					return
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			url := srv.URL + "/RPC2"
			s := svNew(t, SupervisorConfig{URLs: []string{url}, Programs: []string{"app"}})
			err := svFailed(t, svPush(t, s, svGen1), url)
			t.Logf("error: %v", err)
			if !strings.HasPrefix(err.Error(), "supervisor "+url+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to name the host and contain %q", err, tt.want)
			}
		})
	}
}

var svMethodRE = regexp.MustCompile(`<methodName>supervisor\.(\w+)</methodName>`)

// svFake is a scripted supervisord: it answers each method with the XML-RPC
// body in answers (getState says RUNNING unless scripted) and records calls.
func svFake(t *testing.T, answers map[string]string) (url string, calls func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := svMethodRE.FindSubmatch(body)
		if m == nil {
			http.Error(w, "no method", http.StatusBadRequest)
			return
		}
		method := string(m[1])
		mu.Lock()
		got = append(got, method)
		mu.Unlock()
		answer, ok := answers[method]
		if !ok && method == "getState" {
			answer = svXMLStruct(map[string]string{"statename": "<string>RUNNING</string>"})
		}
		if !ok && answer == "" {
			http.Error(w, "unscripted "+method, http.StatusInternalServerError)
			return
		}
		if !strings.Contains(answer, "<fault>") {
			answer = "<params><param>" + answer + "</param></params>"
		}
		fmt.Fprintf(w, `<?xml version="1.0"?><methodResponse>%s</methodResponse>`, answer)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/RPC2", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// svXMLStruct renders an XML-RPC struct value from member values.
func svXMLStruct(members map[string]string) string {
	var b strings.Builder
	b.WriteString("<value><struct>")
	for k, v := range members {
		fmt.Fprintf(&b, "<member><name>%s</name><value>%s</value></member>", k, v)
	}
	b.WriteString("</struct></value>")
	return b.String()
}

func svXMLFault(code int, s string) string {
	return "<fault>" + svXMLStruct(map[string]string{
		"faultCode": fmt.Sprintf("<int>%d</int>", code), "faultString": "<string>" + s + "</string>"}) + "</fault>"
}

func svXMLInfo(group, name, state string) string {
	return svXMLStruct(map[string]string{
		"name": "<string>" + name + "</string>", "group": "<string>" + group + "</string>",
		"statename": "<string>" + state + "</string>", "start": "<int>100</int>", "now": "<int>200</int>",
	})
}

func svXMLStatuses(group string, statuses map[string]int) string {
	var b strings.Builder
	b.WriteString("<value><array><data>")
	for name, code := range statuses {
		b.WriteString(svXMLStruct(map[string]string{
			"name": "<string>" + name + "</string>", "group": "<string>" + group + "</string>",
			"status": fmt.Sprintf("<int>%d</int>", code), "description": "<string>desc " + name + "</string>",
		}))
	}
	b.WriteString("</data></array></value>")
	return b.String()
}

func TestSupervisorPushScripted(t *testing.T) {
	t.Parallel()
	const yes = "<value><boolean>1</boolean></value>"
	tests := []struct {
		name      string
		program   string
		answers   map[string]string
		want      string // error, empty for converged
		wantCalls string
	}{
		{
			name: "restarted", program: "app",
			answers:   map[string]string{"stopProcess": yes, "startProcess": yes, "getProcessInfo": svXMLInfo("app", "app", "RUNNING")},
			wantCalls: "getState stopProcess startProcess getProcessInfo",
		},
		{
			name: "not running and already started are fine", program: "app",
			answers: map[string]string{"stopProcess": svXMLFault(70, "NOT_RUNNING: app"), "startProcess": svXMLFault(60, "ALREADY_STARTED: app"),
				"getProcessInfo": svXMLInfo("app", "app", "RUNNING")},
			wantCalls: "getState stopProcess startProcess getProcessInfo",
		},
		{
			name: "FATAL after start", program: "app",
			answers:   map[string]string{"stopProcess": yes, "startProcess": yes, "getProcessInfo": svXMLInfo("app", "app", "FATAL")},
			want:      "program app is FATAL (want RUNNING)",
			wantCalls: "getState stopProcess startProcess getProcessInfo",
		},
		{
			name: "abnormal termination", program: "app",
			answers:   map[string]string{"stopProcess": yes, "startProcess": svXMLFault(40, "ABNORMAL_TERMINATION: app")},
			want:      "program app: startProcess: Fault(40): ABNORMAL_TERMINATION: app",
			wantCalls: "getState stopProcess startProcess",
		},
		{
			name: "group", program: "web:*",
			answers: map[string]string{
				"stopProcess":       svXMLStatuses("web", map[string]int{"w1": 80, "w2": 80}),
				"startProcess":      svXMLStatuses("web", map[string]int{"w1": 80, "w2": 60}),
				"getAllProcessInfo": "<value><array><data>" + svXMLInfo("web", "w1", "RUNNING") + svXMLInfo("web", "w2", "RUNNING") + svXMLInfo("other", "x", "FATAL") + "</data></array></value>",
			},
			wantCalls: "getState stopProcess startProcess getAllProcessInfo",
		},
		{
			name: "group member fails to spawn", program: "web:*",
			answers: map[string]string{
				"stopProcess":  svXMLStatuses("web", map[string]int{"w1": 80}),
				"startProcess": svXMLStatuses("web", map[string]int{"w1": 50}),
			},
			want:      "program web:w1: startProcess: Fault(50): desc w1",
			wantCalls: "getState stopProcess startProcess",
		},
		{
			name: "group member not running after start", program: "web:*",
			answers: map[string]string{
				"stopProcess":       yes,
				"startProcess":      yes,
				"getAllProcessInfo": "<value><array><data>" + svXMLInfo("web", "w1", "RUNNING") + svXMLInfo("web", "w2", "BACKOFF") + "</data></array></value>",
			},
			want:      "program web:w2 is BACKOFF (want RUNNING)",
			wantCalls: "getState stopProcess startProcess getAllProcessInfo",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, calls := svFake(t, tt.answers)
			s := svNew(t, SupervisorConfig{URLs: []string{url}, Programs: []string{tt.program}})
			res := svPush(t, s, svGen1)
			if tt.want == "" {
				svWantConverged(t, res, url)
			} else if err := svFailed(t, res, url); err.Error() != "supervisor "+url+": "+tt.want {
				t.Errorf("error = %q, want %q", err, "supervisor "+url+": "+tt.want)
			}
			if got := strings.Join(calls(), " "); got != tt.wantCalls {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestSupervisorPushHangingServer(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	s := svNew(t, SupervisorConfig{URLs: []string{srv.URL}, Programs: []string{"app"}})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	res, err := s.Push(ctx, svGen1, nil)
	if err != nil {
		t.Fatalf("Push error: %v", err)
	}
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("Push took %v despite a 300ms deadline", elapsed)
	}
	err = svFailed(t, res, srv.URL)
	t.Logf("error: %v", err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
}

func TestNewSupervisorErrors(t *testing.T) {
	good := SupervisorConfig{URLs: []string{"unix:///run/supervisor.sock"}, Programs: []string{"app"}, EnvFile: "/tmp/x.env"}
	tests := []struct {
		name   string
		change func(c *SupervisorConfig)
		want   string
	}{
		{"no URL", func(c *SupervisorConfig) { c.URLs = nil }, "SUPERVISOR_URL: empty (want unix:///path/to.sock or http://host:port/RPC2)"},
		{"bad scheme", func(c *SupervisorConfig) { c.URLs = []string{"ftp://u:topsecret@h/"} }, `SUPERVISOR_URL entry 1: ftp://h/: unsupported scheme "ftp" (want unix, http or https)`},
		{"unparseable", func(c *SupervisorConfig) { c.URLs = []string{"unix:///a", "http://u:topsecret@h:99999999x"} }, "SUPERVISOR_URL entry 2: not a URL (want unix:///path/to.sock or http://host:port/RPC2)"},
		{"no socket", func(c *SupervisorConfig) { c.URLs = []string{"unix://"} }, "SUPERVISOR_URL entry 1: unix:: no socket path (want unix:///path/to.sock)"},
		{"no host", func(c *SupervisorConfig) { c.URLs = []string{"http:///RPC2"} }, "SUPERVISOR_URL entry 1: http:///RPC2: no host (want http://host:port/RPC2)"},
		{"twice", func(c *SupervisorConfig) { c.URLs = []string{"http://h:1", "http://u:topsecret@h:1"} }, "SUPERVISOR_URL: http://h:1 listed twice"},
		{"no programs", func(c *SupervisorConfig) { c.Programs = nil }, "SUPERVISOR_PROGRAMS: empty (want program names, group:name or group:*)"},
		{"shell in program", func(c *SupervisorConfig) { c.Programs = []string{"app;reboot"} }, `SUPERVISOR_PROGRAMS: bad program "app;reboot": character ';' not allowed (want A-Z a-z 0-9 _ . - and group:name or group:*)`},
		{"star without group", func(c *SupervisorConfig) { c.Programs = []string{"*"} }, `SUPERVISOR_PROGRAMS: bad program "*": want name, group:name or group:* (e.g. app or web:*)`},
		{"empty group", func(c *SupervisorConfig) { c.Programs = []string{":app"} }, `SUPERVISOR_PROGRAMS: bad program ":app": want name, group:name or group:* (e.g. app or web:*)`},
		{"no env file", func(c *SupervisorConfig) { c.EnvFile = "" }, "ENV_FILE: empty (want the path of ext_cloud.env)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			_, err := NewSupervisor(c)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("NewSupervisor() error = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		c := good
		c.URLs = []string{"unix:///run/supervisor.sock", "http://u:topsecret@10.0.0.1:9001/RPC2", "https://h"}
		c.Programs = []string{"app", "web:*", "web:web_1", "a.b-c"}
		s, err := NewSupervisor(c)
		if err != nil {
			t.Fatal(err)
		}
		want := "unix:///run/supervisor.sock http://10.0.0.1:9001/RPC2 https://h"
		if got := strings.Join(s.Hosts(), " "); got != want {
			t.Errorf("Hosts() = %q, want %q", got, want)
		}
		if s.hosts[2].rpcURL != "https://h/RPC2" || s.hosts[1].user != "u" || s.hosts[1].pass != "topsecret" {
			t.Errorf("host 2 rpc %q, host 1 user %q", s.hosts[2].rpcURL, s.hosts[1].user)
		}
	})
}

func TestSupervisorConverged(t *testing.T) {
	written := time.Unix(1000, 500_000_000)
	tests := []struct {
		name string
		in   svProcessInfo
		skew time.Duration // our clock minus supervisord's
		want bool
	}{
		{"started after the write", svProcessInfo{StateName: "RUNNING", Start: 1001, Now: 1100}, 0, true},
		{"started the same second", svProcessInfo{StateName: "RUNNING", Start: 1000, Now: 1100}, 0, true},
		{"started before", svProcessInfo{StateName: "RUNNING", Start: 999, Now: 1100}, 0, false},
		{"not running", svProcessInfo{StateName: "FATAL", Start: 1001, Now: 1100}, 0, false},
		{"never started", svProcessInfo{StateName: "STOPPED", Start: 0, Now: 1100}, 0, false},
		{"small skew ignored", svProcessInfo{StateName: "RUNNING", Start: 999, Now: 1100}, 2 * time.Second, false},
		{"supervisord clock behind", svProcessInfo{StateName: "RUNNING", Start: 950, Now: 1050}, 50 * time.Second, true},
		{"supervisord clock ahead", svProcessInfo{StateName: "RUNNING", Start: 1010, Now: 1150}, -50 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Supervisor{now: func() time.Time { return time.Unix(tt.in.Now, 0).Add(tt.skew) }}
			if got := s.converged(tt.in, written); got != tt.want {
				t.Errorf("converged(%+v) = %t, want %t", tt.in, got, tt.want)
			}
		})
	}
}
