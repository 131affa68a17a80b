package events

// c2cTypes are the event types of bridge's c2c routes.
var c2cTypes = map[string]func() webhookEvent{}
