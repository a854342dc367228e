//go:build linux

package udpbatch

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The io_uring instance of a Sender (io_uring(7), include/uapi/linux/io_uring.h):
// a submission queue of sqes, a completion queue of cqes, both shared with
// the kernel through mmap(2). Every Flush submits its datagrams as
// IORING_OP_SENDMSG requests with MSG_DONTWAIT (so a full send buffer
// completes the request with EAGAIN instead of parking it on a poll) and
// waits in the same io_uring_enter for all their completions.

const (
	opSendmsg      = 9          // IORING_OP_SENDMSG
	opRecvmsg      = 10         // IORING_OP_RECVMSG
	enterGetEvents = 1 << 0     // IORING_ENTER_GETEVENTS
	enterExtArg    = 1 << 3     // IORING_ENTER_EXT_ARG
	featSingleMmap = 1 << 0     // IORING_FEAT_SINGLE_MMAP
	featExtArg     = 1 << 8     // IORING_FEAT_EXT_ARG
	offSQRing      = 0          // IORING_OFF_SQ_RING
	offCQRing      = 0x8000000  // IORING_OFF_CQ_RING
	offSQEs        = 0x10000000 // IORING_OFF_SQES
)

// waitLimit bounds one Flush's wait for its completions (with
// IORING_FEAT_EXT_ARG): a UDP send with MSG_DONTWAIT completes inline, so
// a request still pending after this long means the ring misbehaves, and
// the Sender falls back to sendto for good.
const waitLimit = 200_000_000 // ns

// params is struct io_uring_params.
type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqOffsets
	cqOff                                                                  cqOffsets
}

// sqOffsets is struct io_sqring_offsets.
type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqOffsets is struct io_cqring_offsets.
type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	msgFlags uint32
	userData uint64
	bufIndex uint16
	persona  uint16
	spliceFD int32
	addr3    uint64
	pad      uint64
}

// cqe is struct io_uring_cqe (16 bytes).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// getEventsArg is struct io_uring_getevents_arg.
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWait   uint32
	ts        uint64
}

type ring struct {
	fd      int
	sqMem   []byte
	cqMem   []byte // the same as sqMem with IORING_FEAT_SINGLE_MMAP
	sqeMem  []byte
	sqHead  *uint32
	sqTail  *uint32
	sqMask  uint32
	sqArray []uint32
	sqes    []sqe
	cqHead  *uint32
	cqTail  *uint32
	cqMask  uint32
	cqes    []cqe
	extArg  bool
	ok      int // requests of the last submit that succeeded
	ts      unix.Timespec
	arg     getEventsArg
}

var errRing = errors.New("udpbatch: io_uring")

