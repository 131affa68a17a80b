package events

import "encoding/json"

// TypeModerationResult is the type of a cloud moderation verdict, on the moderation
// topic, keyed by the subject its Scene names (ModerationResult's key).
const TypeModerationResult = "imbridge.moderation.result.v1"

// moderationTypes are the event types of bridge's moderation route.
var moderationTypes = map[string]func() webhookEvent{
	TypeModerationResult: func() webhookEvent { return &ModerationResult{} },
}

// ModerationResult is a cloud moderation verdict (ContentCallback.ResultNotify). Chat
// sends no EventTime: Version comes from RequestTime. Strings are "" and pointers nil
// when Chat left the field out.
type ModerationResult struct {
	Envelope
	// Scene says what was checked: C2C, C2CCustom, Group, GroupCustom, GroupInfo,
	// GroupMemberInfo, RelationChain, UserInfo (an open set).
	Scene       string `json:"scene"`
	FromAccount string `json:"fromAccount"`
	// ContactType is 1 for a one-to-one message (ToAccount), 2 for a group's
	// (ToGroupID).
	ContactType *int64 `json:"contactType,omitempty"`
	ToAccount   string `json:"toAccount,omitempty"`
	ToGroupID   string `json:"toGroupId,omitempty"`
	// ContentType is Text, Image, Audio or Video: TextContent (Chat's JSON: an array
	// of strings, or a string) or FileURL.
	ContentType string          `json:"contentType,omitempty"`
	TextContent json.RawMessage `json:"textContent,omitempty"`
	FileURL     string          `json:"fileUrl,omitempty"`
	// MsgID is the checked message's MsgKey (one-to-one) or MsgSeq (group).
	MsgID string `json:"msgId,omitempty"`
	// CtxcbResult is the verdict: 1 blocked, 0 passed.
	CtxcbResult    *int64 `json:"ctxcbResult,omitempty"`
	CtxcbRequestID string `json:"ctxcbRequestId,omitempty"`
	// CtxcbKeywords is Chat's JSON: the keywords matched.
	CtxcbKeywords     json.RawMessage `json:"ctxcbKeywords,omitempty"`
	CtxcbSuggestion   string          `json:"ctxcbSuggestion,omitempty"`
	CtxcbLabel        string          `json:"ctxcbLabel,omitempty"`
	CtxcbSubLabel     string          `json:"ctxcbSubLabel,omitempty"`
	CtxcbSubLabelDesc string          `json:"ctxcbSubLabelDesc,omitempty"`
	CtxcbLibName      string          `json:"ctxcbLibName,omitempty"`
	// CloudCustomData and ContactItem are Chat's JSON, as sent.
	CloudCustomData json.RawMessage `json:"cloudCustomData,omitempty"`
	ContactItem     json.RawMessage `json:"contactItem,omitempty"`
}

// key is the subject the Scene names, as bridge keys it: the conversation of a
// one-to-one message, the group of a group message (of a group's or a member's
// profile when Chat names the group), else the user.
func (e *ModerationResult) key() string {
	switch e.Scene {
	case "C2C", "C2CCustom":
		return ConversationKey(e.FromAccount, e.ToAccount)
	case "Group", "GroupCustom":
		return e.ToGroupID
	case "GroupInfo", "GroupMemberInfo":
		if e.ToGroupID != "" {
			return e.ToGroupID
		}
	}
	return e.FromAccount
}
