package bridge

// c2cRoutes are the routes of one-to-one messages: C2C.* webhooks, keyed by the conversation (both directions of one pair of users together).
var c2cRoutes = []Route{}
