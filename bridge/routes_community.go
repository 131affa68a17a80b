package bridge

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Command names of the community and group-extra webhooks.
const (
	// CommandAfterCreateTopic: a community topic was created (TopicId within GroupId).
	CommandAfterCreateTopic = "Group.CallbackAfterCreateTopic"
)

// groupCommunityRoutes are the routes of communities and group extras: topics, read receipts, attributes, owner, member state, delivery failures and message extensions, keyed by GroupId.
var groupCommunityRoutes = []Route{
	{Name: "group-topic-created", Command: CommandAfterCreateTopic, Topic: TopicGroup, Type: "imbridge.group.topic.created.v1",
		Decode: decodeAfterCreateTopic, Key: "GroupId", Events: "one per callback"},
}

// decodeAfterCreateTopic reads Group.CallbackAfterCreateTopic: GroupId and TopicId
// are required; UserDefinedDataList is kept as sent.
func decodeAfterCreateTopic(body []byte) ([]Subject, int64, error) {
	o, err := readExactObject(body, "")
	if err != nil {
		return nil, 0, err
	}
	var (
		groupID, topicID, groupType, operator, owner, name string
		userData                                           json.RawMessage
	)
	errs := []error{
		o.key("GroupId", &groupID),
		o.str("TopicId", true, &topicID),
		o.str("Type", false, &groupType),
		o.account("Operator_Account", false, &operator),
		o.account("Owner_Account", false, &owner),
		o.str("Name", false, &name),
		o.array("UserDefinedDataList", &userData),
	}
	et, err := o.eventTime()
	if err := firstBadField(append(errs, err)...); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: groupID, Fields: Fields("groupId", groupID, "topicId", topicID, "groupType", groupType,
		"operatorAccount", operator, "ownerAccount", owner, "name", name, "userDefinedDataList", userData)}}, et, nil
}

// exactObject is a JSON object of a webhook body read member by member under the exact
// names Chat documents (encoding/json alone would also take "groupid" for GroupId).
// Null members are absent. Its methods return KindBadRequest *Errors naming the member
// with its path, such as "MemberList[1].Member_Account".
type exactObject struct {
	path    string // "" for the body
	members map[string]json.RawMessage
}

// readExactObject reads raw, already checked by CheckJSON, as an object at path.
func readExactObject(raw json.RawMessage, path string) (exactObject, error) {
	o := exactObject{path: path}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if err := json.Unmarshal(raw, &o.members); err == nil {
			return o, nil
		}
	}
	if path == "" {
		return o, Errorf(KindBadRequest, "body must be a JSON object")
	}
	return o, Errorf(KindBadRequest, "%s must be an object", path)
}

// name is a member's name for messages.
func (o exactObject) name(n string) string {
	if o.path == "" {
		return n
	}
	return o.path + "." + n
}

// raw returns a member as sent; nil when absent or null.
func (o exactObject) raw(n string) json.RawMessage {
	v := o.members[n]
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

// str reads a string member; required refuses it absent or empty.
func (o exactObject) str(n string, required bool, dst *string) error {
	v := o.raw(n)
	if v == nil {
		if required {
			return Errorf(KindBadRequest, "%s is missing", o.name(n))
		}
		return nil
	}
	if v[0] != '"' || json.Unmarshal(v, dst) != nil {
		return Errorf(KindBadRequest, "%s must be a string", o.name(n))
	}
	if required && *dst == "" {
		return Errorf(KindBadRequest, "%s is empty", o.name(n))
	}
	return nil
}

// changed reads a string member whose presence matters (a changed name, notice...):
// kept as the JSON string sent, so that a value changed to "" is published as "".
func (o exactObject) changed(n string, dst *json.RawMessage) error {
	var s string
	if err := o.str(n, false, &s); err != nil {
		return err
	}
	*dst = o.raw(n)
	return nil
}

// key reads a required string member that becomes a message key (GroupId): not empty,
// without a NUL character.
func (o exactObject) key(n string, dst *string) error {
	if err := o.str(n, true, dst); err != nil {
		return err
	}
	if bytes.IndexByte([]byte(*dst), 0) >= 0 {
		return Errorf(KindBadRequest, "%s contains a NUL character", o.name(n))
	}
	return nil
}

// account reads a UserID member: 1 to MaxAccountBytes bytes without a NUL character.
func (o exactObject) account(n string, required bool, dst *string) error {
	if err := o.str(n, required, dst); err != nil || *dst == "" {
		return err
	}
	switch {
	case len(*dst) > MaxAccountBytes:
		return Errorf(KindBadRequest, "%s is %d bytes; at most %d are allowed", o.name(n), len(*dst), MaxAccountBytes)
	case bytes.IndexByte([]byte(*dst), 0) >= 0:
		return Errorf(KindBadRequest, "%s contains a NUL character", o.name(n))
	}
	return nil
}

// integer reads an integer member; absent leaves dst nil.
func (o exactObject) integer(n string, required bool, dst **int64) error {
	v := o.raw(n)
	if v == nil {
		if required {
			return Errorf(KindBadRequest, "%s is missing", o.name(n))
		}
		return nil
	}
	var i int64
	if v[0] == '"' || json.Unmarshal(v, &i) != nil {
		return Errorf(KindBadRequest, "%s must be an integer", o.name(n))
	}
	*dst = &i
	return nil
}

// array reads a member that must be an array, kept as sent (compacted by Fields).
func (o exactObject) array(n string, dst *json.RawMessage) error {
	v := o.raw(n)
	if v == nil {
		return nil
	}
	if v[0] != '[' {
		return Errorf(KindBadRequest, "%s must be an array", o.name(n))
	}
	*dst = v
	return nil
}

// list reads a member that must be a non-empty array, element by element.
func (o exactObject) list(n string, dst *[]json.RawMessage) error {
	v := o.raw(n)
	if v == nil {
		return Errorf(KindBadRequest, "%s is missing", o.name(n))
	}
	if v[0] != '[' || json.Unmarshal(v, dst) != nil {
		return Errorf(KindBadRequest, "%s must be an array", o.name(n))
	}
	if len(*dst) == 0 {
		return Errorf(KindBadRequest, "%s is empty", o.name(n))
	}
	return nil
}

// eventTime reads EventTime with EventTime: an integer, or a string of digits only.
func (o exactObject) eventTime() (int64, error) {
	v := o.raw("EventTime")
	if v == nil {
		return 0, nil
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" || strings.Trim(s, "0123456789") != "" {
			return 0, Errorf(KindBadRequest, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string")
		}
	}
	return EventTime(v)
}

// intOrAbsent turns an absent optional value into nil for Fields.
func intOrAbsent(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// firstBadField returns the first non-nil error.
func firstBadField(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
