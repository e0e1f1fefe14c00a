package e2e

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/smolvm/smolvm-core/firewall"
	"github.com/smolvm/smolvm-core/internal/guest"
)

// forwardPort is the host port forwarded to the guest's HTTP server.
const forwardPort = 18080

// openFirewall opens a firewall manager in the sandbox's namespace, closed
// when the test ends.
func (s *sandbox) openFirewall() error {
	fw, err := firewall.New(firewall.Options{Netns: s.netns})
	if err != nil {
		return err
	}
	s.fw = fw
	s.t.Cleanup(func() { fw.Close() })
	return nil
}

// setupNAT masquerades the guest's traffic and checks that the firewall
// lists it for tap0.
func (s *sandbox) setupNAT(ctx context.Context) error {
	if err := s.openFirewall(); err != nil {
		return err
	}
	if err := s.fw.SetupNAT(ctx, firewall.NAT{TAP: tapName, Guest: guestAddr.Addr(), ID: s.id}); err != nil {
		return err
	}
	st, err := s.fw.List(ctx)
	if err != nil {
		return err
	}
	if len(st.TAPs) != 1 || st.TAPs[0].TAP != tapName || len(st.TAPs[0].NAT) != 1 || st.TAPs[0].ID != s.id {
		return fmt.Errorf("firewall state %+v, want tap0 with the guest masqueraded for %s", st.TAPs, s.id)
	}
	return nil
}

// addForward forwards the host's forwardPort, for outside and local
// connections, to the guest's HTTP server. Local connections to 127.0.0.1
// need the namespace's loopback up.
func (s *sandbox) addForward(ctx context.Context) error {
	if err := s.manager.SetLinkUp(ctx, "lo"); err != nil {
		return err
	}
	f := firewall.Forward{
		HostPort: forwardPort,
		Guest:    netip.AddrPortFrom(guestAddr.Addr(), guestPort),
		Local:    true,
		TAP:      tapName,
		ID:       s.id,
	}
	return s.fw.AddForward(ctx, f)
}

// checkForward fetches the guest's page through the forward on addr.
func (s *sandbox) checkForward(ctx context.Context, addr netip.Addr) error {
	url := "http://" + netip.AddrPortFrom(addr, forwardPort).String() + "/"
	got, err := guest.Fetch(ctx, s.http, url)
	if err != nil {
		return err
	}
	if want := "smolvm-e2e " + s.token; got != want {
		return fmt.Errorf("get %s = %q, want %q", url, got, want)
	}
	return nil
}

// removeFirewall removes everything of tap0 from the firewall and checks
// that nothing is left in smolvm-core's table.
func (s *sandbox) removeFirewall(ctx context.Context) error {
	if err := s.fw.RemoveSandbox(ctx, tapName); err != nil {
		return err
	}
	st, err := s.fw.List(ctx)
	if err != nil {
		return err
	}
	if len(st.TAPs) != 0 || len(st.Forwards) != 0 {
		return fmt.Errorf("after RemoveSandbox the firewall still holds %+v and forwards %+v", st.TAPs, st.Forwards)
	}
	return s.fw.Close()
}
