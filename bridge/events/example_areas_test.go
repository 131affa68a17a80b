package events_test

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
)

// published returns the records imbridge publishes for a callback of command with
// body, as a consumer reads them: key, value, headers.
func published(command, body string) [][3]any {
	var route bridge.Route
	for _, r := range bridge.DefaultRoutes {
		if r.Command == command {
			route = r
		}
	}
	evs, err := bridge.Map(bridge.Callback{Query: bridge.Query{CallbackCommand: command, RequestTime: "1669872112"},
		AppID: 1400000000, Body: []byte(body), ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 0, time.UTC)}, route)
	if err != nil {
		panic(err)
	}
	var out [][3]any
	for _, r := range bridge.Records(evs) {
		var hs []events.Header
		for _, h := range r.Headers {
			hs = append(hs, events.Header{Key: h.Key, Value: h.Value})
		}
		out = append(out, [3]any{r.Key, r.Value, hs})
	}
	return out
}

// A consumer of imbridge.group keeps each group's members: every membership event of
// one group arrives in one partition (key GroupId), and Newer orders one member's
// events across replicas (versions compared per group and member).
func ExampleDecode_groupMembers() {
	members := map[string]map[string]int64{} // group -> member -> version of the join
	records := append(
		published("Group.CallbackAfterNewMemberJoin", `{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"@TGS#1","JoinType":"Apply","NewMemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":"1670574414123"}`),
		published("Group.CallbackAfterMemberExit", `{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"@TGS#1","ExitType":"Quit","ExitMemberList":[{"Member_Account":"tommy"}],"EventTime":1670574415000}`)...)
	for _, r := range records {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		switch e := ev.(type) {
		case *events.GroupMemberJoined:
			if members[e.GroupID] == nil {
				members[e.GroupID] = map[string]int64{}
			}
			if events.Newer(e.Version, members[e.GroupID][e.MemberAccount]) {
				members[e.GroupID][e.MemberAccount] = e.Version
			}
		case *events.GroupMemberExited:
			if events.Newer(e.Version, members[e.GroupID][e.MemberAccount]) {
				delete(members[e.GroupID], e.MemberAccount)
			}
		}
	}
	fmt.Println(slices.Sorted(maps.Keys(members["@TGS#1"])))
	// Output: [jared]
}

// A consumer of imbridge.c2c reads one conversation's messages, both directions, from
// one partition: the key is the two accounts, sorted (events.ConversationKey).
func ExampleDecode_c2cMessages() {
	r := published("C2C.CallbackAfterSendMsg", `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"jared","To_Account":"Jonh","MsgSeq":48374,"MsgRandom":2837546,"MsgTime":1557481126,"MsgKey":"48374_2837546_1557481126","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],"SendMsgResult":0}`)[0]
	ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
	if err != nil {
		panic(err)
	}
	m := ev.(*events.C2CMessageSent)
	fmt.Println(string(r[0].([]byte)) == events.ConversationKey(m.FromAccount, m.ToAccount), m.FromAccount, "->", m.ToAccount, string(m.MsgBody))
	// Output: true jared -> Jonh [{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}]
}

// A consumer of imbridge.state keeps who is online, by user (the key).
func ExampleDecode_onlineState() {
	r := published("State.StateChange", `{"CallbackCommand":"State.StateChange","EventTime":1629883332497,"Info":{"Action":"Login","To_Account":"testuser316","Reason":"Register"}}`)[0]
	ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
	if err != nil {
		panic(err)
	}
	s := ev.(*events.StateChanged)
	fmt.Println(s.ToAccount, s.Action, s.Reason, s.Version)
	// Output: testuser316 Login Register 1629883332497
}

// A consumer of imbridge.c2c keeps each message's latest content: a modification has
// its message's key, so it arrives after the message in the same partition, and names
// it by MsgKey.
func ExampleDecode_c2cModified() {
	content := map[string]string{} // MsgKey -> MsgBody
	records := append(
		published("C2C.CallbackAfterSendMsg", `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"jared","To_Account":"Jonh","MsgKey":"609_690_1769771529","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"helo"}}],"EventTime":1769771529000}`),
		published("C2C.CallbackAfterModifyMsg", `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","Operator_Account":"jared","From_Account":"jared","To_Account":"Jonh","MsgKey":"609_690_1769771529","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hello"}}],"EventTime":1769772027036}`)...)
	for _, r := range records {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		switch e := ev.(type) {
		case *events.C2CMessageSent:
			content[e.MsgKey] = string(e.MsgBody)
		case *events.C2CMessageModified:
			if e.MsgBody != nil {
				content[e.MsgKey] = string(e.MsgBody)
			}
		}
	}
	fmt.Println(string(records[0][0].([]byte)) == string(records[1][0].([]byte)), content["609_690_1769771529"])
	// Output: true [{"MsgType":"TIMTextElem","MsgContent":{"Text":"hello"}}]
}

