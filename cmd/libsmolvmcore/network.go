package main

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync"

	"github.com/smolvm/smolvm-core/network"
)

// netManager is the process's one network.Manager, so that every call
// reuses its netlink sockets. It is opened on first use and never closed,
// because the Python module has no point at which it could close it.
var netManager struct {
	mu sync.Mutex
	m  *network.Manager
}

// manager returns the shared manager, opening it on first use. A failed
// open is not cached, so a later call tries again.
func manager() (*network.Manager, error) {
	netManager.mu.Lock()
	defer netManager.mu.Unlock()
	if netManager.m == nil {
		m, err := network.New(network.Options{})
		if err != nil {
			return nil, err
		}
		netManager.m = m
	}
	return netManager.m, nil
}

// netCall runs fn with the shared manager and maps its error. op is the
// Python function name and dev the device that `Cannot find device` names.
func netCall(op, dev string, fn func(ctx context.Context, m *network.Manager) error) (any, *errorInfo) {
	m, err := manager()
	if err == nil {
		err = fn(context.Background(), m)
	}
	if err != nil {
		return nil, networkError(op, dev, err)
	}
	return nil, nil
}

func createTAP(name string, owner int64) (any, *errorInfo) {
	return netCall("create_tap", name, func(ctx context.Context, m *network.Manager) error {
		return m.CreateTAP(ctx, name, int(owner))
	})
}

func deleteTAP(name string) (any, *errorInfo) {
	return netCall("delete_tap", name, func(ctx context.Context, m *network.Manager) error {
		return m.DeleteTAP(ctx, name)
	})
}

func flushAddrs(name string) (any, *errorInfo) {
	return netCall("flush_addrs", name, func(ctx context.Context, m *network.Manager) error {
		return m.FlushAddrs(ctx, name)
	})
}

func addAddr(name, ip string, prefixLen int64) (any, *errorInfo) {
	return netCall("add_addr", name, func(ctx context.Context, m *network.Manager) error {
		addr, err := ipv4Prefix("address", ip, prefixLen)
		if err != nil {
			return err
		}
		return m.AddAddr(ctx, name, addr)
	})
}

func setLinkUp(name string) (any, *errorInfo) {
	return netCall("set_link_up", name, func(ctx context.Context, m *network.Manager) error {
		return m.SetLinkUp(ctx, name)
	})
}

func configureTAP(name, hostIP string, prefixLen int64) (any, *errorInfo) {
	return netCall("configure_tap", name, func(ctx context.Context, m *network.Manager) error {
		addr, err := ipv4Prefix("host address", hostIP, prefixLen)
		if err != nil {
			return err
		}
		return m.ConfigureTAP(ctx, name, addr)
	})
}

// prepareTAP is PrepareTAP when routeLocalnet is set. Without it, the
// sysctl is left alone, and a TAP that this call created is deleted again
// when configuring it fails, as PrepareTAP does.
func prepareTAP(name string, owner int64, hostIP string, prefixLen int64, routeLocalnet bool) (any, *errorInfo) {
	return netCall("prepare_tap", name, func(ctx context.Context, m *network.Manager) error {
		addr, err := ipv4Prefix("host address", hostIP, prefixLen)
		if err != nil {
			return err
		}
		if routeLocalnet {
			return m.PrepareTAP(ctx, name, int(owner), addr)
		}

		_, err = m.TAPInfo(ctx, name)
		var verr *network.ValidationError
		if errors.As(err, &verr) {
			return err
		}
		existed := !errors.Is(err, network.ErrNoDevice)
		if err := m.CreateTAP(ctx, name, int(owner)); err != nil {
			return err
		}
		err = m.ConfigureTAP(ctx, name, addr)
		if err != nil && !existed {
			if derr := m.EnsureTAPDeleted(ctx, name); derr != nil {
				return errors.Join(err, derr)
			}
		}
		return err
	})
}

func addRoute(dest string, prefixLen int64, dev string) (any, *errorInfo) {
	return netCall("add_route", dev, func(ctx context.Context, m *network.Manager) error {
		dst, err := ipv4Prefix("route destination", dest, prefixLen)
		if err != nil {
			return err
		}
		return m.AddRoute(ctx, dst, dev)
	})
}

func defaultInterface() (any, *errorInfo) {
	var name string
	_, errInfo := netCall("get_default_interface", "", func(ctx context.Context, m *network.Manager) error {
		var err error
		name, err = m.DefaultInterface(ctx, network.IPv4)
		return err
	})
	if errInfo != nil {
		return nil, errInfo
	}
	return name, nil
}

func writeSysctl(key, value string) (any, *errorInfo) {
	return netCall("write_sysctl", "", func(ctx context.Context, m *network.Manager) error {
		return m.WriteSysctl(ctx, key, value)
	})
}

// ipv4Prefix joins an address and a prefix length given separately, as the
// Python functions take them, and rejects anything but IPv4.
func ipv4Prefix(field, ip string, prefixLen int64) (netip.Prefix, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is4() {
		return netip.Prefix{}, &network.ValidationError{Field: field, Value: ip, Reason: "is not an IPv4 address"}
	}
	if prefixLen < 0 || prefixLen > 32 {
		return netip.Prefix{}, &network.ValidationError{
			Field:  "prefix length",
			Value:  strconv.FormatInt(prefixLen, 10),
			Reason: "must be from 0 to 32",
		}
	}
	return netip.PrefixFrom(addr, int(prefixLen)), nil
}
