package bridge

// groupRoutes are the routes of groups: Group.* webhooks about groups, members and messages, keyed by GroupId.
var groupRoutes = []Route{}
