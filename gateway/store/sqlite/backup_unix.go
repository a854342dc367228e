//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// shmDMSByte is the "dead man switch" lock byte of a WAL database's -shm
// file: every connection to the database, in any process, holds a shared
// POSIX lock on it for as long as it is open
// (https://www.sqlite.org/walformat.html §2.3.1: lock bytes 120..127 are the
// WAL locks, byte 128 the DMS).
const shmDMSByte = 128

// InUse reports whether another process has the database at path open,
// such as a serving gateway or a `switchboard users` command: it asks the
// kernel whether a write lock on the -shm file's DMS byte would conflict
// with a lock held by another process (F_GETLK). Locks held by this
// process are not seen. It returns nil, or an error wrapping ErrInUse that
// names the process.
func InUse(path string) error {
	f, err := os.Open(path + "-shm")
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no WAL index: nobody has the database open in WAL mode
	}
	if err != nil {
		return fmt.Errorf("check %s for other users: %w", path, err)
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: shmDMSByte, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return fmt.Errorf("check %s for other users: %w", path, err)
	}
	if lk.Type == syscall.F_UNLCK {
		return nil
	}
	return fmt.Errorf("%s: %w (pid %d)", path, ErrInUse, lk.Pid)
}
