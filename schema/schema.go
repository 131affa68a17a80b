// Package schema embeds imbridge's JSON Schemas (2020-12), so that tests and the binary
// use the same documents that downstream teams read:
//
//   - blocklist-delete-callback.schema.json, blocklist-add-callback.schema.json,
//     friend-add-callback.schema.json, friend-delete-callback.schema.json: the body Chat
//     posts for each routed command;
//   - blocklist-removed-event.schema.json, blocklist-added-event.schema.json,
//     friend-added-event.schema.json, friend-removed-event.schema.json: the value of
//     each Kafka message, per event type;
//   - follow-add-callback.schema.json, follow-delete-callback.schema.json,
//     follow-added-event.schema.json, follow-removed-event.schema.json: the follow
//     routes, laid out as the relationship chain;
//   - for the community and group-extra routes (bridge's groupCommunityRoutes:
//     topics, read receipts, attributes, owner, member state, delivery failures,
//     message extensions), <route>-callback.schema.json and <area>-<what>-event.schema.json
//     as CallbackSchema and EventSchema name them;
//   - for the one-to-one message routes (c2c-*: sent, recalled, conversation read,
//     message extensions, modified), c2c-<what>-callback.schema.json and
//     c2c-<what>-event.schema.json, named the same way, and bot-c2c-message's
//     (a message to a chatbot) beside them;
//   - for the group routes (bridge's groupRoutes: created, members joined, exited or
//     changed, messages sent, recalled or modified, destroyed, info changed, full),
//     group-<what>-callback.schema.json and group-<what>-event.schema.json, named the
//     same way;
//   - for the user and account routes (state-changed, profile-updated,
//     official-info-changed, bot-group-message), <route>-callback.schema.json and
//     <route>-event.schema.json, named the same way;
//   - for the official account's lifecycle and subscriber routes (official-created,
//     official-destroyed, official-subscriber-added, official-subscriber-removed,
//     official-full) and the app-level alarms (ops-group-quota-alarm,
//     ops-api-rate-alarm), <route>-callback.schema.json and <route>-event.schema.json;
//   - for the Call product's routes (call-started, call-ended, call-member-changed),
//     <route>-callback.schema.json and <route>-event.schema.json, named the same way;
//   - for the push results (push-all-member, push-offline) and the moderation verdicts
//     (moderation-result), whose bodies have no top-level CallbackCommand,
//     <route>-callback.schema.json and <route>-event.schema.json;
//   - unrouted-event.schema.json: the value of imbridge.unrouted.v1, a callback without
//     a route published whole when IMBRIDGE_TOPIC_UNROUTED is set;
//   - openapi.yaml: the HTTP endpoints (OpenAPI 3.1); the callback's request body is one
//     of the callback schemas, chosen by CallbackCommand (by the query's for a body
//     without one: the push results and moderation verdicts);
//   - asyncapi.yaml: the topics, keys, headers and payloads (AsyncAPI 3.0).
package schema

import (
	"embed"
	"strings"
)

// Files holds every schema document of this folder, by file name.
//
//go:embed *.json *.yaml
var Files embed.FS

// Names of the documents in Files.
const (
	BlocklistDeleteCallback = "blocklist-delete-callback.schema.json"
	BlocklistAddCallback    = "blocklist-add-callback.schema.json"
	FriendAddCallback       = "friend-add-callback.schema.json"
	FriendDeleteCallback    = "friend-delete-callback.schema.json"
	BlocklistRemovedEvent   = "blocklist-removed-event.schema.json"
	BlocklistAddedEvent     = "blocklist-added-event.schema.json"
	FriendAddedEvent        = "friend-added-event.schema.json"
	FriendRemovedEvent      = "friend-removed-event.schema.json"
	OpenAPI                 = "openapi.yaml"
	AsyncAPI                = "asyncapi.yaml"
)

// EventSchema is the file name of the JSON Schema of an event type's value, by
// convention: "imbridge.group.member.joined.v1" is "group-member-joined-event.schema.json".
func EventSchema(eventType string) string {
	t := strings.TrimSuffix(strings.TrimPrefix(eventType, "imbridge."), ".v1")
	return strings.ReplaceAll(t, ".", "-") + "-event.schema.json"
}

// CallbackSchema is the file name of the JSON Schema of a route's request body, by
// convention: route "group-member-joined" is "group-member-joined-callback.schema.json".
func CallbackSchema(routeName string) string { return routeName + "-callback.schema.json" }
