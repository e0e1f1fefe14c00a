package firewall

import (
	"cmp"
	"fmt"
	"slices"
)

// ForeignChain is a base chain of another table that hooks forward with
// policy drop, as the "ip filter FORWARD" chain that Docker sets up through
// iptables-nft does. A forwarded packet must be accepted by every base chain
// on the hook, so such a chain drops sandbox traffic that this package's
// own chain accepts, unless one of its rules accepts it first.
type ForeignChain struct {
	Family   string `json:"family"`
	Table    string `json:"table"`
	Chain    string `json:"chain"`
	Priority int    `json:"priority"`
}

// Advice returns what the chain does to sandbox traffic and how to let it
// through, for a log line or the CLI.
func (c ForeignChain) Advice() string {
	return fmt.Sprintf("chain %s of table %s %s has policy drop on the forward hook, so it drops forwarded sandbox traffic "+
		"(NAT, port forwards) unless a rule there accepts it; accept the sandbox taps there, for Docker with "+
		"`iptables -I DOCKER-USER -i TAP -j ACCEPT` and `iptables -I DOCKER-USER -o TAP -j ACCEPT`",
		c.Chain, c.Family, c.Table)
}

func sortForeign(cs []ForeignChain) {
	slices.SortFunc(cs, func(a, b ForeignChain) int {
		return cmp.Or(cmp.Compare(a.Family, b.Family), cmp.Compare(a.Table, b.Table), cmp.Compare(a.Chain, b.Chain))
	})
}
