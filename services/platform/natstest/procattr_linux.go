package natstest

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills the NATS server when the test binary dies, even if it
// never reaches its cleanup (a panic, a timeout, go test killing it).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
