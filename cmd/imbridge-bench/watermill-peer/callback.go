// The callback's way through the peer: the signature check as the subscriber reads the
// request, the handler that publishes one message per pair, and Chat's OK answer.

package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	wmhttp "github.com/ThreeDotsLabs/watermill-http/v2/pkg/http"
	"github.com/ThreeDotsLabs/watermill/message"
)

// okBody is the answer Chat expects from a callback endpoint.
var okBody = []byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`)

// metaKey is the metadata entry that holds a message's Kafka key.
const metaKey = "key"

// verified is the subscriber's UnmarshalMessageFunc: the callback must be for appID and
// signed with token (Sign = hex SHA-256 of token and RequestTime); its body becomes the
// message's payload.
func verified(appID, token string) wmhttp.UnmarshalMessageFunc {
	return func(_ string, r *http.Request) (*message.Message, error) {
		q := r.URL.Query()
		if q.Get("SdkAppid") != appID {
			return nil, fmt.Errorf("SdkAppid %q is not this app's", q.Get("SdkAppid"))
		}
		sum := sha256.Sum256([]byte(token + q.Get("RequestTime")))
		if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(q.Get("Sign"))) != 1 {
			return nil, errors.New("wrong signature")
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("reading the body: %w", err)
		}
		return message.NewMessage(q.Get("RequestTime")+"-"+q.Get("Sign")[:8], body), nil
	}
}

// pair is one entry of the callback's PairList, and the published event's body.
type pair struct {
	From string `json:"fromAccount"`
	To   string `json:"toAccount"`
}

// pairsHandler publishes one message per pair of the callback, keyed by From_Account,
// and returns when the publisher has every broker acknowledgement: the router then acks
// the callback's message and the subscriber answers.
func pairsHandler(pub message.Publisher, topic string) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		var cb struct {
			CallbackCommand string
			PairList        []struct{ From_Account, To_Account string }
		}
		if err := json.Unmarshal(msg.Payload, &cb); err != nil {
			wmhttp.SetResponseStatusCode(msg, http.StatusBadRequest) // ensure no retry loop: nack answers 400
			return fmt.Errorf("decoding the callback: %w", err)
		}
		out := make([]*message.Message, 0, len(cb.PairList))
		for i, p := range cb.PairList {
			b, err := json.Marshal(pair{From: p.From_Account, To: p.To_Account})
			if err != nil {
				return err
			}
			m := message.NewMessage(fmt.Sprintf("%s-%d", msg.UUID, i), b)
			m.Metadata.Set(metaKey, p.From_Account)
			out = append(out, m)
		}
		return pub.Publish(topic, out...)
	}
}

// partitionKey is the Kafka key of a published message: its From_Account.
func partitionKey(_ string, msg *message.Message) (string, error) {
	return msg.Metadata.Get(metaKey), nil
}

// answerOK writes Chat's OK body after a 200: the subscriber sets the status alone.
func answerOK(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&okWriter{ResponseWriter: w}, r)
	})
}

type okWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *okWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if code == http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.ResponseWriter.WriteHeader(code)
		_, _ = w.ResponseWriter.Write(okBody)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}
