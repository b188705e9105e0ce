package testproc

import "syscall"

// setDeathSignal has the kernel kill the child if the test binary dies
// without a chance to clean up (SIGKILL).
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
