package bridge

// Commands of the official account's lifecycle and subscribers.
const (
	// CommandOfficialAccountCreated: an official account was created (REST API only).
	CommandOfficialAccountCreated = "OfficialAccount.CallbackAfterCreateOfficialAccount"
	// CommandOfficialAccountDestroyed: an official account was destroyed.
	CommandOfficialAccountDestroyed = "OfficialAccount.CallbackAfterOfficialAccountDestroyed"
	// CommandOfficialSubscriberAdded: users subscribed to an official account, or an
	// admin added subscribers.
	CommandOfficialSubscriberAdded = "OfficialAccount.CallbackAfterAddSubscriber"
	// CommandOfficialSubscriberRemoved: users unsubscribed, or an admin removed
	// subscribers.
	CommandOfficialSubscriberRemoved = "OfficialAccount.CallbackAfterDeleteSubscriber"
	// CommandOfficialAccountFull: a subscription filled the official account up to its
	// subscriber limit.
	CommandOfficialAccountFull = "OfficialAccount.CallbackAfterOfficialAccountFull"
)

// officialRoutes are the official account's lifecycle and subscriber routes, on the
// official account's topic beside its profile changes (official-info-changed), keyed by
// Official_Account, so that one account's history is in order in one partition.
var officialRoutes = []Route{
	{Name: "official-created", Command: CommandOfficialAccountCreated, Topic: TopicOfficialAccount, Type: "imbridge.official.created.v1",
		Decode: decodeOfficialAccountCreated, Key: "Official_Account", Events: "one per callback"},
	{Name: "official-destroyed", Command: CommandOfficialAccountDestroyed, Topic: TopicOfficialAccount, Type: "imbridge.official.destroyed.v1",
		Decode: decodeOfficialAccountDestroyed, Key: "Official_Account", Events: "one per callback"},
	{Name: "official-subscriber-added", Command: CommandOfficialSubscriberAdded, Topic: TopicOfficialAccount, Type: "imbridge.official.subscriber.added.v1",
		Decode: decodeOfficialSubscribers, Key: "Official_Account", Events: "one per SubscribeAccountList entry"},
	{Name: "official-subscriber-removed", Command: CommandOfficialSubscriberRemoved, Topic: TopicOfficialAccount, Type: "imbridge.official.subscriber.removed.v1",
		Decode: decodeOfficialSubscribers, Key: "Official_Account", Events: "one per SubscribeAccountList entry"},
	{Name: "official-full", Command: CommandOfficialAccountFull, Topic: TopicOfficialAccount, Type: "imbridge.official.full.v1",
		Decode: decodeOfficialAccountFull, Key: "Official_Account", Events: "one per callback"},
}

// decodeOfficialAccountCreated reads OfficialAccount.CallbackAfterCreateOfficialAccount:
// the new account, who created it, its owner and its name (as sent, possibly "").
func decodeOfficialAccountCreated(o Object) ([]Subject, int64) {
	account := o.ID("Official_Account")
	return one(account, Fields(
		"officialAccount", account,
		"operatorAccount", o.Account("Operator_Account"),
		"ownerAccount", o.Account("Owner_Account"),
		"name", o.Text("Name"),
	)), o.EventTime()
}

// decodeOfficialAccountDestroyed reads
// OfficialAccount.CallbackAfterOfficialAccountDestroyed: the account, its owner and its
// name. Chat documents no Operator_Account here; one it sends reaches the event under
// "extra".
func decodeOfficialAccountDestroyed(o Object) ([]Subject, int64) {
	account := o.ID("Official_Account")
	return one(account, Fields(
		"officialAccount", account,
		"ownerAccount", o.Account("Owner_Account"),
		"name", o.Text("Name"),
	)), o.EventTime()
}

// decodeOfficialSubscribers reads OfficialAccount.CallbackAfterAddSubscriber and
// OfficialAccount.CallbackAfterDeleteSubscriber: one subject per SubscribeAccountList
// entry ({"Subscriber_Account": ...}, required), keyed by the official account, as
// group members joining or leaving are.
func decodeOfficialSubscribers(o Object) ([]Subject, int64) {
	account, operator := o.ID("Official_Account"), o.Account("Operator_Account")
	var subjects []Subject
	for _, e := range o.Elements("SubscribeAccountList", true) {
		entry := e.Object()
		subscriber := entry.RequiredAccount("Subscriber_Account")
		subjects = append(subjects, Subject{Key: account, Fields: Fields("officialAccount", account,
			"operatorAccount", operator, "subscriberAccount", subscriber, "entryExtra", entry.Extra())})
	}
	return subjects, o.EventTime()
}

// decodeOfficialAccountFull reads OfficialAccount.CallbackAfterOfficialAccountFull:
// the account that reached its subscriber limit.
func decodeOfficialAccountFull(o Object) ([]Subject, int64) {
	account := o.ID("Official_Account")
	return one(account, Fields("officialAccount", account)), o.EventTime()
}
