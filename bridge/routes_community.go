package bridge

// groupCommunityRoutes are the routes of communities and group extras: topics, read receipts, attributes, owner, member state, delivery failures and message extensions, keyed by GroupId.
var groupCommunityRoutes = []Route{}
