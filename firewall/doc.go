// Package firewall keeps a microVM sandbox's firewall state in nftables:
// masquerading of guest traffic, TCP port forwards from the host to a
// guest, an egress allowlist per TAP, and isolation between sandbox TAPs.
//
// # Model
//
// Everything lives in one table, inet smolvm ([TableName]). The package
// never lists, changes or flushes another table. It only reads the headers
// of other tables' base chains, to find forward chains with policy drop
// (see [Manager.ForwardDrops]). The first operation that needs the table
// creates it, in the same transaction as its own change. A manager checks
// the table on first use and again whenever an apply fails, then creates it
// (after `nft flush ruleset`) or rebuilds chains whose rules differ.
//
// Per-sandbox state is elements of named sets and maps, so adding or
// removing a sandbox changes elements and never rewrites a rule:
//
//	taps         ifname                                   sandbox TAPs, isolated from each other
//	nat4         ipv4_addr                                guest sources to masquerade
//	egress_taps  ifname                                   TAPs whose egress is limited
//	egress4      ifname . ipv4_addr (intervals)           allowed IPv4 destinations per TAP
//	egress6      ifname . ipv6_addr (intervals)           allowed IPv6 destinations per TAP
//	forwards     inet_service : ipv4_addr . inet_service  host port to guest address and port
//	local_ports  inet_service                             host ports also forwarded for local traffic
//
// Elements that a TAP does not key carry a comment "tap=TAP id=ID", which
// [Manager.RemoveSandbox] and [Manager.List] read, so a garbage collector
// can find the entries of TAPs that are gone.
//
// The chains, all with policy accept, are:
//
//	prerouting   nat hook prerouting priority -100   DNAT of forwarded host ports
//	output       nat hook output priority -100       DNAT of local connections to local_ports
//	postrouting  nat hook postrouting priority 100   masquerade nat4 sources and local forwards
//	forward      filter hook forward priority 0      replies, isolation, egress allowlists
//
// Every operation is one nftables transaction, so it takes effect whole or
// leaves the previous state in force. Adding or removing a forward costs
// one transaction of a few element changes; see BENCHMARKS.md.
//
// # Paths
//
// A [Manager] speaks nftables netlink over one lasting socket, or runs the
// nft command with a generated script on stdin (`nft -f -`) and reads
// `nft -j` output. Both produce the same table, element for element. Every
// value in a script is a validated name or a typed address, prefix or port,
// and names are quoted, so no input can add a statement. [BackendAuto]
// chooses netlink when the process holds CAP_NET_ADMIN (and CAP_SYS_ADMIN
// for a named namespace) and SMOLVM_DISABLE_NATIVE_NETWORKING is not set. A
// netlink call that fails with EPERM or EACCES switches the manager to the
// nft command for good, with one warning to the logger.
//
// # Privilege
//
// Changing or listing nftables needs CAP_NET_ADMIN; binding to a named
// network namespace needs CAP_SYS_ADMIN as well. The command path runs nft
// through `sudo -n` when the process is not root. Forwards and NAT set
// net.ipv4.ip_forward through the network package.
//
// # Errors
//
// Bad input is rejected before anything is sent, with a [*ValidationError]
// naming the field and the value (it matches [io/fs.ErrInvalid]). Failures
// come back as [*OpError], which keeps the cause: [io/fs.ErrPermission] for
// missing privilege, [io/fs.ErrExist] for a [*ConflictError] on a host port,
// [errors.ErrUnsupported] on platforms without nftables. Removing what is
// not there succeeds, so cleanups can be repeated.
//
// # Limits
//
// Forwards are TCP over IPv4 to IPv4 guests; NAT masquerades IPv4 only.
// The egress allowlist filters forwarded traffic, not traffic to the host's
// own addresses. Detection of dropping forward chains sees nftables tables,
// including those of iptables-nft, but not rules of legacy iptables.
//
// A Manager is safe for concurrent use by multiple goroutines; it runs one
// operation at a time.
package firewall
