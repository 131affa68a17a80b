package events

import "encoding/json"

// Event types of the community and group-extra webhooks. Every one is keyed by its
// GroupID and published to the group topic with the other group events.
const (
	// TypeGroupTopicCreated is GroupTopicCreated's type.
	TypeGroupTopicCreated = "imbridge.group.topic.created.v1"
	// TypeGroupTopicDestroyed is GroupTopicDestroyed's type.
	TypeGroupTopicDestroyed = "imbridge.group.topic.destroyed.v1"
)

// communityTypes are the event types of bridge's community routes.
var communityTypes = map[string]func() webhookEvent{
	TypeGroupTopicCreated:   func() webhookEvent { return &GroupTopicCreated{} },
	TypeGroupTopicDestroyed: func() webhookEvent { return &GroupTopicDestroyed{} },
}

// GroupTopicCreated is a topic created in a community (Group.CallbackAfterCreateTopic).
type GroupTopicCreated struct {
	Envelope
	GroupID         string `json:"groupId"`
	TopicID         string `json:"topicId"`
	GroupType       string `json:"groupType,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	OwnerAccount    string `json:"ownerAccount,omitempty"`
	Name            string `json:"name,omitempty"`
	// UserDefinedDataList is the topic's custom fields as Chat sent them.
	UserDefinedDataList json.RawMessage `json:"userDefinedDataList,omitempty"`
}

func (e *GroupTopicCreated) key() string { return e.GroupID }

// GroupTopicDestroyed is a community topic deleted (Group.CallbackAfterTopicDestroyed:
// one event per deleted topic).
type GroupTopicDestroyed struct {
	Envelope
	GroupID   string `json:"groupId"`
	TopicID   string `json:"topicId"`
	GroupType string `json:"groupType,omitempty"`
}

func (e *GroupTopicDestroyed) key() string { return e.GroupID }
