package bridge

import (
	"testing"
)

// Every route says how Chat names its switch, and no entry names a command without a
// route: the README's console table is complete and says nothing of commands imbridge
// does not take.
func TestSwitchesCoverTheRoutes(t *testing.T) {
	routed := map[string]bool{}
	for _, r := range DefaultRoutes {
		routed[r.Command] = true
		s, ok := Switches[r.Command]
		if !ok {
			t.Errorf("%s has no entry in Switches", r.Command)
			continue
		}
		if s.Page == "" {
			t.Errorf("%s: Switches gives no documentation page", r.Command)
		}
	}
	for c := range Switches {
		if !routed[c] {
			t.Errorf("Switches names %s, which has no route", c)
		}
	}
}

func TestBeforeCallback(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"C2C.CallbackBeforeSendMsg", true},
		{"Group.CallbackBeforeCreateGroup", true},
		{"Group.CallbackBeforeApplyJoinGroup", true},
		{"Sns.CallbackPrevFriendAdd", true},
		{"Sns.CallbackPrevFriendResponse", true},
		{"OfficialAccount.CallbackBeforeAddSubscriber", true},
		{"C2C.CallbackAfterSendMsg", false},
		{"Sns.CallbackFriendAdd", false},
		{"Before.Something", false}, // the area is not the callback's name
		{"", false},
	}
	for _, tt := range tests {
		if got := BeforeCallback(tt.give); got != tt.want {
			t.Errorf("BeforeCallback(%q) = %v, want %v", tt.give, got, tt.want)
		}
	}
	for _, r := range DefaultRoutes {
		if BeforeCallback(r.Command) {
			t.Errorf("route %s is taken for a before-callback", r.Command)
		}
	}
}
