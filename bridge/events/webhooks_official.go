package events

// Types of the official account's lifecycle and subscriber events, on the official
// account's topic beside TypeOfficialInfoChanged; all keyed by OfficialAccount.
const (
	// TypeOfficialCreated: an official account was created.
	TypeOfficialCreated = "imbridge.official.created.v1"
	// TypeOfficialDestroyed: an official account was destroyed.
	TypeOfficialDestroyed = "imbridge.official.destroyed.v1"
	// TypeOfficialSubscriberAdded: one user subscribed (one event per subscriber).
	TypeOfficialSubscriberAdded = "imbridge.official.subscriber.added.v1"
	// TypeOfficialSubscriberRemoved: one user unsubscribed (one event per subscriber).
	TypeOfficialSubscriberRemoved = "imbridge.official.subscriber.removed.v1"
	// TypeOfficialFull: an official account reached its subscriber limit.
	TypeOfficialFull = "imbridge.official.full.v1"
)

// officialTypes are the event types of bridge's official account routes.
var officialTypes = map[string]func() webhookEvent{
	TypeOfficialCreated:           func() webhookEvent { return &OfficialCreated{} },
	TypeOfficialDestroyed:         func() webhookEvent { return &OfficialDestroyed{} },
	TypeOfficialSubscriberAdded:   func() webhookEvent { return &OfficialSubscriberAdded{} },
	TypeOfficialSubscriberRemoved: func() webhookEvent { return &OfficialSubscriberRemoved{} },
	TypeOfficialFull:              func() webhookEvent { return &OfficialFull{} },
}

// OfficialCreated is the creation of an official account
// (OfficialAccount.CallbackAfterCreateOfficialAccount). Name is nil when Chat left it
// out.
type OfficialCreated struct {
	Envelope
	OfficialAccount string  `json:"officialAccount"`
	OperatorAccount string  `json:"operatorAccount,omitempty"`
	OwnerAccount    string  `json:"ownerAccount,omitempty"`
	Name            *string `json:"name,omitempty"`
}

func (e *OfficialCreated) key() string { return e.OfficialAccount }

// OfficialDestroyed is the destruction of an official account
// (OfficialAccount.CallbackAfterOfficialAccountDestroyed); Chat names no operator.
type OfficialDestroyed struct {
	Envelope
	OfficialAccount string  `json:"officialAccount"`
	OwnerAccount    string  `json:"ownerAccount,omitempty"`
	Name            *string `json:"name,omitempty"`
}

func (e *OfficialDestroyed) key() string { return e.OfficialAccount }

// OfficialSubscription is what a subscriber event says: who subscribed or
// unsubscribed, to which official account, at whose request.
type OfficialSubscription struct {
	Envelope
	OfficialAccount   string `json:"officialAccount"`
	OperatorAccount   string `json:"operatorAccount,omitempty"`
	SubscriberAccount string `json:"subscriberAccount"`
}

func (e *OfficialSubscription) key() string { return e.OfficialAccount }

// OfficialSubscriberAdded is one new subscriber of an official account
// (OfficialAccount.CallbackAfterAddSubscriber).
type OfficialSubscriberAdded struct{ OfficialSubscription }

// OfficialSubscriberRemoved is one subscriber an official account lost
// (OfficialAccount.CallbackAfterDeleteSubscriber).
type OfficialSubscriberRemoved struct{ OfficialSubscription }

// OfficialFull says an official account reached its subscriber limit
// (OfficialAccount.CallbackAfterOfficialAccountFull).
type OfficialFull struct {
	Envelope
	OfficialAccount string `json:"officialAccount"`
}

func (e *OfficialFull) key() string { return e.OfficialAccount }
