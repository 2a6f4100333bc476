package fileaccessreceiver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// asyncPayload is what the asynchronous write workloads put at offset 0 of
// their file; the read workloads fetch as many bytes from the same place.
var asyncPayload = []byte("uring")

// Values from linux/io_uring.h and linux/aio_abi.h, which x/sys/unix does not
// carry; it has only the system call numbers.
const (
	ioringSetupSQPoll        = 1 << 1
	ioringFeatSingleMmap     = 1 << 0
	ioringFeatSQPollNonfixed = 1 << 7
	ioringSQNeedWakeup       = 1 << 0
	ioringEnterGetEvents     = 1 << 0
	ioringEnterSQWakeup      = 1 << 1

	ioringOffSQRing = 0
	ioringOffCQRing = 0x8000000
	ioringOffSQEs   = 0x10000000

	ioringOpRead  = 22
	ioringOpWrite = 23
	// IORING_OP_RENAMEAT: fd and addr the old directory and path, len and
	// addr2 (the off field) the new ones.
	ioringOpRenameat = 35

	iocbCmdPread  = 0
	iocbCmdPwrite = 1
)

const (
	// asyncEntries sizes the ring and the AIO context: each workload has
	// exactly one request in flight.
	asyncEntries = 1

	// uringSQIdleMillis is how long the SQPOLL thread spins on an empty ring
	// before it sleeps and needs a wakeup; short, so a finished workload does
	// not hold a CPU.
	uringSQIdleMillis = 10

	// asyncUserData tags the one request so its completion can be recognised.
	asyncUserData = 0x66696c65
)

// uringSQRingOffsets mirrors struct io_sqring_offsets: where each field of the
// submission ring lies in its mapping.
type uringSQRingOffsets struct {
	Head        uint32
	Tail        uint32
	RingMask    uint32
	RingEntries uint32
	Flags       uint32
	Dropped     uint32
	Array       uint32
	Resv1       uint32
	Resv2       uint64
}

// uringCQRingOffsets mirrors struct io_cqring_offsets for the completion ring.
type uringCQRingOffsets struct {
	Head        uint32
	Tail        uint32
	RingMask    uint32
	RingEntries uint32
	Overflow    uint32
	CQEs        uint32
	Flags       uint32
	Resv1       uint32
	Resv2       uint64
}

// uringParams mirrors struct io_uring_params, which io_uring_setup reads the
// requested flags from and fills with the ring geometry.
type uringParams struct {
	SQEntries    uint32
	CQEntries    uint32
	Flags        uint32
	SQThreadCPU  uint32
	SQThreadIdle uint32
	Features     uint32
	WQFd         uint32
	Resv         [3]uint32
	SQOff        uringSQRingOffsets
	CQOff        uringCQRingOffsets
}

// uringSQE mirrors struct io_uring_sqe; each union is given the member a
// plain read or write uses.
type uringSQE struct {
	Opcode      uint8
	Flags       uint8
	IOPrio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	RWFlags     uint32
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	SpliceFdIn  int32
	Addr3       uint64
	Pad2        uint64
}

// uringCQE mirrors struct io_uring_cqe without the IORING_SETUP_CQE32 tail.
type uringCQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// aioIOCB mirrors struct iocb in its little-endian layout.
type aioIOCB struct {
	Data      uint64
	Key       uint32
	RWFlags   int32
	LioOpcode uint16
	ReqPrio   int16
	Fildes    uint32
	Buf       uint64
	Nbytes    uint64
	Offset    int64
	Reserved2 uint64
	Flags     uint32
	ResFd     uint32
}

// aioEvent mirrors struct io_event.
type aioEvent struct {
	Data uint64
	Obj  uint64
	Res  int64
	Res2 int64
}

