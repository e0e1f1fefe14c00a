// Package e2e tests smolvm-core end to end with a real Linux guest. Each
// test makes its own network namespace, prepares a TAP in it with the
// network package, boots the guest under QEMU's microvm machine on that
// TAP, and drives QEMU with the qmp package. It checks that the guest
// serves HTTP through the TAP, that QMP stop makes it unreachable and
// cont brings it back, and that system_powerdown shuts it down.
//
// The tests send packets only inside their own namespaces. Outside them,
// they write only the guest cache, and scripts/build-guest fetches
// packages from the configured Debian mirror, running apt-get update first
// when the package lists lack them.
//
// The guest is a Debian cloud kernel with a busybox initramfs, built by
// scripts/build-guest into a cache directory ($SMOLVM_GUEST_DIR, by
// default ~/.cache/smolvm-core/guest). The tests run that script
// themselves, and it returns in about a second when the guest is up to
// date.
//
// Requirements: Linux on x86-64, root, qemu-system-x86_64, /dev/net/tun,
// and for the guest build apt-get, dpkg-deb and go. Without root, QEMU or
// apt the tests skip with a message naming what is missing. With the CI
// environment variable set they fail instead. QEMU uses KVM only where the
// CPU advertises vmx or svm, and TCG otherwise. SMOLVM_E2E_ACCEL=kvm or
// SMOLVM_E2E_ACCEL=tcg overrides that choice.
//
// This file holds only the package comment. The tests are in the test
// files, and the initramfs packer is the command in e2e/mkinitramfs.
package e2e
