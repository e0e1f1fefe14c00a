// Package e2e tests smolvm-core end to end with a real Linux guest.
//
// TestSandboxLifecycle runs a sandbox's whole life with smolvm-core doing
// every host-side step. In a namespace of its own, it prepares a TAP
// for the VMM's user, marked for the sandbox, with the network package.
// It boots the guest under QEMU's microvm machine on that TAP, with a
// qcow2 disk and a QMP socket, pings the guest and fetches its HTTP page.
// Over the qmp package it checks that stop makes the guest unreachable and
// cont brings it back. It saves a snapshot, changes a value in guest RAM,
// loads the snapshot and checks that the value came back, then deletes the
// snapshot. It hot-plugs a second NIC on a second TAP, whose descriptor it
// passes with getfd, and reaches the guest through it. Finally it quits
// QEMU, deletes both TAPs in one batch and checks that no QEMU process,
// TAP, namespace or working directory is left. With the firewall package
// it masquerades the guest, forwards a host port to the guest's HTTP
// server, fetches the page through the forward on the host address and on
// 127.0.0.1, and removes the firewall entries in the teardown.
// TestGuestPowerdown checks that system_powerdown makes the guest power
// itself off.
//
// QEMU runs as the unprivileged user 65534 and gets the TAPs as open
// descriptors, because /dev/net/tun may be accessible to root only.
//
// The tests send packets only inside their own namespaces. Outside them,
// they write only the guest cache and a temporary working directory per
// test, and scripts/build-guest fetches packages from the configured
// Debian mirror, running apt-get update first when the package lists lack
// them.
//
// The guest is a Debian cloud kernel with a busybox initramfs, built by
// scripts/build-guest into a cache directory ($SMOLVM_GUEST_DIR, by
// default ~/.cache/smolvm-core/guest) from e2e/guest. The tests run that
// script themselves. It returns in about a second when the guest is up to
// date, and rebuilds it when the script, e2e/guest or e2e/mkinitramfs
// changed.
//
// Requirements: Linux on x86-64, root, qemu-system-x86_64, qemu-img,
// /dev/net/tun, and for the guest build apt-get, dpkg-deb and go. Without
// root, QEMU or apt the tests skip with a message naming what is missing.
// With the CI environment variable set they fail instead. QEMU uses KVM
// only where the CPU advertises vmx or svm, and TCG otherwise.
// SMOLVM_E2E_ACCEL=kvm or SMOLVM_E2E_ACCEL=tcg overrides that choice.
//
// This file holds only the package comment. The tests are in the test
// files, and the initramfs packer is the command in e2e/mkinitramfs.
package e2e
