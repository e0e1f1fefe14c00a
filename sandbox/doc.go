// Package sandbox is the declarative layer over network and firewall. A
// runtime describes one sandbox's host-side network as a [Spec] (id, TAP,
// VMM uid, host and guest addresses, NAT, port forwards, egress allowlist).
// [Manager.Ensure] creates it or converges what is installed to it, and is
// safe to repeat. [Manager.Remove] takes it all down again, and
// [Manager.GC] removes what crashed runtimes left behind.
//
// Everything a Manager creates is marked with the sandbox id: the TAP by
// its interface alias (smolvm:ID), the firewall entries by their keys and
// comments in smolvm-core's own nftables table. Nothing unmarked is ever
// changed.
//
// Privilege: as for the network and firewall packages, root or
// CAP_NET_ADMIN for the native paths (CAP_SYS_ADMIN too with a named
// namespace), or sudo rules for ip, sysctl and nft for the command paths.
//
// A Manager is safe for concurrent use for different sandboxes.
package sandbox