// uringIO does one read (write=false) or one write (write=true) of a few bytes
// at offset 0 of the file at path through io_uring: IORING_OP_READ / IORING_OP_WRITE
// (kernel 5.6+). With sqpoll, the ring is set up with IORING_SETUP_SQPOLL so a
// kernel-side submission thread picks the request up. It waits for the completion
// and returns an error if the CQE's res is negative (as a unix.Errno) or if setup fails.
func uringIO(path string, write, sqpoll bool) error {
	_, err := uringTransfer(path, write, sqpoll)
	return err
}

// aioIO does one read or write of a few bytes at offset 0 through Linux native AIO:
// io_setup, io_submit with IOCB_CMD_PREAD / IOCB_CMD_PWRITE, io_getevents, io_destroy.
// Returns an error for a negative event result.
func aioIO(path string, write bool) error {
	_, err := aioTransfer(path, write)
	return err
}

// uringTransfer is uringIO returning the bytes read or written, so a test can
// check them without the workload doing any other I/O on the file.
func uringTransfer(path string, write, sqpoll bool) (_ []byte, err error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer unix.Close(fd)

	r, err := openUring(sqpoll)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, r.close()) }()

	// buf is returned, so it lives on the heap, where Go's collector does not
	// move it; KeepAlive below holds it until the kernel is done with it.
	buf, name := asyncBuffer(write)
	opcode := uint8(ioringOpRead)
	if write {
		opcode = ioringOpWrite
	}
	err = r.push(uringSQE{
		Opcode:   opcode,
		Fd:       int32(fd),
		Addr:     uint64(uintptr(unsafe.Pointer(&buf[0]))),
		Len:      uint32(len(buf)),
		UserData: asyncUserData,
	})
	if err != nil {
		return nil, err
	}

	if err := r.submit(sqpoll); err != nil {
		return nil, fmt.Errorf("submitting io_uring %s: %w", name, err)
	}
	cqe, err := r.reap()
	runtime.KeepAlive(buf)
	if err != nil {
		return nil, fmt.Errorf("waiting for io_uring %s: %w", name, err)
	}
	if cqe.UserData != asyncUserData {
		return nil, fmt.Errorf("io_uring %s: completion for unknown request %#x", name, cqe.UserData)
	}
	if cqe.Res < 0 {
		return nil, fmt.Errorf("io_uring %s: %w", name, unix.Errno(-cqe.Res))
	}
	return buf[:cqe.Res], nil
}

// asyncBuffer returns the buffer for one transfer (the payload for a write,
// zeroes for a read) and a name for errors.
func asyncBuffer(write bool) (buf []byte, name string) {
	buf = make([]byte, len(asyncPayload))
	if write {
		copy(buf, asyncPayload)
		return buf, "write"
	}
	return buf, "read"
}

// uringRing is one io_uring instance with its rings mapped.
type uringRing struct {
	fd     int
	params uringParams
	sqRing []byte
	cqRing []byte // the same mapping as sqRing under IORING_FEAT_SINGLE_MMAP
	sqes   []byte
}

