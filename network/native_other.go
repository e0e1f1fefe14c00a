//go:build !linux

package network

import (
	"context"
	"net/netip"
)

// unsupported is the backend on platforms without TUN and rtnetlink.
type unsupported struct{}

func newBackend(Options) (backend, error) { return unsupported{}, nil }

func (unsupported) createTAP(context.Context, string, int) (bool, error) {
	return false, ErrNotAvailable
}
func (unsupported) deleteTAP(string) error                   { return ErrNotAvailable }
func (unsupported) tapInfo(string) (TAPInfo, error)          { return TAPInfo{}, ErrNotAvailable }
func (unsupported) listAddrs(string) ([]netip.Prefix, error) { return nil, ErrNotAvailable }
func (unsupported) addAddr(string, netip.Prefix) error       { return ErrNotAvailable }
func (unsupported) delAddr(string, netip.Prefix) error       { return ErrNotAvailable }
func (unsupported) setLinkUp(string) error                   { return ErrNotAvailable }
func (unsupported) addRoute(netip.Prefix, string) error      { return ErrNotAvailable }
func (unsupported) defaultInterface(Family) (string, error)  { return "", ErrNotAvailable }
func (unsupported) writeSysctl(string, string) error         { return ErrNotAvailable }
func (unsupported) close() error                             { return nil }
