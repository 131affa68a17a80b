package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// rawPairListBody decodes the fields loosely first, so that a wrong type gets a
// precise message instead of encoding/json's generic one.
type rawPairListBody struct {
	CallbackCommand *string         `json:"CallbackCommand"`
	PairList        json.RawMessage `json:"PairList"`
	EventTime       json.RawMessage `json:"EventTime"`
	ClientCmd       json.RawMessage `json:"ClientCmd"`
	AdminAccount    json.RawMessage `json:"Admin_Account"`
	ForceFlag       json.RawMessage `json:"ForceFlag"`
}

func rawNull(r json.RawMessage) bool { return len(r) == 0 || string(r) == "null" }

// referenceDecodePairList is the first, encoding/json-based DecodePairList, kept as
// the oracle of the differential fuzz test: DecodePairList must agree with it. It
// decodes and checks a PairList-shaped body of at most maxPairs
// entries (0: DefaultMaxPairs). Every error is a KindBadRequest *Error naming the
// offending field (and pair index), except too many pairs, which is KindTooLarge.
//
// Beyond JSON's grammar it refuses what would make two readers of the body disagree:
// invalid UTF-8, escaped lone surrogates (which decoders replace silently), duplicate
// keys in any object, nesting deeper than MaxJSONDepth, and NUL in an account.
func referenceDecodePairList(body []byte, maxPairs int, friendAdd bool) (PairListBody, error) {
	if maxPairs <= 0 {
		maxPairs = DefaultMaxPairs
	}
	if !utf8.Valid(body) {
		return PairListBody{}, Errorf(KindBadRequest, "body is not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return PairListBody{}, Errorf(KindBadRequest, "body must be a JSON object")
	}
	if err := referenceCheckJSON(body); err != nil {
		return PairListBody{}, err
	}
	var raw rawPairListBody
	if err := json.Unmarshal(body, &raw); err != nil {
		return PairListBody{}, &Error{Kind: KindBadRequest, Message: "body is not valid JSON: " + jsonErrorText(err)}
	}
	var b PairListBody
	if raw.CallbackCommand != nil {
		b.CallbackCommand = *raw.CallbackCommand
	}
	if items, ok := referenceItems(raw.PairList); ok && len(items) > maxPairs {
		return PairListBody{}, Errorf(KindTooLarge, "PairList has %d entries; at most %d are accepted", len(items), maxPairs)
	}
	if len(raw.EventTime) > 0 && string(raw.EventTime) != "null" {
		n, ok := JSONInteger(raw.EventTime)
		var digits string
		if json.Unmarshal(raw.EventTime, &digits) == nil && digits != "" && digits[0] >= '0' && digits[0] <= '9' {
			d, err := strconv.ParseInt(digits, 10, 64)
			n, ok = d, err == nil
		}
		if !ok || n < 0 {
			return PairListBody{}, Errorf(KindBadRequest, "EventTime must be a non-negative integer (Unix milliseconds)")
		}
		b.EventTime = n
	}
	if friendAdd {
		if !rawNull(raw.ClientCmd) {
			if err := json.Unmarshal(raw.ClientCmd, &b.ClientCmd); err != nil {
				return PairListBody{}, Errorf(KindBadRequest, "ClientCmd must be a string")
			}
		}
		if !rawNull(raw.AdminAccount) {
			var a string
			if err := json.Unmarshal(raw.AdminAccount, &a); err != nil {
				return PairListBody{}, Errorf(KindBadRequest, "Admin_Account must be a string")
			}
			if a != "" {
				v, err := referenceAccount(map[string]json.RawMessage{"Admin_Account": raw.AdminAccount}, "Admin_Account", -1)
				if err != nil {
					return PairListBody{}, err
				}
				b.AdminAccount = v
			}
		}
		if !rawNull(raw.ForceFlag) {
			n, ok := JSONInteger(raw.ForceFlag)
			if !ok || n < 0 {
				return PairListBody{}, Errorf(KindBadRequest, "ForceFlag must be a non-negative integer")
			}
			b.ForceFlag = n
		}
	}
	if len(raw.PairList) == 0 || string(raw.PairList) == "null" {
		return PairListBody{}, Errorf(KindBadRequest, "PairList is missing")
	}
	if raw.PairList[0] != '[' {
		return PairListBody{}, Errorf(KindBadRequest, "PairList must be an array")
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw.PairList, &items); err != nil {
		return PairListBody{}, Errorf(KindBadRequest, "PairList entries must be objects with From_Account and To_Account strings")
	}
	if len(items) == 0 {
		return PairListBody{}, Errorf(KindBadRequest, "PairList is empty")
	}
	if len(items) > maxPairs {
		return PairListBody{}, Errorf(KindTooLarge, "PairList has %d entries; at most %d are accepted", len(items), maxPairs)
	}
	b.PairList = make([]Pair, len(items))
	for i, it := range items {
		from, err := referenceAccount(it, "From_Account", i)
		if err != nil {
			return PairListBody{}, err
		}
		to, err := referenceAccount(it, "To_Account", i)
		if err != nil {
			return PairListBody{}, err
		}
		var initiator string
		if raw, ok := it["Initiator_Account"]; friendAdd && ok && !rawNull(raw) && string(raw) != `""` {
			if initiator, err = referenceAccount(it, "Initiator_Account", i); err != nil {
				return PairListBody{}, err
			}
		}
		b.PairList[i] = Pair{From: from, To: to, Initiator: initiator}
	}
	return b, nil
}

// referenceItems reads PairList as an array of any values.
func referenceItems(raw json.RawMessage) ([]json.RawMessage, bool) {
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, false
	}
	return items, true
}