// A consumer of imbridge.group.message keeps each group message's latest content: a
// message is its group, topic and MsgSeq, and its modification has the group's key, so
// it arrives after the message in the same partition.
func ExampleDecode_groupModified() {
	type message struct {
		group, topic string
		seq          uint64
	}
	content := map[message]string{}
	records := append(
		published("Group.CallbackAfterSendMsg", `{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"group-test-2","From_Account":"oper-user","MsgSeq":53,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"draft"}}],"EventTime":1772762900000}`),
		published("Group.CallbackAfterModifyMsg", `{"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"final"}}],"CallbackCommand":"Group.CallbackAfterModifyMsg","Operator_Account":"oper-user","GroupId":"group-test-2","TopicId":"","MsgSeq":53,"EventTime":1772762975589}`)...)
	for _, r := range records {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		switch e := ev.(type) {
		case *events.GroupMessageSent:
			content[message{e.GroupID, "", e.MsgSeq}] = string(e.MsgBody)
		case *events.GroupMessageModified:
			if e.MsgBody != nil {
				content[message{e.GroupID, e.TopicID, e.MsgSeq}] = string(e.MsgBody)
			}
		}
	}
	fmt.Println(content[message{"group-test-2", "", 53}])
	// Output: [{"MsgType":"TIMTextElem","MsgContent":{"Text":"final"}}]
}

// A consumer of imbridge.follow keeps whom each user follows: one record per account
// followed or unfollowed, keyed by the follower, and Newer orders each pair's changes
// across replicas, as for a blocklist (a removal keeps its version as a tombstone).
func ExampleDecode_follows() {
	type follow struct{ from, to string }
	held := map[follow]int64{}     // the version applied, per pair
	following := map[follow]bool{} // the state
	records := append(
		published("Follow.CallbackAfterFollowAdd", `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"UserID_001","FollowList":[{"To_Account":"UserID_002"},{"To_Account":"UserID_003"}],"EventTime":1702018343678}`),
		published("Follow.CallbackAfterFollowDelete", `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"UserID_001","To_Account":["UserID_002"],"EventTime":1702018350000}`)...)
	for _, r := range records {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		switch e := ev.(type) {
		case *events.FollowAdded:
			if f := (follow{e.FromAccount, e.ToAccount}); events.Newer(e.Version, held[f]) {
				held[f], following[f] = e.Version, true
			}
		case *events.FollowRemoved:
			if f := (follow{e.FromAccount, e.ToAccount}); events.Newer(e.Version, held[f]) {
				held[f], following[f] = e.Version, false
			}
		}
	}
	fmt.Println(following[follow{"UserID_001", "UserID_002"}], following[follow{"UserID_001", "UserID_003"}])
	// Output: false true
}

// A consumer of imbridge.call follows each call by its CallId (the key): one call's
// start, member changes and end arrive in one partition, in order.
func ExampleDecode_calls() {
	records := append(append(
		published("Call.CallbackAfterStartCall", `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"055662e1","CallMediaType":"Audio","RoomIdType":1},"UserList":[{"User_Account":"user1","Status":"Calling"},{"User_Account":"user2","Status":"Waiting"}],"EventTime":1740464128807}`),
		published("Call.CallbackAfterMemberChanged", `{"CallbackCommand":"Call.CallbackAfterMemberChanged","CallId":"055662e1","UserList":[{"User_Account":"user1","Status":"Calling"},{"User_Account":"user2","Status":"Calling"}],"ChangedUserList":[{"User_Account":"user2","ActionType":"Accept"}],"EventTime":1740464130000}`)...),
		published("Call.CallbackAfterEndCall", `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"055662e1","Caller_Account":"user1","MediaType":"Audio","CallType":"SingleCall","StartTime":1740464128,"EndTime":1740464188,"AcceptTime":1740464130,"CallResult":"NormalEnd","CalleeList_Account":["user2"]},"EventTime":1740464188000}`)...)
	for _, r := range records {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		switch e := ev.(type) {
		case *events.CallStarted:
			fmt.Println(e.CallID, "started:", e.MediaType, string(e.UserList))
		case *events.CallMemberChanged:
			fmt.Println(e.CallID, "changed:", string(e.ChangedUserList))
		case *events.CallEnded:
			fmt.Println(e.CallID, "ended:", string(e.CallResult), *e.EndTime-*e.StartTime, "s")
		}
	}
	// Output:
	// 055662e1 started: Audio [{"User_Account":"user1","Status":"Calling"},{"User_Account":"user2","Status":"Waiting"}]
	// 055662e1 changed: [{"User_Account":"user2","ActionType":"Accept"}]
	// 055662e1 ended: "NormalEnd" 60 s
}
