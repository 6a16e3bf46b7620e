package faults

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes cmd's process get SIGKILL when the test binary dies
// (a timeout panic), so that no replica outlives the run.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
