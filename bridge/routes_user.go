package bridge

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Commands of the user and account webhooks.
const (
	// CommandStateChange: a user logged in or out, was disconnected, or set a custom
	// status.
	CommandStateChange = "State.StateChange"
	// CommandPortraitSet: a user's profile fields were updated.
	CommandPortraitSet = "Profile.CallbackPortraitSet"
	// CommandOfficialAccountInfoChanged: an official account's profile changed.
	CommandOfficialAccountInfoChanged = "OfficialAccount.CallbackAfterOfficialAccountInfoChanged"
	// CommandBotOnGroupMessage: chatbots were @-mentioned in a group message.
	CommandBotOnGroupMessage = "Bot.OnGroupMessage"
)

// userRoutes are the routes of users and accounts: State.StateChange and Profile.CallbackPortraitSet keyed by the user, OfficialAccount.* by the official account, Bot.* by GroupId.
var userRoutes = []Route{
	{Name: "state-changed", Command: CommandStateChange, Topic: TopicState, Type: "imbridge.state.changed.v1",
		Decode: decodeStateChange, Key: "Info.To_Account", Events: "one per callback"},
	{Name: "profile-updated", Command: CommandPortraitSet, Topic: TopicProfile, Type: "imbridge.profile.updated.v1",
		Decode: decodePortraitSet, Key: "From_Account", Events: "one per callback"},
	{Name: "official-info-changed", Command: CommandOfficialAccountInfoChanged, Topic: TopicOfficialAccount, Type: "imbridge.official.info.changed.v1",
		Decode: decodeOfficialAccountInfoChanged, Key: "Official_Account", Events: "one per callback"},
	// A bot mention is a group message: it joins the group's history on the group
	// topic, with every bot mentioned in one event.
	{Name: "bot-group-message", Command: CommandBotOnGroupMessage, Topic: TopicGroup, Type: "imbridge.bot.group.message.v1",
		Decode: decodeBotOnGroupMessage, Key: "GroupId", Events: "one per callback"},
}

// fieldOptionalAccount checks a UserID field that may be absent or empty.
func fieldOptionalAccount(name string, v *string) error {
	if v == nil || *v == "" {
		return nil
	}
	return fieldAccount(name, v)
}

// fieldID checks a required ID that is not a UserID (GroupId, Official_Account):
// present, not empty, without NUL.
func fieldID(name string, v *string) error {
	if err := fieldRequired(name, v); err != nil {
		return err
	}
	if strings.IndexByte(*v, 0) >= 0 {
		return Errorf(KindBadRequest, "%s contains a NUL character", name)
	}
	return nil
}

func firstFieldError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func decodeStateChange(body WebhookBody) ([]Subject, int64, error) {
	var b struct {
		Info         json.RawMessage `json:"Info"`
		KickedDevice json.RawMessage `json:"KickedDevice"`
		EventTime    json.RawMessage `json:"EventTime"`
	}
	if err := fieldsOf(body.Members, "", &b); err != nil {
		return nil, 0, err
	}
	if len(b.Info) == 0 || string(b.Info) == "null" {
		return nil, 0, Errorf(KindBadRequest, "Info is missing")
	}
	var info struct {
		Action    *string `json:"Action"`
		ToAccount *string `json:"To_Account"`
		Reason    *string `json:"Reason"`
	}
	if err := unmarshalFields(b.Info, "Info.", &info); err != nil {
		return nil, 0, err
	}
	if err := firstFieldError(
		fieldAccount("Info.To_Account", info.ToAccount),
		fieldRequired("Info.Action", info.Action),
		fieldArray("KickedDevice", b.KickedDevice),
	); err != nil {
		return nil, 0, err
	}
	et, err := EventTime(b.EventTime)
	if err != nil {
		return nil, 0, err
	}
	return []Subject{{
		Key: *info.ToAccount,
		Fields: Fields(
			"toAccount", *info.ToAccount,
			"action", *info.Action,
			"reason", fieldStr(info.Reason),
			"kickedDevice", fieldRaw(b.KickedDevice),
		),
	}}, et, nil
}

func decodePortraitSet(body WebhookBody) ([]Subject, int64, error) {
	var b struct {
		OperatorAccount *string         `json:"Operator_Account"`
		FromAccount     *string         `json:"From_Account"`
		ProfileItem     json.RawMessage `json:"ProfileItem"`
		EventTime       json.RawMessage `json:"EventTime"`
	}
	if err := fieldsOf(body.Members, "", &b); err != nil {
		return nil, 0, err
	}
	if err := firstFieldError(
		fieldAccount("From_Account", b.FromAccount),
		fieldOptionalAccount("Operator_Account", b.OperatorAccount),
		fieldArray("ProfileItem", b.ProfileItem),
	); err != nil {
		return nil, 0, err
	}
	et, err := EventTime(b.EventTime)
	if err != nil {
		return nil, 0, err
	}
	return []Subject{{
		Key: *b.FromAccount,
		Fields: Fields(
			"fromAccount", *b.FromAccount,
			"operatorAccount", fieldStr(b.OperatorAccount),
			"profileItem", fieldRaw(b.ProfileItem),
		),
	}}, et, nil
}

