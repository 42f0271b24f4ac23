package state_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"extcloud-failover/internal/state"
)

// A checker loads the state, decides, and writes back naming the version it
// read. A writer that lost the race gets ErrConflict and acts on nothing.
func ExampleFileStore() {
	dir, err := os.MkdirTemp("", "state-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store := state.NewFileStore(filepath.Join(dir, "state.json"))

	// Nothing stored yet: the zero State, version 0.
	cur, err := store.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("loaded version", cur.Version)

	next := cur
	next.ActiveRegion = "NAM"
	next.OutageStartedAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	stored, err := store.Swap(ctx, cur, next)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored version", stored.Version, "active", stored.ActiveRegion)

	// A second writer that also read version 0 loses.
	_, err = store.Swap(ctx, cur, state.State{ActiveRegion: "EU"})
	fmt.Println("second writer conflicts:", errors.Is(err, state.ErrConflict))
	// Output:
	// loaded version 0
	// stored version 1 active NAM
	// second writer conflicts: true
}

// A damaged state file is moved aside, so the next Load starts afresh while
// the damaged copy stays for inspection.
func ExampleFileStore_corrupt() {
	dir, err := os.MkdirTemp("", "state-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte(`{"version": 3, "active_reg`), 0o600); err != nil {
		log.Fatal(err)
	}
	store := state.NewFileStore(path)
	store.Now = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

	_, err = store.Load(ctx)
	fmt.Println("corrupt:", errors.Is(err, state.ErrCorrupt))
	_, err = os.Stat(path + ".corrupt-20250102T030405Z")
	fmt.Println("moved aside:", err == nil)
	cur, err := store.Load(ctx)
	fmt.Println("next load: version", cur.Version, err)
	// Output:
	// corrupt: true
	// moved aside: true
	// next load: version 0 <nil>
}
