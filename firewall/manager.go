package firewall

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"runtime"
	"strconv"
	"sync"

	"github.com/smolvm/smolvm-core/internal/privilege"
	"github.com/smolvm/smolvm-core/network"
)

// Backend selects how a [Manager] talks to nftables.
type Backend int

const (
	// BackendAuto uses netlink when the process may, and the nft command
	// otherwise. A netlink call that fails with EPERM or EACCES switches
	// the manager to the nft command for good, with one warning.
	BackendAuto Backend = iota
	// BackendNative uses nftables netlink only.
	BackendNative
	// BackendCommand runs the nft command (through `sudo -n` when not root).
	BackendCommand
)

// BackendFor returns the firewall path that matches a network path, so one
// choice (such as a --backend flag) sets both.
func BackendFor(b network.Backend) Backend {
	switch b {
	case network.BackendNative:
		return BackendNative
	case network.BackendCommand:
		return BackendCommand
	}
	return BackendAuto
}

func (b Backend) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendNative:
		return "native"
	case BackendCommand:
		return "command"
	}
	return "backend(" + strconv.Itoa(int(b)) + ")"
}

// DisableNativeEnv is the environment variable that forces the command
// path when set to 1, true, yes or on, as it does for the network package.
const DisableNativeEnv = privilege.DisableEnv

// Options configures a [Manager]. The zero value works in the caller's
// network namespace and picks the backend itself.
type Options struct {
	// Netns names a network namespace in /run/netns. Every operation of the
	// manager then acts on that namespace's ruleset, as `ip netns exec NAME
	// nft` does. Empty means the namespace of the thread that calls New.
	Netns string
	// Backend selects netlink, the nft command, or (the zero value) the
	// first that works.
	Backend Backend
	// Logger receives the one warning the manager logs by itself, when it
	// falls back to the nft command. Nil means slog.Default().
	Logger *slog.Logger
}

// backend is one way to reach nftables. Its methods get validated input and
// return causes, which the Manager wraps in an OpError.
type backend interface {
	// inspect reports how much of the table exists.
	inspect(ctx context.Context) (tableInfo, error)
	// apply sends tx as one transaction.
	apply(ctx context.Context, tx *transaction) error
	// list returns the elements of every set and map of the table, and
	// whether the table exists.
	list(ctx context.Context) ([]elem, bool, error)
	// forwardDrops returns the base chains of other tables that drop
	// forwarded traffic by policy.
	forwardDrops(ctx context.Context) ([]ForeignChain, error)
	close() error
}

// Manager installs and removes sandbox firewall state in the nftables
// table [TableName]. Create it with [New] and release it with
// [Manager.Close].
type Manager struct {
	opts   Options
	logger *slog.Logger

	// mu serializes operations: the netlink connection buffers one batch
	// at a time, and the table check must not race with a change.
	mu     sync.Mutex
	sys    backend
	native bool
	// commandPath opens the nft command backend; tests replace it.
	commandPath func() backend
	// ready is true while the table is believed complete, so an apply
	// need not check it first. A failed apply clears it.
	ready bool
	// forwarding is true once this manager has written ip_forward.
	forwarding bool
	net        *network.Manager
	closed     bool
	closeErr   error
}

// New opens a Manager. With the native backend it opens one nftables
// netlink connection, in opts.Netns when set, and keeps it until Close.
// It does not touch the ruleset: the table is created by the first
// operation that needs it.
func New(opts Options) (*Manager, error) {
	if opts.Netns != "" {
		if err := network.ValidateNetnsName(opts.Netns); err != nil {
			var verr *network.ValidationError
			if errors.As(err, &verr) {
				return nil, &ValidationError{Field: verr.Field, Value: verr.Value, Reason: verr.Reason}
			}
			return nil, err
		}
	}
	if opts.Backend < BackendAuto || opts.Backend > BackendCommand {
		return nil, invalid("backend", opts.Backend.String(), "must be auto, native or command")
	}
	m := &Manager{opts: opts, logger: opts.Logger}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	m.commandPath = func() backend { return newCommand(opts.Netns) }

	switch opts.Backend {
	case BackendCommand:
		m.sys = m.commandPath()
	case BackendNative:
		sys, err := newNative(opts.Netns)
		if err != nil {
			return nil, err
		}
		m.sys, m.native = sys, true
	default:
		m.sys, m.native = m.pickBackend()
	}
	return m, nil
}

// pickBackend returns netlink when the process may use it, and the nft
// command otherwise, with the one warning.
func (m *Manager) pickBackend() (backend, bool) {
	if off, _ := privilege.NativeDisabledByEnv(); off {
		return m.commandPath(), false
	}
	if err := nativePermitted(m.opts.Netns); err != nil {
		m.warnFallback(err)
		return m.commandPath(), false
	}
	sys, err := newNative(m.opts.Netns)
	if err != nil {
		m.warnFallback(err)
		return m.commandPath(), false
	}
	return sys, true
}

