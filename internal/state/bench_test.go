package state_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/renameio/v2"

	"extcloud-failover/internal/state"
)

func benchStore(b *testing.B) (*state.FileStore, state.State) {
	b.Helper()
	fs := state.NewFileStore(filepath.Join(b.TempDir(), "state.json"))
	cur, err := fs.Swap(context.Background(), state.State{}, state.State{ActiveRegion: "NAM", Generation: 1})
	if err != nil {
		b.Fatal(err)
	}
	return fs, cur
}

func BenchmarkFileStoreSwap(b *testing.B) {
	fs, cur := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		next := cur
		next.Generation++
		var err error
		if cur, err = fs.Swap(ctx, cur, next); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFileStoreLoad(b *testing.B) {
	fs, cur := benchStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := fs.Load(ctx)
		if err != nil || s.Version != cur.Version {
			b.Fatalf("Load = %+v, %v", s, err)
		}
	}
}

// BenchmarkAtomicWriteBaseline writes the same bytes atomically with
// renameio alone: no lock, no re-read, no folder sync.
func BenchmarkAtomicWriteBaseline(b *testing.B) {
	_, cur := benchStore(b)
	data, err := state.Encode(cur)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "plain.json")
	b.ReportAllocs()
	for b.Loop() {
		if err := renameio.WriteFile(path, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFileBaseline reads the same bytes with os.ReadFile.
func BenchmarkReadFileBaseline(b *testing.B) {
	fs, _ := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := os.ReadFile(fs.Path()); err != nil {
			b.Fatal(err)
		}
	}
}
