package remote

import "testing"

// FuzzEnvRoundTrip checks that Parse gives t back from both formats of every valid
// target, and that Parse never panics on arbitrary bytes.
func FuzzEnvRoundTrip(f *testing.F) {
	f.Add("eu.cloud.example", "EU", int64(1), []byte("EXT_CLOUD=x\n"))
	f.Add("nam.example:443/api", "NAM", int64(0), []byte("# c\nexport A='b'\n=\n"))
	f.Fuzz(func(t *testing.T, cloud, region string, gen int64, raw []byte) {
		if e, err := Parse(raw); err == nil && e.Generation < 0 {
			t.Errorf("Parse(%q) gave negative generation %d", raw, e.Generation)
		}
		want := Target{Region: region, Cloud: cloud, Generation: gen}
		if ValidateTarget(want) != nil {
			return
		}
		for _, f := range []EnvFormat{EnvShell, EnvPlain} {
			e, err := Parse(f.Render(want))
			if err != nil {
				t.Fatalf("Parse(%s.Render(%+v)) error: %v", f, want, err)
			}
			if e.Target() != want || !e.Means(want) || len(e.Vars) != 0 {
				t.Fatalf("Parse(%s.Render(%+v)) = %+v", f, want, e)
			}
		}
	})
}
