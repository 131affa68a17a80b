package kafka

import (
	"fmt"
	"regexp"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/imbridge/imbridge/bridge/internal/logfold"
)

// LogFoldInterval is how often kafka-go's own error lines of one cause (an error text,
// with the broker's address) are written while they repeat: the first at once, then
// one per interval with the count ("repeated"). A broker away for a minute gives one
// line per cause, not one per partition and attempt.
const LogFoldInterval = time.Minute

// kafkagoPrefix matches what kafka-go puts before the error in its lines: the topic,
// partition and attempt, which differ on every line of one outage.
var kafkagoPrefix = regexp.MustCompile(`^(error writing messages to \S+ \(partition \d+, attempt \d+\)|[^:]*\(partition:? ?\d+[^)]*\)): `)

// FoldedLogger returns a kafka-go Logger (for a Writer's or a Reader's ErrorLogger)
// that writes to log at WARN, as msg, one line per cause per LogFoldInterval: the
// cause is the error text kafka-go reports, without the topic, partition and attempt.
func FoldedLogger(log *zap.Logger, msg string) kafkago.Logger {
	f := logfold.New(log, LogFoldInterval, nil)
	return kafkago.LoggerFunc(func(format string, args ...any) {
		text := fmt.Sprintf(format, args...)
		f.Log(zapcore.WarnLevel, msg, kafkagoPrefix.ReplaceAllString(text, ""))
	})
}
