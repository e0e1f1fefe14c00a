package firecracker

import "strings"

// ValidatePath checks an API path before it is sent: it starts with "/",
// and has no empty, "." or ".." segment. Each segment contains only the
// characters RFC 3986 allows in a path segment without percent-encoding:
// letters, digits and -._~!$&'()*+,;=:@. Firecracker's API takes no query
// strings and does not decode percent-encoding, so a path that needs
// escaping cannot name a resource. "/" alone is valid.
func ValidatePath(path string) error {
	const field = "path"
	if !strings.HasPrefix(path, "/") {
		return invalid(field, path, "must start with \"/\", such as /machine-config")
	}
	if path == "/" {
		return nil
	}
	for _, segment := range strings.Split(path[1:], "/") {
		if err := checkSegment(field, path, segment); err != nil {
			return err
		}
	}
	return nil
}

// ValidateID checks an id that becomes one path segment, such as the
// drive_id in /drives/{drive_id}. It must not be empty, "." or "..", and
// contains only the characters ValidatePath allows in a segment, so no "/",
// whitespace, "?", "#" or "%". field names the id in the error.
func ValidateID(field, id string) error {
	return checkSegment(field, id, id)
}

// checkSegment checks one path segment. value is what the error shows,
// which is the whole path when the segment is part of one.
func checkSegment(field, value, segment string) error {
	switch segment {
	case "":
		if value == segment {
			return invalid(field, value, "must not be empty")
		}
		return invalid(field, value, "has an empty segment")
	case ".", "..":
		return invalid(field, value, "must not have a %q segment", segment)
	}
	for i := 0; i < len(segment); i++ {
		c := segment[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r':
			return invalid(field, value, "must not contain whitespace")
		case c < 0x20 || c == 0x7f:
			return invalid(field, value, "must not contain control characters")
		case c >= 0x80:
			return invalid(field, value, "must be ASCII")
		case c == '/' || c == '?' || c == '#' || c == '%':
			return invalid(field, value, "must not contain %q", c)
		case !isPathChar(c):
			return invalid(field, value, "must not contain %q: only letters, digits and %s are allowed", c, pathPunctuation)
		}
	}
	return nil
}

// pathPunctuation lists the characters besides letters and digits that a
// path segment may hold unescaped: RFC 3986's unreserved and sub-delims
// characters, ":" and "@".
const pathPunctuation = "-._~!$&'()*+,;=:@"

func isPathChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte(pathPunctuation, c) >= 0
}

// validateMethod checks an HTTP method: one or more upper-case ASCII
// letters. Firecracker's API uses GET, PUT and PATCH.
func validateMethod(method string) error {
	const field = "method"
	if method == "" {
		return invalid(field, method, "must not be empty")
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; c < 'A' || c > 'Z' {
			return invalid(field, method, "must be upper-case letters, such as GET, PUT or PATCH")
		}
	}
	return nil
}