func decodeOfficialAccountInfoChanged(body WebhookBody) ([]Subject, int64, error) {
	var b struct {
		OfficialAccount *string         `json:"Official_Account"`
		OperatorAccount *string         `json:"Operator_Account"`
		Name            *string         `json:"Name"`
		Introduction    *string         `json:"Introduction"`
		FaceURL         *string         `json:"FaceUrl"`
		Organization    *string         `json:"Organization"`
		EventTime       json.RawMessage `json:"EventTime"`
	}
	if err := fieldsOf(body.Members, "", &b); err != nil {
		return nil, 0, err
	}
	if err := firstFieldError(
		fieldID("Official_Account", b.OfficialAccount),
		fieldOptionalAccount("Operator_Account", b.OperatorAccount),
	); err != nil {
		return nil, 0, err
	}
	et, err := EventTime(b.EventTime)
	if err != nil {
		return nil, 0, err
	}
	// Name, Introduction, FaceUrl and Organization are the values after the change;
	// one Chat left out is published absent, one set to "" as "".
	return []Subject{{
		Key: *b.OfficialAccount,
		Fields: Fields(
			"officialAccount", *b.OfficialAccount,
			"operatorAccount", fieldStr(b.OperatorAccount),
			"name", fieldPresent(b.Name),
			"introduction", fieldPresent(b.Introduction),
			"faceUrl", fieldPresent(b.FaceURL),
			"organization", fieldPresent(b.Organization),
		),
	}}, et, nil
}

// fieldPresent returns a string field for Fields so that "" is written and absent
// is left out.
func fieldPresent(v *string) any {
	if v == nil {
		return nil
	}
	return json.RawMessage(appendJSONString(nil, *v))
}

func decodeBotOnGroupMessage(body WebhookBody) ([]Subject, int64, error) {
	var b struct {
		GroupID         *string         `json:"GroupId"`
		Type            *string         `json:"Type"`
		FromAccount     *string         `json:"From_Account"`
		OperatorAccount *string         `json:"Operator_Account"`
		Random          *uint32         `json:"Random"`
		MsgSeq          *uint64         `json:"MsgSeq"`
		MsgTime         *int64          `json:"MsgTime"`
		OnlineOnlyFlag  *int64          `json:"OnlineOnlyFlag"`
		MsgBody         json.RawMessage `json:"MsgBody"`
		AtRobotsAccount []*string       `json:"AtRobots_Account"`
		CloudCustomData json.RawMessage `json:"CloudCustomData"`
		TopicID         *string         `json:"TopicId"`
		EventTime       json.RawMessage `json:"EventTime"`
	}
	if err := fieldsOf(body.Members, "", &b); err != nil {
		return nil, 0, err
	}
	if err := firstFieldError(
		fieldID("GroupId", b.GroupID),
		fieldOptionalAccount("From_Account", b.FromAccount),
		fieldOptionalAccount("Operator_Account", b.OperatorAccount),
		fieldArray("MsgBody", b.MsgBody),
	); err != nil {
		return nil, 0, err
	}
	var robots []string
	for i, r := range b.AtRobotsAccount {
		if err := fieldAccount("AtRobots_Account["+strconv.Itoa(i)+"]", r); err != nil {
			return nil, 0, err
		}
		robots = append(robots, *r)
	}
	et, err := EventTime(b.EventTime)
	if err != nil {
		return nil, 0, err
	}
	var atRobots any
	if robots != nil {
		atRobots = robots
	}
	return []Subject{{
		Key: *b.GroupID,
		Fields: Fields(
			"groupId", *b.GroupID,
			"topicId", fieldStr(b.TopicID),
			"groupType", fieldStr(b.Type),
			"fromAccount", fieldStr(b.FromAccount),
			"operatorAccount", fieldStr(b.OperatorAccount),
			"atRobotsAccount", atRobots,
			"random", fieldPtr(b.Random),
			"msgSeq", fieldPtr(b.MsgSeq),
			"msgTime", fieldPtr(b.MsgTime),
			"onlineOnlyFlag", fieldPtr(b.OnlineOnlyFlag),
			"msgBody", fieldRaw(b.MsgBody),
			"cloudCustomData", fieldRaw(b.CloudCustomData),
		),
	}}, et, nil
}
