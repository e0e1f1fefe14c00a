package network

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Every TAP that a Manager creates carries an interface alias (IFLA_IFALIAS,
// `ip link set dev NAME alias ...`) that marks it as smolvm-core's:
// MarkAlias alone, or MarkAlias, a colon and the sandbox id given with
// [WithSandbox]. [Manager.CollectTAPs] only ever removes marked devices.

// MarkAlias is the alias, or the alias prefix before ":", of the TAPs a
// Manager creates.
const MarkAlias = "smolvm"

// maxSandboxID bounds a sandbox id so that the alias stays short; the
// kernel allows aliases of up to 255 bytes.
const maxSandboxID = 64

// TAPOption changes how [Manager.CreateTAP] and [Manager.PrepareTAP] create
// a device.
type TAPOption func(*tapOptions)

type tapOptions struct {
	sandboxID string
}

// WithSandbox marks the TAP as belonging to the sandbox id, so that
// listings and garbage collection can name it. An id is 1 to 64 bytes of
// letters, digits, '.', '_' and '-'.
func WithSandbox(id string) TAPOption {
	return func(o *tapOptions) { o.sandboxID = id }
}

func applyTAPOptions(opts []TAPOption) (tapOptions, error) {
	var o tapOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.sandboxID != "" {
		if err := ValidateSandboxID(o.sandboxID); err != nil {
			return o, err
		}
	}
	return o, nil
}

// alias returns the mark for a device created with o.
func (o tapOptions) alias() string {
	if o.sandboxID == "" {
		return MarkAlias
	}
	return MarkAlias + ":" + o.sandboxID
}

// ValidateSandboxID checks a sandbox id for use in a TAP's mark.
func ValidateSandboxID(id string) error {
	const field = "sandbox id"
	if id == "" {
		return invalid(field, id, "must not be empty")
	}
	if len(id) > maxSandboxID {
		return invalid(field, id, "is %d bytes long, the maximum is %d", len(id), maxSandboxID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return invalid(field, id, "must contain only letters, digits, '.', '_' and '-', not %q", c)
		}
	}
	return nil
}

// parseMark reports whether alias is smolvm-core's mark and, if so, the
// sandbox id in it (empty when none was given).
func parseMark(alias string) (sandboxID string, marked bool) {
	if alias == MarkAlias {
		return "", true
	}
	id, ok := strings.CutPrefix(alias, MarkAlias+":")
	if !ok || ValidateSandboxID(id) != nil {
		return "", false
	}
	return id, true
}

// checkMark accepts an existing TAP for a create with o unless it is marked
// for another sandbox.
func checkMark(alias string, o tapOptions) error {
	id, marked := parseMark(alias)
	if marked && id != "" && o.sandboxID != "" && id != o.sandboxID {
		return existsError("tap belongs to sandbox %s, requested %s", id, o.sandboxID)
	}
	return nil
}

func groupString(g uint32) string { return strconv.FormatUint(uint64(g), 10) }

// MarshalJSON encodes the TAP with the field names of its tags, and an
// owner or group that is not set as null rather than -1.
func (t TAPInfo) MarshalJSON() ([]byte, error) {
	type plain TAPInfo
	id := func(v int) *int {
		if v < 0 {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		plain
		Owner *int `json:"owner"`
		Group *int `json:"group"`
	}{plain(t), id(t.Owner), id(t.Group)})
}
