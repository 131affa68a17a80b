package events

// userTypes are the event types of bridge's user routes.
var userTypes = map[string]func() webhookEvent{}
