package events

// groupTypes are the event types of bridge's group routes.
var groupTypes = map[string]func() webhookEvent{}
