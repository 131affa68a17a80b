package events

// communityTypes are the event types of bridge's community routes.
var communityTypes = map[string]func() webhookEvent{}