func openUring(sqpoll bool) (*uringRing, error) {
	r := &uringRing{fd: -1}
	if sqpoll {
		r.params.Flags = ioringSetupSQPoll
		r.params.SQThreadIdle = uringSQIdleMillis
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, asyncEntries,
		uintptr(unsafe.Pointer(&r.params)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("setting up io_uring: %w", errno)
	}
	r.fd = int(fd)

	// Before 5.11 an SQPOLL ring only takes registered files, and the
	// workload hands it a plain descriptor.
	if sqpoll && r.params.Features&ioringFeatSQPollNonfixed == 0 {
		return nil, errors.Join(errors.New("setting up io_uring: SQPOLL "+
			"with unregistered files needs kernel 5.11 or later"), r.close())
	}
	if err := r.mapRings(); err != nil {
		return nil, errors.Join(err, r.close())
	}
	return r, nil
}

func (r *uringRing) singleMmap() bool {
	return r.params.Features&ioringFeatSingleMmap != 0
}

func (r *uringRing) mapRings() error {
	p := &r.params
	sqSize := int(p.SQOff.Array) + int(p.SQEntries)*4
	cqSize := int(p.CQOff.CQEs) + int(p.CQEntries)*int(unsafe.Sizeof(uringCQE{}))

	// Since 5.4 both rings share one mapping, which must then cover the larger.
	if r.singleMmap() {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if r.sqRing, err = mapRing(r.fd, ioringOffSQRing, sqSize); err != nil {
		return fmt.Errorf("mapping io_uring submission ring: %w", err)
	}
	if r.singleMmap() {
		r.cqRing = r.sqRing
	} else if r.cqRing, err = mapRing(r.fd, ioringOffCQRing, cqSize); err != nil {
		return fmt.Errorf("mapping io_uring completion ring: %w", err)
	}
	sqesSize := int(p.SQEntries) * int(unsafe.Sizeof(uringSQE{}))
	if r.sqes, err = mapRing(r.fd, ioringOffSQEs, sqesSize); err != nil {
		return fmt.Errorf("mapping io_uring submission entries: %w", err)
	}
	return nil
}

func mapRing(fd int, offset int64, size int) ([]byte, error) {
	return unix.Mmap(fd, offset, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_POPULATE)
}

// close unmaps whatever mapRings mapped and closes the ring.
func (r *uringRing) close() error {
	var errs []error
	if r.sqes != nil {
		errs = append(errs, unix.Munmap(r.sqes))
	}
	if r.cqRing != nil && !r.singleMmap() {
		errs = append(errs, unix.Munmap(r.cqRing))
	}
	if r.sqRing != nil {
		errs = append(errs, unix.Munmap(r.sqRing))
	}
	if r.fd >= 0 {
		errs = append(errs, unix.Close(r.fd))
	}
	r.sqes, r.cqRing, r.sqRing, r.fd = nil, nil, nil, -1
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing io_uring: %w", err)
	}
	return nil
}

// ringWord points at the 32-bit ring field at off in a mapped ring.
func ringWord(ring []byte, off uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&ring[off]))
}

// push writes sqe into the next free slot and publishes it by moving the tail.
func (r *uringRing) push(sqe uringSQE) error {
	p := &r.params
	head := ringWord(r.sqRing, p.SQOff.Head)
	tail := ringWord(r.sqRing, p.SQOff.Tail)

	// Only this process moves the tail; the kernel moves the head as it
	// consumes entries, so the head needs an acquire load.
	t := atomic.LoadUint32(tail)
	if t-atomic.LoadUint32(head) >= p.SQEntries {
		return errors.New("io_uring submission ring is full")
	}
	idx := t & *ringWord(r.sqRing, p.SQOff.RingMask)
	slot := uintptr(idx) * unsafe.Sizeof(sqe)
	*(*uringSQE)(unsafe.Pointer(&r.sqes[slot])) = sqe
	*ringWord(r.sqRing, p.SQOff.Array+idx*4) = idx

	// The release store makes the entry visible before the new tail is.
	atomic.StoreUint32(tail, t+1)
	return nil
}

// submit hands the published entry to the kernel and waits for one
// completion: through io_uring_enter without SQPOLL, by waking the
// submission thread if it sleeps with it.
func (r *uringRing) submit(sqpoll bool) error {
	if !sqpoll {
		return r.enter(1, 1, ioringEnterGetEvents)
	}

	// Go's atomics are sequentially consistent, so this load cannot pass the
	// tail store in push: the full barrier the kernel asks for here, without
	// which a thread going to sleep could miss the entry.
	flags := atomic.LoadUint32(ringWord(r.sqRing, r.params.SQOff.Flags))
	if flags&ioringSQNeedWakeup != 0 {
		if err := r.enter(0, 0, ioringEnterSQWakeup); err != nil {
			return err
		}
	}
	return r.enter(0, 1, ioringEnterGetEvents)
}

// reap takes one completion off the ring, waiting for it if the wait in
// submit ended early: a signal, or a submission the kernel had already taken.
func (r *uringRing) reap() (uringCQE, error) {
	for {
		if cqe, ok := r.peek(); ok {
			return cqe, nil
		}
		if err := r.enter(0, 1, ioringEnterGetEvents); err != nil {
			return uringCQE{}, err
		}
	}
}

