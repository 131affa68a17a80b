package bridge

import "encoding/json"

// Pair is one entry of a PairList as the differential tests compare it.
type Pair struct {
	From, To, Initiator string
}

// PairListBody is what the relationship decoders read from a PairList body.
type PairListBody struct {
	CallbackCommand string
	PairList        []Pair
	EventTime       int64
	ClientCmd       string
	AdminAccount    string
	ForceFlag       int64
}

// decodePairListBody reads body as Map reads a relationship callback (ParseBody, the
// CallbackCommand's type, the list's length against maxPairs, then the route's
// decoder), without comparing the command with a query, and returns what the events
// carry.
func decodePairListBody(body []byte, maxPairs int, friendAdd bool) (PairListBody, error) {
	if maxPairs <= 0 {
		maxPairs = DefaultMaxPairs
	}
	b, err := ParseBody(body)
	if err != nil {
		return PairListBody{}, err
	}
	top := b.Top()
	out := PairListBody{CallbackCommand: top.Str("CallbackCommand")}
	if err := b.Err(); err != nil {
		return PairListBody{}, err
	}
	if n := top.Len("PairList"); n > maxPairs {
		return PairListBody{}, Errorf(KindTooLarge, "PairList has %d entries; at most %d are accepted", n, maxPairs)
	}
	decode := decodePairList
	if friendAdd {
		decode = decodeFriendAdd
	}
	subjects, et := decode(top)
	if err := b.Err(); err != nil {
		return PairListBody{}, err
	}
	out.EventTime = et
	for _, s := range subjects {
		var v struct {
			From      string `json:"fromAccount"`
			To        string `json:"toAccount"`
			Initiator string `json:"initiatorAccount"`
			ClientCmd string `json:"clientCmd"`
			Admin     string `json:"adminAccount"`
			ForceFlag int64  `json:"forceFlag"`
		}
		if err := json.Unmarshal([]byte("{"+string(joinFields(s.Fields, s.Trailer))+"}"), &v); err != nil {
			panic(err)
		}
		out.PairList = append(out.PairList, Pair{From: v.From, To: v.To, Initiator: v.Initiator})
		out.ClientCmd, out.AdminAccount, out.ForceFlag = v.ClientCmd, v.Admin, v.ForceFlag
	}
	return out, nil
}
