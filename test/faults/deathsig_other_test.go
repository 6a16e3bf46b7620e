//go:build !linux

package faults

import "os/exec"

// dieWithParent does nothing where the kernel cannot tie a child's life to
// its parent's; the tests' cleanups still stop every replica.
func dieWithParent(*exec.Cmd) {}
