package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/smolvm/smolvm-core/internal/nsutil"
)

// cleanup undoes every step that ran, carrying on after a failure, then
// checks that nothing is left: no QEMU process, no TAP, no namespace and no
// temporary directory.
func (d *demo) cleanup() error {
	var errs []error
	if d.client != nil {
		errs = append(errs, d.client.Close())
	}
	if d.qemu != nil {
		errs = append(errs, d.stopQEMU())
	}
	if d.manager != nil {
		errs = append(errs, d.step("check no tap is left", d.checkNoTAP))
		errs = append(errs, d.manager.Close())
	}
	if d.netns != "" {
		errs = append(errs, d.step("delete network namespace", func() (string, error) {
			return d.netns, nsutil.Delete(d.netns)
		}))
		errs = append(errs, d.step("check namespace is gone", func() (string, error) {
			if nsutil.Exists(d.netns) {
				return "", fmt.Errorf("namespace %s still exists", d.netns)
			}
			return "", nil
		}))
	}
	if pid := d.pid; pid != 0 {
		errs = append(errs, d.step("check qemu process is gone", func() (string, error) {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
				return "", fmt.Errorf("qemu pid %d still exists", pid)
			}
			return "pid " + strconv.Itoa(pid), nil
		}))
	}
	if d.dir != "" {
		errs = append(errs, os.RemoveAll(d.dir))
	}
	return errors.Join(errs...)
}

// stopQEMU kills a QEMU that did not quit and reaps it.
func (d *demo) stopQEMU() error {
	return d.step("kill qemu (it did not quit)", func() (string, error) {
		if err := d.qemu.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return "", err
		}
		select {
		case <-d.exited:
			return "", nil
		case <-time.After(10 * time.Second):
			return "", errors.New("qemu did not exit 10 s after SIGKILL")
		}
	})
}

// checkNoTAP deletes the TAP if an earlier step failed before deleting it,
// then checks that a lookup of the TAP finds nothing.
func (d *demo) checkNoTAP() (string, error) {
	ctx := context.Background()
	if err := d.manager.EnsureTAPDeleted(ctx, tapName); err != nil {
		return "", err
	}
	_, err := d.manager.TAPInfo(ctx, tapName)
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("tap %s is still there (lookup: %v)", tapName, err)
	}
	return "", nil
}