func (r *uringRing) peek() (uringCQE, bool) {
	p := &r.params
	head := ringWord(r.cqRing, p.CQOff.Head)

	// The acquire load of the tail orders the read of the entry after the
	// kernel's write of it.
	h := atomic.LoadUint32(head)
	if h == atomic.LoadUint32(ringWord(r.cqRing, p.CQOff.Tail)) {
		return uringCQE{}, false
	}
	idx := h & *ringWord(r.cqRing, p.CQOff.RingMask)
	slot := uintptr(p.CQOff.CQEs) + uintptr(idx)*unsafe.Sizeof(uringCQE{})
	cqe := *(*uringCQE)(unsafe.Pointer(&r.cqRing[slot]))

	// The release store hands the slot back only after it has been copied.
	atomic.StoreUint32(head, h+1)
	return cqe, true
}

// enter calls io_uring_enter, again when a signal interrupts it before it
// did anything; Go's preemption signals make that common while waiting.
func (r *uringRing) enter(toSubmit, minComplete, flags uint32) error {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd),
			uintptr(toSubmit), uintptr(minComplete), uintptr(flags), 0, 0)
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		default:
			return errno
		}
	}
}

// aioTransfer is aioIO returning the bytes read or written.
func aioTransfer(path string, write bool) (_ []byte, err error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer unix.Close(fd)

	// io_setup wants the context zeroed and fills it in.
	var ctx uint64
	_, _, errno := unix.Syscall(unix.SYS_IO_SETUP, asyncEntries,
		uintptr(unsafe.Pointer(&ctx)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("setting up AIO context: %w", errno)
	}
	defer func() {
		_, _, errno := unix.Syscall(unix.SYS_IO_DESTROY, uintptr(ctx), 0, 0)
		if errno != 0 {
			err = errors.Join(err, fmt.Errorf("destroying AIO context: %w", errno))
		}
	}()

	buf, name := asyncBuffer(write)
	cmd := uint16(iocbCmdPread)
	if write {
		cmd = iocbCmdPwrite
	}
	cb := &aioIOCB{
		Data:      asyncUserData,
		LioOpcode: cmd,
		Fildes:    uint32(fd),
		Buf:       uint64(uintptr(unsafe.Pointer(&buf[0]))),
		Nbytes:    uint64(len(buf)),
	}
	// The kernel copies the iocb during io_submit and afterwards only echoes
	// its address, so unlike buf it need not outlive the call.
	cbs := [1]*aioIOCB{cb}
	n, _, errno := unix.Syscall(unix.SYS_IO_SUBMIT, uintptr(ctx), 1,
		uintptr(unsafe.Pointer(&cbs[0])))
	if errno != 0 {
		return nil, fmt.Errorf("submitting AIO %s: %w", name, errno)
	}
	if n != 1 {
		return nil, fmt.Errorf("submitting AIO %s: kernel took %d requests", name, n)
	}

	ev, err := aioWait(ctx)
	runtime.KeepAlive(buf)
	if err != nil {
		return nil, fmt.Errorf("waiting for AIO %s: %w", name, err)
	}
	if ev.Data != asyncUserData {
		return nil, fmt.Errorf("AIO %s: event for unknown request %#x", name, ev.Data)
	}
	if ev.Res < 0 {
		return nil, fmt.Errorf("AIO %s: %w", name, unix.Errno(-ev.Res))
	}
	return buf[:ev.Res], nil
}

// aioWait blocks in io_getevents until the one request completes.
func aioWait(ctx uint64) (aioEvent, error) {
	var ev [1]aioEvent
	for {
		n, _, errno := unix.Syscall6(unix.SYS_IO_GETEVENTS, uintptr(ctx), 1, 1,
			uintptr(unsafe.Pointer(&ev[0])), 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			return aioEvent{}, errno
		case n != 1:
			return aioEvent{}, fmt.Errorf("io_getevents returned %d events", n)
		}
		return ev[0], nil
	}
}

func TestAsyncWorkloadsMoveData(t *testing.T) {
	t.Run("uapi layout", testAsyncUAPILayout)

	const content = "0123456789 file access receiver\n"
	written := string(asyncPayload) + content[len(asyncPayload):]
	tests := []struct {
		name     string
		write    bool
		transfer func(path string) ([]byte, error)
		workload func(path string) error
	}{
		{
			name:     "io_uring read",
			transfer: func(p string) ([]byte, error) { return uringTransfer(p, false, false) },
			workload: func(p string) error { return uringIO(p, false, false) },
		},
		{
			name:     "io_uring read with SQPOLL",
			transfer: func(p string) ([]byte, error) { return uringTransfer(p, false, true) },
			workload: func(p string) error { return uringIO(p, false, true) },
		},
		{
			name:     "io_uring write",
			write:    true,
			transfer: func(p string) ([]byte, error) { return uringTransfer(p, true, false) },
			workload: func(p string) error { return uringIO(p, true, false) },
		},
		{
			name:     "io_uring write with SQPOLL",
			write:    true,
			transfer: func(p string) ([]byte, error) { return uringTransfer(p, true, true) },
			workload: func(p string) error { return uringIO(p, true, true) },
		},
		{
			name:     "AIO read",
			transfer: func(p string) ([]byte, error) { return aioTransfer(p, false) },
			workload: func(p string) error { return aioIO(p, false) },
		},
		{
			name:     "AIO write",
			write:    true,
			transfer: func(p string) ([]byte, error) { return aioTransfer(p, true) },
			workload: func(p string) error { return aioIO(p, true) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "target")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			wantMoved, wantFile := content[:len(asyncPayload)], content
			if tt.write {
				wantMoved, wantFile = string(asyncPayload), written
			}

			moved, err := tt.transfer(path)
			skipIfAsyncUnavailable(t, err)
			if err != nil {
				t.Fatal(err)
			}
			if string(moved) != wantMoved {
				t.Errorf("moved %q, want %q", moved, wantMoved)
			}
			checkFile(t, path, wantFile)

			// The workload entry point repeats the transfer; a write of the
			// same bytes leaves the file as it was.
			if err := tt.workload(path); err != nil {
				t.Fatal(err)
			}
			checkFile(t, path, wantFile)
		})
	}
}

