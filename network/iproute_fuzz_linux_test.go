package network

import "testing"

// The iproute2 decoders read a subprocess's output, so they must fail
// cleanly, never panic, on any bytes.

func FuzzParseIPLink(f *testing.F) {
	f.Add([]byte(`[{"ifindex":2,"ifname":"tap0","flags":["BROADCAST","UP","LOWER_UP"],"mtu":1500,` +
		`"linkinfo":{"info_kind":"tun","info_data":{"type":"tap","multi_queue":false,"persist":true,"user":1000,"group":"root"}}}]`))
	f.Add([]byte(`[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536}]`))
	f.Add([]byte(`[]`))
	// Names resolve to fixed ids, so random names do not reach the user
	// database, whose lookups can be slow.
	fixed := func(string) (string, error) { return "1000", nil }
	f.Fuzz(func(t *testing.T, b []byte) {
		links, err := parseIPLinksWith(b, idLookup{user: fixed, group: fixed})
		for _, l := range links {
			if err == nil && l == nil {
				t.Fatal("nil link without an error")
			}
		}
	})
}

func FuzzParseIPAddrs(f *testing.F) {
	f.Add([]byte(`[{"ifindex":2,"addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24},` +
		`{"family":"inet6","local":"fe80::1","prefixlen":64}]}]`))
	f.Add([]byte(`[{"addr_info":[{"local":"10.0.0.1","prefixlen":99}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := parseIPAddrs(b)
		for _, p := range ps {
			if err == nil && !p.IsValid() {
				t.Fatalf("invalid prefix %v without an error", p)
			}
		}
	})
}

func FuzzParseIPRoutes(f *testing.F) {
	f.Add([]byte(`[{"dst":"10.1.0.0/24","dev":"tap0","protocol":"boot","scope":"link","flags":[]}]`))
	f.Add([]byte(`[{"dst":"default","nexthops":[{"gateway":"10.0.0.1","dev":"eth0"}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseIPRoutes(b)
	})
}

func FuzzParseAttached(f *testing.F) {
	f.Add("tap0: tap persist\n\tAttached to processes:qemu(42)\ntap1: tap persist\n\tAttached to processes:\n", "tap0")
	f.Fuzz(func(t *testing.T, out, name string) {
		parseAttached(out, name)
	})
}

func TestParseAttached(t *testing.T) {
	out := "tap0: tap persist\n\tAttached to processes:qemu(42)\ntap1: tap persist\n\tAttached to processes:\n"
	for _, tc := range []struct {
		name string
		want bool
	}{{"tap0", true}, {"tap1", false}, {"tap2", false}, {"tap", false}} {
		if got := parseAttached(out, tc.name); got != tc.want {
			t.Errorf("parseAttached(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
