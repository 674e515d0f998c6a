//go:build !linux

package natstest

import "os/exec"

// dieWithParent: only linux has a parent-death signal; elsewhere the
// test's cleanup stops the server.
func dieWithParent(*exec.Cmd) {}
