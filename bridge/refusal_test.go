package bridge

import "testing"

// refusal is a body that its command's route refuses, and the whole error message:
// every decoder says the same thing about the same kind of field.
type refusal struct {
	cmd, give, want string
}

// checkRefusals maps each body with its command's default route and wants a bad
// request saying exactly want.
func checkRefusals(t *testing.T, tests []refusal) {
	t.Helper()
	routes := NewRoutes(DefaultRoutes...)
	for _, tt := range tests {
		route, _ := routes.Lookup(tt.cmd)
		_, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(tt.give)}, route)
		if ErrorKind(err) != KindBadRequest || err.Error() != tt.want {
			t.Errorf("%s: %v, want bad_request %q", tt.give, err, tt.want)
		}
	}
}
