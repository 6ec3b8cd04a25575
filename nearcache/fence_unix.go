//go:build unix

package nearcache

import (
	"errors"
	"net"
	"syscall"
)

// fence reads a connection's socket without blocking and without going
// through the connection (whose reader goroutine may be waiting on it):
// either a duplicate descriptor of its own, or the one the reader's
// callback is handed.
type fence struct {
	fd           int
	valid, owned bool
}

var errWouldBlock = errors.New("nearcache: nothing to read")

// newFence duplicates conn's descriptor. The duplicate shares the socket's
// non-blocking mode, so a read of it returns at once.
func newFence(conn net.Conn) (fence, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return fence{}, errors.New("connection has no descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return fence{}, err
	}
	dup, dupErr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { dup, dupErr = syscall.Dup(int(fd)) }); err != nil {
		return fence{}, err
	}
	if dupErr != nil {
		return fence{}, dupErr
	}
	syscall.CloseOnExec(dup)
	return fence{fd: dup, valid: true, owned: true}, nil
}

// readerFence is the reader callback's own descriptor, not to be closed.
func readerFence(fd uintptr) fence { return fence{fd: int(fd), valid: true} }

func (f fence) ok() bool { return f.valid }

func (f fence) read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return 0, errWouldBlock
		case err != nil:
			return 0, err
		}
		return n, nil
	}
}

func (f *fence) close() {
	if f.valid && f.owned {
		syscall.Close(f.fd)
	}
	*f = fence{}
}
