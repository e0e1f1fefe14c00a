package firewall

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/smolvm/smolvm-core/internal/hostcmd"
)

// command does the work with the nft program: a generated script on
// stdin for each apply (`nft -f -`, one transaction) and `nft -j` listings
// for reads. Every value in a script comes from a validated, typed field,
// and names are quoted, so no input can add a statement of its own.
type command struct {
	run *hostcmd.Runner
}

func newCommand(netns string) *command {
	return &command{run: hostcmd.New(netns)}
}

// nft runs nft with args, inside the manager's namespace when it has one,
// as `ip netns exec NAME nft ARGS` does, and through `sudo -n` when the
// process is not root. A failure is a *hostcmd.Error.
func (c *command) nft(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
	return c.run.Tool(ctx, stdin, "nft", args...)
}

func (c *command) apply(ctx context.Context, tx *transaction) error {
	if tx.empty() {
		return nil
	}
	_, err := c.nft(ctx, []byte(renderScript(tx)), "-f", "-")
	return err
}

func (c *command) inspect(ctx context.Context) (tableInfo, error) {
	info, _, err := c.read(ctx)
	return info, err
}

func (c *command) list(ctx context.Context) ([]elem, bool, error) {
	info, elems, err := c.read(ctx)
	return elems, info.present, err
}

// read lists the table after checking that it exists, so that a missing
// table and a failing nft are distinguished without parsing nft's message.
func (c *command) read(ctx context.Context) (tableInfo, []elem, error) {
	out, err := c.nft(ctx, nil, "-j", "list", "tables", "inet")
	if err != nil {
		return tableInfo{}, nil, err
	}
	tables, err := parseTableNames(out)
	if err != nil {
		return tableInfo{}, nil, err
	}
	if !tables[TableName] {
		return tableInfo{}, nil, nil
	}
	out, err = c.nft(ctx, nil, "-j", "list", "table", "inet", TableName)
	if err != nil {
		return tableInfo{}, nil, err
	}
	return parseTable(out)
}

func (c *command) forwardDrops(ctx context.Context) ([]ForeignChain, error) {
	out, err := c.nft(ctx, nil, "-j", "list", "chains")
	if err != nil {
		return nil, err
	}
	return parseForwardDrops(out)
}

func (c *command) close() error { return nil }

// renderScript writes tx as an nft script. nft runs a whole script as one
// transaction.
func renderScript(tx *transaction) string {
	var b strings.Builder
	const table = "inet " + TableName
	if tx.create {
		b.WriteString("create table " + table + "\n")
		for _, s := range setSpecs {
			writeSet(&b, s)
		}
		for _, c := range chainSpecs {
			writeChain(&b, c)
		}
	}
	for _, name := range tx.addSets {
		writeSet(&b, specOf(name))
	}
	for _, r := range tx.resetChains {
		if r.exists {
			b.WriteString("delete chain " + table + " " + r.name + "\n")
		}
		writeChain(&b, chainSpecOf(r.name))
	}
	for _, ch := range tx.changes {
		verb := "add"
		if ch.del {
			verb = "delete"
		}
		fmt.Fprintf(&b, "%s element %s %s { %s }\n", verb, table, ch.elem.set, renderElem(ch.elem, !ch.del))
	}
	return b.String()
}

func writeSet(b *strings.Builder, s setSpec) {
	kind := "set"
	if s.isMap {
		kind = "map"
	}
	fmt.Fprintf(b, "add %s inet %s %s { %s; comment %q; }\n", kind, TableName, s.name, s.typ, s.comment)
}

func writeChain(b *strings.Builder, c chainSpec) {
	fmt.Fprintf(b, "add chain inet %s %s { type %s hook %s priority %d; policy accept; }\n", TableName, c.name, c.kind, c.hook, c.priority)
	for _, r := range c.rules {
		fmt.Fprintf(b, "add rule inet %s %s %s comment %q\n", TableName, c.name, r.script, r.comment)
	}
}

func specOf(name setName) setSpec {
	for _, s := range setSpecs {
		if s.name == name {
			return s
		}
	}
	panic("firewall: unknown set " + string(name))
}

func chainSpecOf(name string) chainSpec {
	for _, c := range chainSpecs {
		if c.name == name {
			return c
		}
	}
	panic("firewall: unknown chain " + name)
}

// renderElem writes one element in nft syntax. Deletes name the key only.
func renderElem(e elem, withValue bool) string {
	var key string
	switch e.set {
	case setTAPs, setEgressTAPs:
		key = quote(e.tap)
	case setNAT4:
		key = e.addr.String()
	case setEgress4, setEgress6:
		key = quote(e.tap) + " . " + e.prefix.String()
	case mapForwards, setLocalPorts:
		key = strconv.Itoa(int(e.port))
	}
	if withValue && e.comment != "" {
		key += " comment " + quote(e.comment)
	}
	if withValue && e.set == mapForwards {
		key += " : " + e.target.Addr().String() + " . " + strconv.Itoa(int(e.target.Port()))
	}
	return key
}

// quote writes s as an nft string. Callers pass only validated names and
// comments, which contain no quote, backslash or control character. quote
// checks again, so that a bug elsewhere cannot reach nft.
func quote(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x7f {
			panic(fmt.Sprintf("firewall: unvalidated string %q reached an nft script", s))
		}
	}
	return `"` + s + `"`
}

// prefixFromRange returns the prefix that covers exactly first to last, if
// there is one.
func prefixFromRange(first, last netip.Addr) (netip.Prefix, bool) {
	for bits := 0; bits <= first.BitLen(); bits++ {
		p := netip.PrefixFrom(first, bits)
		if p.Masked().Addr() == first && lastAddr(p) == last {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// lastAddr returns the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
