// Command watermill-peer is the benchmark's peer: a minimal service built with Watermill
// that does what imbridge does for Sns.CallbackBlackListDelete, and no more. Its HTTP
// subscriber (watermill-http) turns each callback into a message; a router handler
// checks the signature, splits the PairList and publishes one Kafka message per pair,
// keyed by From_Account, with its Kafka publisher (watermill-kafka, Sarama's sync
// producer, acks from all in-sync replicas); the HTTP answer goes out only after the
// publish returned. imbridge-bench suite builds and runs it to compare imbridge with
// it on the same load, broker and topic.
//
// It is a module of its own so that imbridge's go.mod does not carry Watermill.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmhttp "github.com/ThreeDotsLabs/watermill-http/v2/pkg/http"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/go-chi/chi"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8090", "address of the callback endpoint (POST /callback) and of GET /readyz")
	brokers := flag.String("brokers", "", "bootstrap brokers, comma-separated (required)")
	topic := flag.String("topic", "imbridge.bench", "topic to publish to; it must exist")
	appID := flag.String("sdkappid", "1400187352", "the SdkAppid callbacks must carry")
	flag.Parse()
	token := os.Getenv("PEER_CALLBACK_TOKEN") // from the environment, out of the process list
	if *brokers == "" || token == "" {
		fmt.Fprintln(os.Stderr, "watermill-peer: --brokers and PEER_CALLBACK_TOKEN are required")
		os.Exit(2)
	}
	if err := serve(*listen, strings.Split(*brokers, ","), *topic, *appID, token); err != nil {
		fmt.Fprintf(os.Stderr, "watermill-peer: %v\n", err)
		os.Exit(1)
	}
}

// serve runs the peer until SIGINT or SIGTERM.
func serve(listen string, brokers []string, topic, appID, token string) error {
	logger := watermill.NopLogger{}
	cfg := kafka.DefaultSaramaSyncPublisherConfig()
	cfg.Version = sarama.V4_0_0_0
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	pub, err := kafka.NewPublisher(kafka.PublisherConfig{
		Brokers:               brokers,
		Marshaler:             kafka.NewWithPartitioningMarshaler(partitionKey),
		OverwriteSaramaConfig: cfg,
	}, logger)
	if err != nil {
		return fmt.Errorf("kafka publisher: %w", err)
	}
	defer pub.Close()

	ready := make(chan struct{})
	mux := chi.NewRouter()
	mux.Use(answerOK)
	mux.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-ready:
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	sub, err := wmhttp.NewSubscriber(listen, wmhttp.SubscriberConfig{
		Router:               mux,
		UnmarshalMessageFunc: verified(appID, token),
	}, logger)
	if err != nil {
		return fmt.Errorf("http subscriber: %w", err)
	}

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, logger)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	router.AddConsumerHandler("blocklist-delete", "/callback", sub, pairsHandler(pub, topic))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	routerDone := make(chan error, 1)
	go func() { routerDone <- router.Run(ctx) }()
	select {
	case <-router.Running(): // the subscription exists: the HTTP server may start
	case err := <-routerDone:
		return fmt.Errorf("router: %w", err)
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- sub.StartHTTPServer() }()
	close(ready)
	select {
	case <-ctx.Done():
	case err := <-httpDone:
		return fmt.Errorf("http server: %w", err)
	}
	_ = sub.Close()
	_ = router.Close()
	return nil
}