func referenceAccount(item map[string]json.RawMessage, field string, i int) (string, error) {
	name := field
	if i >= 0 {
		name = fmt.Sprintf("PairList[%d].%s", i, field)
	}
	raw, ok := item[field]
	if !ok || string(raw) == "null" {
		return "", Errorf(KindBadRequest, "%s is missing", name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", Errorf(KindBadRequest, "%s must be a string", name)
	}
	switch {
	case s == "":
		return "", Errorf(KindBadRequest, "%s is empty", name)
	case len(s) > MaxAccountBytes:
		return "", Errorf(KindBadRequest, "%s is %d bytes; at most %d are allowed", name, len(s), MaxAccountBytes)
	case strings.IndexByte(s, 0) >= 0:
		return "", Errorf(KindBadRequest, "%s contains a NUL character", name)
	}
	return s, nil
}

func jsonErrorText(err error) string {
	if se, ok := err.(*json.SyntaxError); ok {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	return err.Error()
}

// checkJSON refuses bodies that decoders read differently: duplicate keys in an object
// (encoding/json keeps the last, others the first), escaped lone surrogates (replaced
// by U+FFFD without a word), nesting deeper than MaxJSONDepth, objects of more than
// MaxJSONObjectKeys keys and arrays other than the top-level PairList of more than
// MaxJSONArrayElements elements. It also finds syntax errors, with their offset.
func referenceCheckJSON(body []byte) error {
	if hasLoneSurrogate(body) {
		return Errorf(KindBadRequest, "body contains an escaped lone UTF-16 surrogate, which is not a character")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		keys     map[string]struct{}
		isObject bool
		wantKey  bool
		lastKey  string
		elements int  // of an array
		pairList bool // the array is the top-level PairList: no element limit
	}
	// counted counts a value in the array on top of the stack.
	counted := func(top *frame) error {
		if top != nil && !top.isObject && !top.pairList {
			if top.elements++; top.elements > MaxJSONArrayElements {
				return Errorf(KindTooLarge, "body has an array with more than %d elements", MaxJSONArrayElements)
			}
		}
		return nil
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{Kind: KindBadRequest, Message: "body is not valid JSON: " + jsonErrorText(err)}
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if err := counted(top); err != nil {
					return err
				}
				pairList := t == '[' && len(stack) == 1 && top.isObject && top.lastKey == "PairList"
				if top != nil && top.isObject {
					top.wantKey = true
				}
				if len(stack) >= MaxJSONDepth {
					return Errorf(KindBadRequest, "body nests deeper than %d levels", MaxJSONDepth)
				}
				stack = append(stack, frame{isObject: t == '{', wantKey: t == '{', pairList: pairList})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].isObject {
					stack[len(stack)-1].wantKey = true
				}
			}
		case string:
			if top != nil && top.isObject && top.wantKey {
				if top.keys == nil {
					top.keys = make(map[string]struct{}, 4)
				}
				if len(top.keys) >= MaxJSONObjectKeys {
					return Errorf(KindTooLarge, "body has an object with more than %d keys", MaxJSONObjectKeys)
				}
				if _, dup := top.keys[t]; dup {
					return Errorf(KindBadRequest, "body has the key %q twice in one object", truncate(t, 64))
				}
				top.keys[t] = struct{}{}
				top.wantKey, top.lastKey = false, t
				continue
			}
			if err := counted(top); err != nil {
				return err
			}
			if top != nil && top.isObject {
				top.wantKey = true
			}
		default:
			if err := counted(top); err != nil {
				return err
			}
			if top != nil && top.isObject {
				top.wantKey = true
			}
		}
	}
}

// hasLoneSurrogate reports whether a JSON string in b holds a \\uD800-\\uDFFF escape
// that is not a high surrogate followed by a low one.
func hasLoneSurrogate(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(b) && b[i+1] == 'u' {
				r, ok := hex4(b, i+2)
				if ok && r >= 0xD800 && r <= 0xDFFF {
					if r >= 0xDC00 {
						return true // low surrogate without a high one before it
					}
					lo, ok2 := rune(0), false
					if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
						lo, ok2 = hex4(b, i+8)
					}
					if !ok2 || lo < 0xDC00 || lo > 0xDFFF {
						return true
					}
					i += 11
					continue
				}
				i += 5
				continue
			}
			i++ // skip the escaped character
		}
	}
	return false
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(n), err == nil
}
