// The mixed load: callbacks in the proportions of real traffic, by count.

package main

import "bytes"

// commandGroupJoin is the command of the mixed load's group joins.
const commandGroupJoin = "Group.CallbackAfterNewMemberJoin"

// The mixed load's callbacks: one-to-one messages whose body is about 1 KiB, group
// joins of mixMembers new members, blocklist removals of mixPairs pairs.
const (
	mixMessageText = 760 // bytes of text: with the rest of the callback, about 1 KiB
	mixMembers     = 20
	mixPairs       = 3
)

// mixPattern is the command of each callback by its number modulo 10: seven one-to-one
// messages, two group joins and one blocklist removal, spread out.
var mixPattern = [10]string{
	commandMessage, commandMessage, commandGroupJoin, commandMessage, commandBlocklist,
	commandMessage, commandMessage, commandGroupJoin, commandMessage, commandMessage,
}

// mixCommand is the command of callback seq of the mixed load.
func mixCommand(seq int) string { return mixPattern[seq%len(mixPattern)] }

// mixBody is callback seq of the mixed load from the run's account of key.
func mixBody(run string, key, seq int) []byte {
	switch mixCommand(seq) {
	case commandMessage:
		return messageBody(run, key, seq, mixMessageText)
	case commandGroupJoin:
		return groupJoinBody(run, key, seq, mixMembers)
	}
	return body(run, key, seq, mixPairs)
}

// groupJoinBody is a group member-join callback: the group is the run's account of key
// (the From_Account of the other kinds), and member j is the To_Account of pair j of
// callback seq, so that the checker finds each member's event as it finds a pair.
func groupJoinBody(run string, key, seq, members int) []byte {
	group, _ := accounts(run, key, seq, 0)
	var b bytes.Buffer
	b.WriteString(`{"CallbackCommand":"` + commandGroupJoin + `","GroupId":"` + group +
		`","Type":"Public","JoinType":"Apply","Operator_Account":"admin","NewMemberList":[`)
	for j := 0; j < members; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		_, member := accounts(run, key, seq, j)
		b.WriteString(`{"Member_Account":"` + member + `"}`)
	}
	b.WriteString(`],"EventTime":"1670574414123"}`)
	return b.Bytes()
}

// eventKeys returns the "from/to" names the checker looks for, one per event that
// callback seq from key carries: From_Account/To_Account for pairs and messages,
// GroupId/Member_Account for group joins.
func (l Load) eventKeys(run string, key, seq int) []string {
	n := l.events(seq)
	keys := make([]string, n)
	for j := range keys {
		from, to := accounts(run, key, seq, j)
		keys[j] = from + "/" + to
	}
	return keys
}