func testAsyncUAPILayout(t *testing.T) {
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof io_uring_params", unsafe.Sizeof(uringParams{}), 120},
		{"sizeof io_sqring_offsets", unsafe.Sizeof(uringSQRingOffsets{}), 40},
		{"sizeof io_cqring_offsets", unsafe.Sizeof(uringCQRingOffsets{}), 40},
		{"sizeof io_uring_sqe", unsafe.Sizeof(uringSQE{}), 64},
		{"offsetof io_uring_sqe.user_data", unsafe.Offsetof(uringSQE{}.UserData), 32},
		{"offsetof io_uring_sqe.addr3", unsafe.Offsetof(uringSQE{}.Addr3), 48},
		{"sizeof io_uring_cqe", unsafe.Sizeof(uringCQE{}), 16},
		{"offsetof io_uring_cqe.res", unsafe.Offsetof(uringCQE{}.Res), 8},
		{"sizeof iocb", unsafe.Sizeof(aioIOCB{}), 64},
		{"offsetof iocb.aio_buf", unsafe.Offsetof(aioIOCB{}.Buf), 24},
		{"offsetof iocb.aio_resfd", unsafe.Offsetof(aioIOCB{}.ResFd), 60},
		{"sizeof io_event", unsafe.Sizeof(aioEvent{}), 32},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

// skipIfAsyncUnavailable skips when the kernel lacks the interface or refuses
// it, as kernel.io_uring_disabled and container seccomp profiles do.
func skipIfAsyncUnavailable(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		t.Skipf("interface unavailable here: %v", err)
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("file holds %q, want %q", got, want)
	}
}
