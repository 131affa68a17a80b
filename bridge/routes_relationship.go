package bridge

import "math"

// relationshipRoutes are the relationship chain: PairList callbacks, one event per pair
// keyed by From_Account.
var relationshipRoutes = []Route{
	{Name: "blocklist-delete", Command: CommandBlackListDelete, Topic: TopicBlocklist, Type: "imbridge.blocklist.removed.v1",
		Decode: decodePairList, Key: "From_Account", Events: "one per PairList entry"},
	{Name: "blocklist-add", Command: CommandBlackListAdd, Topic: TopicBlocklist, Type: "imbridge.blocklist.added.v1",
		Decode: decodePairList, Key: "From_Account", Events: "one per PairList entry"},
	{Name: "friend-add", Command: CommandFriendAdd, Topic: TopicFriend, Type: "imbridge.friend.added.v1",
		Decode: decodeFriendAdd, Key: "From_Account", Events: "one per PairList entry"},
	{Name: "friend-delete", Command: CommandFriendDelete, Topic: TopicFriend, Type: "imbridge.friend.removed.v1",
		Decode: decodePairList, Key: "From_Account", Events: "one per PairList entry"},
}

// Commands of the follow webhooks (following and fans, a premium feature of Chat).
const (
	// CommandFollowAdd: From_Account followed the users of FollowList.
	CommandFollowAdd = "Follow.CallbackAfterFollowAdd"
	// CommandFollowDelete: From_Account unfollowed the users of To_Account, a list.
	CommandFollowDelete = "Follow.CallbackAfterFollowDelete"
)

// followRoutes are the follow webhooks, laid out as the relationship chain: one topic
// shared by follows and unfollows, keyed by From_Account, one event per account
// followed or unfollowed, each ordered by its pair as a relationship's pair is.
var followRoutes = []Route{
	{Name: "follow-add", Command: CommandFollowAdd, Topic: TopicFollow, Type: "imbridge.follow.added.v1",
		Decode: decodeFollowAdd, Key: "From_Account", Events: "one per FollowList entry"},
	{Name: "follow-delete", Command: CommandFollowDelete, Topic: TopicFollow, Type: "imbridge.follow.removed.v1",
		Decode: decodeFollowDelete, Key: "From_Account", Events: "one per To_Account entry"},
}

// decodeFollowAdd reads Follow.CallbackAfterFollowAdd: one subject per FollowList
// entry, the pair (From_Account, the entry's To_Account) with the entry's other
// members under entryExtra.
func decodeFollowAdd(o Object) ([]Subject, int64) {
	from := o.RequiredAccount("From_Account")
	var subjects []Subject
	for _, e := range o.Elements("FollowList", true) {
		f := e.Object()
		s := pairSubject(from, f.RequiredAccount("To_Account"), nil)
		s.Fields = joinFields(s.Fields, Fields("entryExtra", f.Extra()))
		subjects = append(subjects, s)
	}
	return subjects, o.EventTime()
}

// decodeFollowDelete reads Follow.CallbackAfterFollowDelete, whose To_Account is a
// list of UserIDs (a string elsewhere): one subject per account, the pair
// (From_Account, that account).
func decodeFollowDelete(o Object) ([]Subject, int64) {
	from := o.RequiredAccount("From_Account")
	var subjects []Subject
	for _, e := range o.Elements("To_Account", true) {
		subjects = append(subjects, pairSubject(from, e.Account(), nil))
	}
	return subjects, o.EventTime()
}

// decodePairList reads a PairList callback (Sns.CallbackBlackListDelete and its
// siblings): one subject per pair, keyed by From_Account and ordered by the pair.
func decodePairList(o Object) ([]Subject, int64) {
	n := o.Len("PairList")
	subjects := make([]Subject, 0, n)
	// The pairs' members share one buffer: about 32 bytes and the two accounts each.
	fields := make([]byte, 0, n*(32+2*16))
	for _, e := range o.Elements("PairList", true) {
		p := e.Object()
		var s Subject
		s, fields = appendPairSubject(fields, p.RequiredAccount("From_Account"), p.RequiredAccount("To_Account"))
		s.Fields = joinFields(s.Fields, Fields("entryExtra", p.Extra()))
		subjects = append(subjects, s)
	}
	return subjects, o.EventTime()
}

// decodeFriendAdd reads Sns.CallbackFriendAdd: PairList with each pair's
// Initiator_Account (who asked), and the body's ClientCmd (friend_add, friend_response
// or FriendAdd, FriendResponse), Admin_Account (the admin who added the friend) and
// ForceFlag (1 when an admin forced it, 0 when not: carried as sent), written after the envelope's eventTime.
func decodeFriendAdd(o Object) ([]Subject, int64) {
	var subjects []Subject
	for _, e := range o.Elements("PairList", true) {
		p := e.Object()
		from, to, initiator := p.RequiredAccount("From_Account"), p.RequiredAccount("To_Account"), p.Account("Initiator_Account")
		s := pairSubject(from, to, Fields("initiatorAccount", initiator))
		s.Fields = joinFields(s.Fields, Fields("entryExtra", p.Extra()))
		subjects = append(subjects, s)
	}
	clientCmd, admin := o.Str("ClientCmd"), o.Account("Admin_Account")
	shared := Fields("clientCmd", clientCmd, "adminAccount", admin, "forceFlag", o.Uint("ForceFlag", math.MaxInt64))
	for i := range subjects {
		subjects[i].Trailer = joinFields(subjects[i].Trailer, shared)
	}
	return subjects, o.EventTime()
}

// PairSubject is the subject of one relationship pair (From_Account, To_Account), as
// the relationship routes make it: keyed by from, ordered by the pair, its members
// "fromAccount" and "toAccount".
func PairSubject(from, to string) Subject { return pairSubject(from, to, nil) }

// pairSubject is PairSubject with trailer written after the envelope.
func pairSubject(from, to string, trailer []byte) Subject {
	s, _ := appendPairSubject(make([]byte, 0, 32+len(from)+len(to)), from, to)
	s.Trailer = trailer
	return s
}

// appendPairSubject is PairSubject with its Fields appended to buf (which grows as
// append grows it), and returns buf with them. The Fields are capped: appending to
// them never writes into buf.
func appendPairSubject(buf []byte, from, to string) (Subject, []byte) {
	start := len(buf)
	buf = appendJSONString(append(buf, `"fromAccount":`...), from)
	buf = appendJSONString(append(buf, `,"toAccount":`...), to)
	return Subject{Key: from, Order: from + "\x00" + to, Fields: buf[start:len(buf):len(buf)]}, buf
}

// joinFields joins two runs of JSON members.
func joinFields(a, b []byte) []byte {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	}
	return append(append(append(make([]byte, 0, len(a)+1+len(b)), a...), ','), b...)
}
