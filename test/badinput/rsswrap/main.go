// Command rsswrap runs a command under an address-space limit and reports
// its peak resident memory, for the hostile-input tests.
//
// Go starts children with vfork, and Linux charges the parent's peak RSS to
// a vforked child's ru_maxrss at exec, so a test process (hundreds of MiB)
// cannot measure a small child directly. rsswrap is small: what it reports
// is the command's own peak, give or take rsswrap's few MiB.
//
// Usage: rsswrap LIMIT_KIB COMMAND [ARG...]. It exits with the command's
// exit code and prints "rsswrap: maxrss=<KiB>" as the last line of stderr.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	os.Exit(run())
}

func run() int {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: rsswrap LIMIT_KIB COMMAND [ARG...]")
		return 2
	}
	kib, err := strconv.ParseUint(os.Args[1], 10, 64)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rsswrap: limit %q: %v\n", os.Args[1], err)
		return 2
	}
	limit := &syscall.Rlimit{Cur: kib << 10, Max: kib << 10}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, limit); err != nil {
		fmt.Fprintf(os.Stderr, "rsswrap: setting RLIMIT_AS: %v\n", err)
		return 2
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		fmt.Fprintf(os.Stderr, "rsswrap: %v\n", err)
		return 2
	}
	var maxrss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		maxrss = ru.Maxrss
	}
	fmt.Fprintf(os.Stderr, "rsswrap: maxrss=%d\n", maxrss)
	return code
}
