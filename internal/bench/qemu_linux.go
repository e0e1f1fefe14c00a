package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// qemuProc is a QEMU process that the run started: no machine, TCG, QMP
// monitors on Unix sockets and optionally a qcow2 disk as node "disk0".
type qemuProc struct {
	cmd     *exec.Cmd
	sockets []string
	output  bytes.Buffer
}

// qemuArgs returns the command line of a QEMU with monitors QMP sockets in
// dir (named with tag) and, when disk is not empty, that qcow2 image.
func qemuArgs(dir, tag string, monitors int, disk string) (args, sockets []string) {
	args = []string{"-machine", "none", "-accel", "tcg", "-nodefaults", "-display", "none"}
	for i := range monitors {
		sock := filepath.Join(dir, tag+"-qmp"+strconv.Itoa(i)+".sock")
		sockets = append(sockets, sock)
		args = append(args, "-qmp", "unix:"+sock+",server=on,wait=off")
	}
	if disk != "" {
		args = append(args,
			"-blockdev", "driver=file,filename="+disk+",node-name=disk0-file",
			"-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0")
	}
	return args, sockets
}

// startQEMU starts qemu with the given arguments. The kernel kills it if
// this process dies first.
func startQEMU(qemu string, args, sockets []string) (*qemuProc, error) {
	q := &qemuProc{sockets: sockets}
	q.cmd = exec.Command(qemu, args...)
	q.cmd.Stdout = &q.output
	q.cmd.Stderr = &q.output
	q.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := q.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	return q, nil
}

// stop kills QEMU and waits for it.
func (q *qemuProc) stop() {
	q.cmd.Process.Kill()
	q.cmd.Wait()
}

// createImage creates a qcow2 image of size bytes at path with qemu-img.
func createImage(ctx context.Context, img, path string, size int64) error {
	out, err := exec.CommandContext(ctx, img, "create", "-q", "-f", "qcow2", path, strconv.FormatInt(size, 10)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create %s: %w: %s", path, err, out)
	}
	return nil
}

// rawMonitor is a bare QMP connection: one write per command and one line
// read per reply, with no id matching, routing or decoding. It is the floor
// that the client's round trip is compared with.
type rawMonitor struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialRaw connects to sock, polling every millisecond until it accepts or
// ctx ends, reads the greeting and negotiates capabilities.
func dialRaw(ctx context.Context, sock string) (*rawMonitor, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "unix", sock)
		if err == nil {
			m := &rawMonitor{conn: conn, r: bufio.NewReader(conn)}
			if err := m.handshake(); err != nil {
				conn.Close()
				return nil, err
			}
			return m, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to %s: %w", sock, err)
		case <-time.After(time.Millisecond):
		}
	}
}

func (m *rawMonitor) handshake() error {
	if _, err := m.r.ReadSlice('\n'); err != nil {
		return fmt.Errorf("read qmp greeting: %w", err)
	}
	return m.roundTrip([]byte(`{"execute": "qmp_capabilities"}` + "\n"))
}

// roundTrip writes cmd, a complete line, and reads one line back.
func (m *rawMonitor) roundTrip(cmd []byte) error {
	if _, err := m.conn.Write(cmd); err != nil {
		return fmt.Errorf("raw qmp write: %w", err)
	}
	if _, err := m.r.ReadSlice('\n'); err != nil {
		return fmt.Errorf("raw qmp read: %w", err)
	}
	return nil
}

func (m *rawMonitor) close() error { return m.conn.Close() }
