package main

// subsetLookup is lookup as loadConfig sees it for a command that reads only some of
// serve's settings (spool drain, replay): the settings reads accepts, with defaults
// where the environment has none, and nothing else, so that a setting of serve's
// environment the command does not use (a token file not mounted here) cannot stop it.
// The callback settings that serve's validation requires get values that pass it; the
// command uses none of them.
func subsetLookup(lookup func(string) (string, bool), reads func(string) bool, defaults map[string]string) func(string) (string, bool) {
	return func(env string) (string, bool) {
		switch env {
		case "IMBRIDGE_SDKAPPID":
			return "1", true
		case "IMBRIDGE_ALLOW_UNSIGNED":
			return "true", true
		}
		if !reads(env) {
			return "", false
		}
		if v, ok := lookup(env); ok {
			return v, true
		}
		v, ok := defaults[env]
		return v, ok
	}
}
