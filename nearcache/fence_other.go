//go:build !unix

package nearcache

import (
	"errors"
	"net"
)

// fence needs a Unix socket descriptor; elsewhere Open reports
// ErrUnsupported.
type fence struct{ valid bool }

var errWouldBlock = errors.New("nearcache: nothing to read")

func newFence(net.Conn) (fence, error) {
	return fence{}, errors.New("a non-blocking socket read needs a Unix system")
}

func readerFence(uintptr) fence          { return fence{} }
func (f fence) ok() bool                 { return f.valid }
func (f fence) read([]byte) (int, error) { return 0, errors.New("unsupported") }
func (f *fence) close()                  { *f = fence{} }
