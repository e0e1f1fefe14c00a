// Package network prepares the host side of a microVM's network: persistent
// TAP devices owned by the VMM's user, IPv4 addresses, link state, routes,
// per-interface sysctls and the host's default outbound interface.
//
// A [Manager] does the work with direct kernel calls: ioctls on /dev/net/tun,
// rtnetlink through one netlink handle that it keeps for its whole life, and
// writes under /proc/sys. When this process may not do that, it runs `ip`
// and `sysctl` instead, with the same results (see [Backend]). A manager may
// be bound to a named network namespace (as `ip -n NAME` is), and then every
// operation, TAP creation and sysctl writes included, happens inside that
// namespace.
//
// Privilege: the native path needs root or CAP_NET_ADMIN in the owning user
// namespace, and CAP_SYS_ADMIN as well for a named namespace. The command
// path needs root or a sudo rule that lets this user run ip and sysctl
// without a password. A refusal comes back as an error that matches
// [io/fs.ErrPermission].
//
// Every TAP a Manager creates is marked with an interface alias (see
// [MarkAlias]), so [Manager.CollectTAPs] can remove what a crashed runtime
// left behind without touching anyone else's devices, and
// [Manager.DeleteTAPs] deletes many TAPs with one kernel deletion.
//
// Every method validates its input before it touches the kernel and rejects
// bad input with a [*ValidationError] that names the field and the value.
// Kernel failures come back as [*OpError], which keeps the operation, the
// object and the kernel's error, so [errors.Is] works against [io/fs.ErrExist],
// [io/fs.ErrNotExist], [io/fs.ErrPermission] and [syscall.EBUSY].
//
// Creating is idempotent where the caller requests a state. Creating a TAP
// that already exists in the requested form succeeds without changing it, and
// so do adding an address or route that is already there and setting an up
// link up. [Manager.PrepareTAP] undoes what it created when a later
// step fails. A route to a destination through another device is an error
// matching [io/fs.ErrExist] when that device is up. When it is down, the
// kernel reports [syscall.ENETDOWN] first.
//
// On platforms other than Linux every operation returns an error that matches
// [errors.ErrUnsupported] and reads "Not available on this platform".
//
// A Manager is safe for concurrent use by multiple goroutines.
package network