func newRing(entries uint32) (*ring, error) {
	var p params
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("%w: setup: %w", errRing, e)
	}
	r := &ring{fd: int(fd), extArg: p.features&featExtArg != 0}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	single := p.features&featSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	fail := func(what string, err error) (*ring, error) {
		r.close()
		return nil, fmt.Errorf("%w: mmap %s: %w", errRing, what, err)
	}
	if r.sqMem, err = unix.Mmap(r.fd, offSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail("sq ring", err)
	}
	r.cqMem = r.sqMem
	if !single {
		if r.cqMem, err = unix.Mmap(r.fd, offCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
			r.cqMem = nil
			return fail("cq ring", err)
		}
	}
	sqeSize := int(p.sqEntries) * int(unsafe.Sizeof(sqe{}))
	if r.sqeMem, err = unix.Mmap(r.fd, offSQEs, sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail("sqes", err)
	}
	sq, cq := unsafe.Pointer(&r.sqMem[0]), unsafe.Pointer(&r.cqMem[0])
	r.sqHead = (*uint32)(unsafe.Add(sq, p.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(sq, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(sq, p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(cq, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(cq, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(cq, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(cq, p.cqOff.cqes)), p.cqEntries)
	if int(p.sqEntries) < Size || int(p.cqEntries) < Size {
		r.close()
		return nil, fmt.Errorf("%w: rings of %d/%d entries", errRing, p.sqEntries, p.cqEntries)
	}
	r.arg.ts = uint64(uintptr(unsafe.Pointer(&r.ts)))
	return r, nil
}

// recvmsg submits one IORING_OP_RECVMSG per message (MSG_DONTWAIT) and
// waits for all of them; res[i] gets the bytes read or -1. ok is false
// when the ring failed.
func (r *ring) recvmsg(ents []entry, hdrs []unix.Msghdr, res []int) (calls int, ok bool) {
	calls, ok = r.submit(opRecvmsg, ents, hdrs, res)
	return calls, ok
}

// sendmsg submits one IORING_OP_SENDMSG per message and waits for all of
// them to complete. It returns how many the sockets took and the system
// calls it made; sent is -1 when the ring failed (then nothing of this
// batch is known to be sent, and the ring must not be used again).
func (r *ring) sendmsg(ents []entry, hdrs []unix.Msghdr) (sent, calls int) {
	calls, ok := r.submit(opSendmsg, ents, hdrs, nil)
	if !ok {
		return -1, calls
	}
	return r.ok, calls
}

// submit submits one op request per message and waits for them all. It
// counts the requests that succeeded in r.ok and, with res, stores each
// one's result there (-1 for an error). ok is false when the ring failed.
func (r *ring) submit(op uint8, ents []entry, hdrs []unix.Msghdr, res []int) (calls int, ok bool) {
	r.ok = 0
	n := uint32(len(hdrs))
	tail := atomic.LoadUint32(r.sqTail)
	for i := range n {
		idx := (tail + i) & r.sqMask
		r.sqes[idx] = sqe{
			opcode:   op,
			fd:       int32(ents[i].fd),
			addr:     uint64(uintptr(unsafe.Pointer(&hdrs[i]))),
			len:      1,
			msgFlags: unix.MSG_DONTWAIT,
			userData: uint64(i),
		}
		r.sqArray[idx] = idx
	}
	atomic.StoreUint32(r.sqTail, tail+n) // the kernel sees the sqes now
	toSubmit, done := n, uint32(0)
	for done < n {
		flags, argp, argsz := uintptr(enterGetEvents), uintptr(0), uintptr(0)
		if r.extArg {
			r.ts = unix.NsecToTimespec(waitLimit)
			flags |= enterExtArg
			argp, argsz = uintptr(unsafe.Pointer(&r.arg)), unsafe.Sizeof(r.arg)
		}
		got, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(n-done), flags, argp, argsz)
		calls++
		if e == 0 {
			toSubmit -= min(uint32(got), toSubmit)
		}
		head := atomic.LoadUint32(r.cqHead)
		ctail := atomic.LoadUint32(r.cqTail)
		for ; head != ctail; head++ {
			c := &r.cqes[head&r.cqMask]
			if c.res >= 0 {
				r.ok++
			}
			if res != nil && c.userData < uint64(len(res)) {
				res[c.userData] = int(c.res)
				if c.res < 0 {
					res[c.userData] = -1
				}
			}
			done++
		}
		atomic.StoreUint32(r.cqHead, head)
		switch {
		case e == 0, e == unix.EINTR:
		case e == unix.ETIME && done < n:
			return calls, false // a request that never completes
		case e == unix.ETIME:
		case e == unix.EAGAIN || e == unix.EBUSY:
			// the kernel is short of memory or of completion room: the
			// completions just reaped make room; try again
		default:
			return calls, false
		}
		if calls > 1000 {
			return calls, false
		}
	}
	return calls, true
}

// close unmaps the rings and closes the instance (the kernel cancels what
// is still in flight).
func (r *ring) close() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
	}
	if r.cqMem != nil && len(r.sqMem) > 0 && &r.cqMem[0] != &r.sqMem[0] {
		_ = unix.Munmap(r.cqMem)
	}
	if r.sqMem != nil {
		_ = unix.Munmap(r.sqMem)
	}
	_ = unix.Close(r.fd)
}

// abandon gives up a ring that failed mid-flush. Its mappings stay (a
// request still in flight may write its completion there); only the fd is
// closed, which makes the kernel cancel what is left.
func (r *ring) abandon() { _ = unix.Close(r.fd) }
