package network

import (
	"context"
	"net/netip"
)

// unsupported is the backend on platforms without TUN and rtnetlink: every
// operation fails with ErrNotAvailable.
type unsupported struct{}

func (unsupported) createTAP(context.Context, string, int, tapOptions) (bool, error) {
	return false, ErrNotAvailable
}
func (unsupported) deleteTAP(context.Context, string) error { return ErrNotAvailable }
func (unsupported) tapInfo(context.Context, string) (TAPInfo, error) {
	return TAPInfo{}, ErrNotAvailable
}
func (unsupported) listAddrs(context.Context, string) ([]netip.Prefix, error) {
	return nil, ErrNotAvailable
}
func (unsupported) addAddr(context.Context, string, netip.Prefix) error  { return ErrNotAvailable }
func (unsupported) delAddr(context.Context, string, netip.Prefix) error  { return ErrNotAvailable }
func (unsupported) setLinkUp(context.Context, string) error              { return ErrNotAvailable }
func (unsupported) addRoute(context.Context, netip.Prefix, string) error { return ErrNotAvailable }
func (unsupported) defaultInterface(context.Context, Family) (string, error) {
	return "", ErrNotAvailable
}
func (unsupported) writeSysctl(context.Context, string, string) error { return ErrNotAvailable }
func (unsupported) listTAPs(context.Context) ([]TAPInfo, error)       { return nil, ErrNotAvailable }
func (unsupported) deleteTAPs(context.Context, []string) error        { return ErrNotAvailable }
func (unsupported) reclaimTAPs(context.Context, []string) ([]string, []string, error) {
	return nil, nil, ErrNotAvailable
}
func (unsupported) close() error { return nil }
