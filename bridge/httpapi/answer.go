package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/imbridge/imbridge/bridge"
)

// Answer is the JSON body Chat expects in reply to every callback.
type Answer struct {
	// ActionStatus is "OK" or "FAIL".
	ActionStatus string `json:"ActionStatus"`
	// ErrorCode is 0 for OK and 1 for FAIL.
	ErrorCode int `json:"ErrorCode"`
	// ErrorInfo is empty for OK and says why for FAIL.
	ErrorInfo string `json:"ErrorInfo"`
}

// okBody is the success answer, encoded once.
var okBody = []byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)

// okContentType is the success answer's Content-Type header value, shared by every
// answer (net/http only reads it).
var okContentType = []string{echo.MIMEApplicationJSON}

// writeOK writes the success answer as c.Blob would, from the prepared body and header
// value: a Content-Type already set is kept.
func writeOK(c echo.Context) error {
	r := c.Response()
	if h := r.Header(); h.Get(echo.HeaderContentType) == "" {
		h[echo.HeaderContentType] = okContentType
	}
	r.WriteHeader(http.StatusOK)
	_, err := r.Write(okBody)
	return err
}

// statusOf is the one mapping from errors to HTTP statuses.
func statusOf(err error) (int, string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok && he.Code < 500 {
			msg = s
		}
		return he.Code, msg
	}
	switch bridge.ErrorKind(err) {
	case bridge.KindBadRequest:
		return http.StatusBadRequest, bridge.ErrorMessage(err)
	case bridge.KindForbidden:
		return http.StatusForbidden, bridge.ErrorMessage(err)
	case bridge.KindUnauthorized:
		return http.StatusUnauthorized, bridge.ErrorMessage(err)
	case bridge.KindTooLarge:
		return http.StatusRequestEntityTooLarge, bridge.ErrorMessage(err)
	case bridge.KindUnavailable:
		return http.StatusServiceUnavailable, bridge.ErrorMessage(err)
	case bridge.KindURITooLong:
		return http.StatusRequestURITooLong, bridge.ErrorMessage(err)
	case bridge.KindUnsupported:
		return http.StatusUnsupportedMediaType, bridge.ErrorMessage(err)
	default:
		return http.StatusInternalServerError, "internal error"
	}
}

// outcome labels an error for logs (and later metrics): a fixed, small set of values.
func outcome(err error) string {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusMethodNotAllowed:
			return "method_not_allowed"
		case http.StatusNotFound:
			return "not_found"
		}
		return "http_error"
	}
	return bridge.ErrorKind(err).String()
}

// writeError answers err as Chat's FAIL JSON with the status statusOf gives.
func writeError(c echo.Context, err error) {
	if c.Response().Committed {
		return
	}
	status, info := statusOf(err)
	body, _ := json.Marshal(Answer{ActionStatus: "FAIL", ErrorCode: 1, ErrorInfo: info})
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.Blob(status, echo.MIMEApplicationJSON, body)
}
