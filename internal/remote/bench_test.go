package remote

import (
	"fmt"
	"testing"
)

var (
	benchTarget = Target{Region: "EU", Cloud: "eu.cloud.example.com", Generation: 42}
	sinkBytes   []byte
)

func BenchmarkRender(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes = Render(benchTarget)
	}
	if len(sinkBytes) == 0 {
		b.Fatal("empty render")
	}
}

// BenchmarkRenderBaselineSprintf is the three KEY=VALUE lines with
// fmt.Sprintf, no header: what a one-line shell or Go script would write.
func BenchmarkRenderBaselineSprintf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes = []byte(fmt.Sprintf("EXT_CLOUD=%s\nEXT_CLOUD_REGION=%s\nEXT_CLOUD_GENERATION=%d\n",
			benchTarget.Cloud, benchTarget.Region, benchTarget.Generation))
	}
}
