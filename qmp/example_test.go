package qmp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smolvm/smolvm-core/internal/qmptest"
	"github.com/smolvm/smolvm-core/qmp"
)

// Example pauses a VM and reads its state back. The fake server replaces a
// QEMU started with "-qmp unix:PATH,server=on,wait=off".
func Example() {
	dir, err := os.MkdirTemp("", "qmp-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	srv, err := qmptest.Listen(filepath.Join(dir, "qmp.sock"), qmptest.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := qmp.Dial(ctx, srv.SocketPath(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("QEMU", c.Greeting().Version)

	_, ev, err := c.ExecuteAndWait(ctx, "stop", nil, qmp.EventFilter{Names: []string{"STOP"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("event:", ev.Name)

	st, err := c.QueryStatus(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status:", st.Status)
	// Output:
	// QEMU 7.2.22
	// event: STOP
	// status: paused
}
