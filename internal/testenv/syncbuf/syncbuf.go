// Package syncbuf holds Buffer, the one buffer that tests, the bench and the
// test helpers hand to a logger or a child process and read while it
// writes.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer keeps everything written to it; Write and String are safe for
// concurrent use. The zero value is empty and ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
