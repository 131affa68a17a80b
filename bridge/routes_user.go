package bridge

// userRoutes are the routes of users and accounts: State.StateChange and Profile.CallbackPortraitSet keyed by the user, OfficialAccount.* by the official account, Bot.* by GroupId.
var userRoutes = []Route{}
