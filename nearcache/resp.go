package nearcache

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// RESP3, as much as the tracking connection needs: commands out, and replies
// and push messages in, parsed from a buffer that may end mid-message
// (the connection is read without blocking, in whatever pieces the kernel
// has). go-redis's own parser is internal to it and reads from a blocking
// reader, which the fence (see Cache) cannot use.

// value is one RESP3 value.
type value struct {
	kind  byte    // RESP3's type byte: '+', '-', ':', '$', '*', '>', '%', '_', ...
	str   []byte  // the text of a simple, error, number or bulk value (aliases the read buffer)
	elems []value // the elements of an aggregate ('*', '>', '~', '%' as key, value, key, value…)
	null  bool    // '_', or a RESP2-style null bulk or array
}

// Limits that keep a misbehaving peer from making us allocate without bound.
const (
	maxBulk  = 64 << 20
	maxElems = 1 << 20
	maxDepth = 8
)

var errProtocol = errors.New("nearcache: RESP protocol error")

// parse reads one value from the start of b. It returns n == 0 when b does
// not yet hold a whole value.
func parse(b []byte) (v value, n int, err error) {
	return parseDepth(b, 0)
}

func parseDepth(b []byte, depth int) (value, int, error) {
	if depth > maxDepth {
		return value{}, 0, fmt.Errorf("%w: nested too deep", errProtocol)
	}
	end := bytes.Index(b, []byte("\r\n"))
	if end < 0 {
		return value{}, 0, nil
	}
	if end == 0 {
		return value{}, 0, fmt.Errorf("%w: empty line", errProtocol)
	}
	kind, line, n := b[0], b[1:end], end+2
	switch kind {
	case '+', '-', ':', ',', '(', '#':
		return value{kind: kind, str: line}, n, nil
	case '_':
		return value{kind: kind, null: true}, n, nil
	case '$', '!', '=':
		size, err := length(line, maxBulk)
		if err != nil {
			return value{}, 0, err
		}
		if size < 0 {
			return value{kind: kind, null: true}, n, nil
		}
		if len(b) < n+size+2 {
			return value{}, 0, nil
		}
		if b[n+size] != '\r' || b[n+size+1] != '\n' {
			return value{}, 0, fmt.Errorf("%w: bulk string not terminated", errProtocol)
		}
		return value{kind: kind, str: b[n : n+size]}, n + size + 2, nil
	case '*', '>', '~', '%', '|':
		count, err := length(line, maxElems)
		if err != nil {
			return value{}, 0, err
		}
		if count < 0 {
			return value{kind: kind, null: true}, n, nil
		}
		if kind == '%' || kind == '|' {
			count *= 2
		}
		v := value{kind: kind, elems: make([]value, 0, min(count, 16))}
		for range count {
			e, m, err := parseDepth(b[n:], depth+1)
			if err != nil || m == 0 {
				return value{}, 0, err
			}
			v.elems = append(v.elems, e)
			n += m
		}
		return v, n, nil
	}
	return value{}, 0, fmt.Errorf("%w: unknown type %q", errProtocol, kind)
}

func length(line []byte, limit int) (int, error) {
	size, err := strconv.Atoi(string(line))
	if err != nil || size < -1 || size > limit {
		return 0, fmt.Errorf("%w: bad length %q", errProtocol, line)
	}
	return size, nil
}

// appendCommand appends args as a RESP command (an array of bulk strings).
func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// invalidation reports whether v is a tracking "invalidate" push, and the
// keys it names (flush true: every key, as after FLUSHALL or FLUSHDB).
func invalidation(v value) (keys []value, flush, ok bool) {
	if v.kind != '>' || len(v.elems) != 2 || string(v.elems[0].str) != "invalidate" {
		return nil, false, false
	}
	if v.elems[1].null {
		return nil, true, true
	}
	return v.elems[1].elems, false, true
}
