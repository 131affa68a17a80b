package bridge

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// Sign returns Chat's callback signature: lowercase hex of SHA-256(token + requestTime).
// It is plain SHA-256 over the concatenation, not an HMAC.
func Sign(token, requestTime string) string {
	sum := sha256.Sum256([]byte(token + requestTime))
	return hex.EncodeToString(sum[:])
}

// DefaultMaxSkew is the largest accepted distance between RequestTime and now when
// Verifier.MaxSkew is zero.
const DefaultMaxSkew = 60 * time.Second

// Verifier checks that a callback is for this app and, when tokens are configured,
// that it carries a valid, fresh signature. It is safe for concurrent use.
type Verifier struct {
	// AppID is this app's SDKAppID; a callback for any other app is forbidden.
	AppID uint64
	// Tokens are the accepted callback-authentication tokens. More than one verifies
	// during a rotation. Empty means callbacks are not signed and only AppID is checked.
	Tokens []Secret
	// MaxSkew is the largest accepted |now - RequestTime|; the bound itself is accepted.
	// Zero means DefaultMaxSkew.
	MaxSkew time.Duration
}

// Verify checks the SdkAppid, Sign and RequestTime query values at time now and
// returns the numeric SDKAppID. Errors are *Error of KindForbidden (app) or
// KindUnauthorized (signature), with a message that names the problem and reveals no
// token.
//
// Sign must be exactly 64 lowercase hex digits, as Chat sends it; RequestTime must be
// decimal Unix seconds without sign, spaces or leading zeros. Tokens are compared in
// constant time.
func (v *Verifier) Verify(sdkAppID, sign, requestTime string, now time.Time) (uint64, error) {
	if sdkAppID == "" {
		return 0, Errorf(KindForbidden, "SdkAppid is missing")
	}
	id, ok := parseDecimal(sdkAppID, 20)
	if !ok || id != v.AppID {
		return 0, Errorf(KindForbidden, "SdkAppid %q is not this app's", truncate(sdkAppID, 24))
	}
	if len(v.Tokens) == 0 {
		return id, nil
	}
	if sign == "" || requestTime == "" {
		return 0, unauthorized("missing", "Sign and RequestTime are required: callback authentication is on")
	}
	rt, ok := ParseRequestTime(requestTime)
	if !ok {
		return 0, unauthorized("malformed_request_time", "RequestTime must be Unix seconds in decimal digits without sign or leading zeros")
	}
	if !isLowerHex(sign, sha256.Size*2) {
		return 0, unauthorized("malformed_sign", "Sign must be 64 lowercase hexadecimal digits")
	}
	skew := v.MaxSkew
	if skew == 0 {
		skew = DefaultMaxSkew
	}
	if d := now.Sub(time.Unix(rt, 0)); d > skew {
		return 0, unauthorized("skew", fmt.Sprintf("RequestTime is %s ago; at most %s is accepted", d.Round(time.Second), skew))
	} else if d < -skew {
		return 0, unauthorized("skew", fmt.Sprintf("RequestTime is %s from now; at most %s is accepted (check the clocks)", d.Round(time.Second).Abs(), skew))
	}
	var want [sha256.Size * 2]byte
	match := 0
	for _, t := range v.Tokens {
		sum := sha256.Sum256([]byte(t.Reveal() + requestTime))
		hex.Encode(want[:], sum[:])
		match |= subtle.ConstantTimeCompare(want[:], []byte(sign))
	}
	if match != 1 {
		return 0, unauthorized("mismatch", "Sign does not match: check the callback token")
	}
	return id, nil
}

// ParseRequestTime parses a RequestTime query value: decimal Unix seconds without sign,
// spaces or leading zeros, at most 19 digits.
func ParseRequestTime(s string) (int64, bool) {
	n, ok := parseDecimal(s, 19)
	if !ok || n > 1<<62 {
		return 0, false
	}
	return int64(n), true
}

func unauthorized(reason, msg string) *Error {
	return &Error{Kind: KindUnauthorized, Reason: reason, Message: msg}
}

// parseDecimal parses a non-empty run of at most maxDigits ASCII digits without a
// leading zero (except "0" itself) into a uint64.
func parseDecimal(s string, maxDigits int) (uint64, bool) {
	if s == "" || len(s) > maxDigits || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// truncate shortens client input quoted in messages, so that an answer or a log line
// never grows with what the client sent.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
