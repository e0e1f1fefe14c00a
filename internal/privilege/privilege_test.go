package privilege

import (
	"os"
	"runtime"
	"testing"
)

func TestNativeDisabledByEnv(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", false},
		{"0", false},
		{"false", false},
		{"no", false},
		{"2", false},
		{"1", true},
		{"true", true},
		{"TRUE", true},
		{"Yes", true},
		{"on", true},
		{" yes ", true},
	} {
		t.Run(tc.value, func(t *testing.T) {
			t.Setenv(DisableEnv, tc.value)
			got, reason := NativeDisabledByEnv()
			if got != tc.want {
				t.Fatalf("NativeDisabledByEnv() with %q = %v, want %v", tc.value, got, tc.want)
			}
			if got && reason == "" {
				t.Fatal("no reason given")
			}
		})
	}
}

func TestNativeNetworkingMatchesCaps(t *testing.T) {
	if runtime.GOOS != "linux" {
		ok, reason := NativeNetworking("")
		if ok || reason == "" {
			t.Fatalf("NativeNetworking() = %v, %q off Linux", ok, reason)
		}
		return
	}
	caps, err := EffectiveCaps()
	if err != nil {
		t.Fatal(err)
	}
	ok, reason := NativeNetworking("")
	if caps&(1<<CapNetAdmin) == 0 && ok {
		t.Fatalf("NativeNetworking() = true without CAP_NET_ADMIN (%q)", reason)
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil && ok {
		t.Fatalf("NativeNetworking() = true without /dev/net/tun (%q)", reason)
	}
	if reason == "" {
		t.Fatal("no reason given")
	}
}