// warnFallback logs the one warning of a manager that uses the nft command
// although it was not asked to.
func (m *Manager) warnFallback(cause error) {
	if errors.Is(cause, ErrNotAvailable) {
		m.logger.Warn("nftables netlink is not available on this platform; using the nft command", "reason", cause.Error())
		return
	}
	m.logger.Warn("nftables netlink is not permitted; using the nft command, which is slower. "+
		"Run as root or with CAP_NET_ADMIN for the netlink path", "reason", cause.Error(), "netns", m.opts.Netns)
}

// Backend returns the backend in use: BackendNative or BackendCommand.
func (m *Manager) Backend() Backend {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.native {
		return BackendNative
	}
	return BackendCommand
}

// Close releases the netlink connection. Operations after Close fail with
// an error matching ErrClosed. It is safe to call more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return m.closeErr
	}
	m.closed = true
	m.closeErr = m.sys.close()
	if m.net != nil {
		m.closeErr = errors.Join(m.closeErr, m.net.Close())
	}
	return m.closeErr
}

// do runs fn with the manager locked, open and ctx not done, and wraps its
// error as an OpError of op on object. Under BackendAuto a permission
// error from netlink switches the manager to the nft command, once, and fn
// runs again there.
func (m *Manager) do(ctx context.Context, op, object string, fn func(b backend) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return &OpError{Op: op, Object: object, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return &OpError{Op: op, Object: object, Err: err}
	}
	err := fn(m.sys)
	if err != nil && m.native && m.opts.Backend == BackendAuto && errors.Is(err, fs.ErrPermission) {
		m.warnFallback(err)
		m.sys.close()
		m.sys, m.native, m.ready = m.commandPath(), false, false
		err = fn(m.sys)
	}
	if err == nil {
		return nil
	}
	var verr *ValidationError
	if errors.As(err, &verr) {
		return err
	}
	return &OpError{Op: op, Object: object, Err: err}
}

// apply sends the transaction that build fills, after the schema work the
// table needs. If it fails, the table is checked again and the apply is
// tried once more, which recreates a table that someone flushed. build
// runs once per attempt, so it may read the current state.
func (m *Manager) apply(ctx context.Context, b backend, build func(tx *transaction) error) error {
	var err error
	for range 2 {
		var tx transaction
		if !m.ready {
			info, ierr := b.inspect(ctx)
			if ierr != nil {
				return ierr
			}
			tx = planSchema(info)
		}
		if berr := build(&tx); berr != nil {
			return berr
		}
		if err = b.apply(ctx, &tx); err == nil {
			m.ready = true
			return nil
		}
		m.ready = false
		if ctx.Err() != nil || errors.Is(err, fs.ErrPermission) {
			return err
		}
	}
	return err
}

// network returns the network manager for sysctls and TAP checks, opened
// on first use in the same namespace.
func (m *Manager) network() (*network.Manager, error) {
	if m.net == nil {
		// The same path choice and logger as the firewall's own, so a
		// forced command path stays one.
		paths := map[Backend]network.Backend{
			BackendAuto: network.BackendAuto, BackendNative: network.BackendNative, BackendCommand: network.BackendCommand,
		}
		n, err := network.New(network.Options{Netns: m.opts.Netns, Backend: paths[m.opts.Backend], Logger: m.logger})
		if err != nil {
			return nil, err
		}
		m.net = n
	}
	return m.net, nil
}

// enableForwarding sets net.ipv4.ip_forward to 1 through the network
// package, once per manager.
func (m *Manager) enableForwarding(ctx context.Context) error {
	if m.forwarding {
		return nil
	}
	n, err := m.network()
	if err != nil {
		return err
	}
	if err := n.WriteSysctl(ctx, "net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	m.forwarding = true
	return nil
}

// tapGone reports whether no device named tap exists in the namespace.
func (m *Manager) tapGone(ctx context.Context, tap string) (bool, error) {
	n, err := m.network()
	if err != nil {
		return false, err
	}
	_, err = n.TAPInfo(ctx, tap)
	switch {
	case err == nil, errors.Is(err, network.ErrNotTAP):
		return false, nil
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	}
	return false, err
}

// nativePermitted returns nil when the process may change nftables through
// netlink (CAP_NET_ADMIN, and CAP_SYS_ADMIN to enter a named namespace),
// and the reason otherwise.
func nativePermitted(netns string) error {
	if runtime.GOOS != "linux" {
		return ErrNotAvailable
	}
	if !privilege.HasNetAdmin() {
		return errors.New("CAP_NET_ADMIN is missing: run as root or grant it (setcap cap_net_admin+ep BINARY)")
	}
	if netns != "" && !privilege.HasSysAdmin() {
		return errors.New("CAP_SYS_ADMIN is missing, so netlink cannot enter network namespace " + netns + ": run as root")
	}
	return nil
}
