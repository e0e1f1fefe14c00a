package network

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// This file decodes the JSON that iproute2 prints (`ip -json`), for the
// command path. The decoders are pure functions so they can be fuzzed.

// ipLink is one entry of `ip -json -details link show`.
type ipLink struct {
	Index    int      `json:"ifindex"`
	Name     string   `json:"ifname"`
	Flags    []string `json:"flags"`
	MTU      int      `json:"mtu"`
	Alias    string   `json:"ifalias"`
	LinkInfo *struct {
		Kind string          `json:"info_kind"`
		Data json.RawMessage `json:"info_data"`
	} `json:"linkinfo"`
}

// ipTunData is info_data of a TUN or TAP device. User and Group are numbers,
// or names when the system resolves the id.
type ipTunData struct {
	Type       string          `json:"type"`
	MultiQueue bool            `json:"multi_queue"`
	Persist    bool            `json:"persist"`
	User       json.RawMessage `json:"user"`
	Group      json.RawMessage `json:"group"`
}

// parseIPLink decodes the output of `ip -json -details link show dev NAME`
// into a tunLink. The carrier of a link that is down is not in that output;
// the caller fills it in.
func parseIPLink(b []byte) (*tunLink, error) {
	links, err := parseIPLinks(b)
	if err != nil {
		return nil, err
	}
	if len(links) != 1 {
		return nil, fmt.Errorf("ip link printed %d links for one name", len(links))
	}
	return links[0], nil
}

// parseIPLinks decodes the output of `ip -json -details link show`.
func parseIPLinks(b []byte) ([]*tunLink, error) { return parseIPLinksWith(b, systemIDs) }

// idLookup resolves the user and group names that ip prints for ids it can
// name.
type idLookup struct {
	user, group func(name string) (id string, err error)
}

// systemIDs resolves names through the system's user database, as ip did.
var systemIDs = idLookup{user: lookupUser, group: lookupGroup}

// parseIPLinksWith is parseIPLinks with the name lookups given, so fuzzing
// does not query the user database with random names.
func parseIPLinksWith(b []byte, ids idLookup) ([]*tunLink, error) {
	var links []ipLink
	if err := json.Unmarshal(b, &links); err != nil {
		return nil, fmt.Errorf("decode ip link output: %w", err)
	}
	out := make([]*tunLink, 0, len(links))
	for _, l := range links {
		t, err := convertIPLink(l, ids)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func convertIPLink(l ipLink, ids idLookup) (*tunLink, error) {
	t := &tunLink{name: l.Name, index: l.Index, mtu: l.MTU, owner: NoOwner, group: -1, alias: l.Alias}
	if slices.Contains(l.Flags, "UP") {
		t.flags |= unix.IFF_UP
	}
	t.carrier = slices.Contains(l.Flags, "LOWER_UP")

	if l.LinkInfo == nil {
		return t, nil
	}
	t.kind = l.LinkInfo.Kind
	if t.kind != "tun" || len(l.LinkInfo.Data) == 0 {
		return t, nil
	}

	var d ipTunData
	if err := json.Unmarshal(l.LinkInfo.Data, &d); err != nil {
		return nil, fmt.Errorf("decode ip link tun details: %w", err)
	}
	if d.Type == "tap" {
		t.tunType = unix.IFF_TAP
	} else {
		t.tunType = unix.IFF_TUN
	}
	t.multiQueue = d.MultiQueue
	t.persistent = d.Persist

	var err error
	if t.owner, err = parseID(d.User, NoOwner, ids.user); err != nil {
		return nil, err
	}
	if t.group, err = parseID(d.Group, -1, ids.group); err != nil {
		return nil, err
	}
	return t, nil
}

// parseID decodes a user or group that iproute2 prints as a number or,
// when the system resolves it, as a name.
func parseID(raw json.RawMessage, none int, lookup func(string) (string, error)) (int, error) {
	if len(raw) == 0 {
		return none, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return 0, fmt.Errorf("decode ip link owner %s: %w", raw, err)
	}
	id, err := lookup(name)
	if err != nil {
		return 0, fmt.Errorf("resolve owner %q that ip printed: %w", name, err)
	}
	return strconv.Atoi(id)
}

func lookupUser(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.Uid, nil
}

func lookupGroup(name string) (string, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return "", err
	}
	return g.Gid, nil
}

// parseIPAddrs decodes `ip -json addr show dev NAME` into prefixes that
// keep their host bits, in the kernel's order.
func parseIPAddrs(b []byte) ([]netip.Prefix, error) {
	var links []struct {
		Addrs []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(b, &links); err != nil {
		return nil, fmt.Errorf("decode ip addr output: %w", err)
	}
	var out []netip.Prefix
	for _, l := range links {
		for _, a := range l.Addrs {
			ip, err := netip.ParseAddr(a.Local)
			if err != nil {
				return nil, fmt.Errorf("decode ip addr output: %w", err)
			}
			p := netip.PrefixFrom(ip, a.PrefixLen)
			if !p.IsValid() {
				return nil, fmt.Errorf("decode ip addr output: invalid prefix length %d for %s", a.PrefixLen, ip)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// ipRoute is one entry of `ip -json route`.
type ipRoute struct {
	Dst      string            `json:"dst"`
	Dev      string            `json:"dev"`
	Gateway  string            `json:"gateway"`
	Nexthops []json.RawMessage `json:"nexthops"`
}

func parseIPRoutes(b []byte) ([]ipRoute, error) {
	var routes []ipRoute
	if err := json.Unmarshal(b, &routes); err != nil {
		return nil, fmt.Errorf("decode ip route output: %w", err)
	}
	return routes, nil
}

// parseAttached reports whether `ip -details tuntap show` lists a process
// attached to the device name. iproute2's JSON form of that listing is not
// valid JSON (iproute2 6.1), so the text form is read: a line "NAME: ..."
// followed by "\tAttached to processes:" and the list.
func parseAttached(out, name string) bool {
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, name+":") || i+1 >= len(lines) {
			continue
		}
		procs, ok := strings.CutPrefix(strings.TrimSpace(lines[i+1]), "Attached to processes:")
		return ok && strings.TrimSpace(procs) != ""
	}
	return false
}
