#!/usr/bin/env bash
# kafka.sh: a single-node Apache Kafka (KRaft, combined broker+controller) on loopback,
# resolved from Maven Central, for development and tests. No Docker needed.
#
#   deploy/kafka/kafka.sh up       resolve jars (cached), format, start, wait until ready, create topics
#   deploy/kafka/kafka.sh down     stop the broker and delete its state directory
#   deploy/kafka/kafka.sh stop     stop the broker, keep its data (start again with `up`)
#   deploy/kafka/kafka.sh status   print the bootstrap address and exit 0 if the broker answers
#                                  (this one: the process of its state directory)
#   deploy/kafka/kafka.sh topics T[:PARTITIONS[:CONFIG=VALUE,...]] ...   create topics (idempotent)
#   deploy/kafka/kafka.sh env      print the variables a test run needs (eval-able)
#   deploy/kafka/kafka.sh jars     resolve the jars (cached) and print their directory
#                                  (cluster.sh, the three-node sibling, uses it)
#   deploy/kafka/kafka.sh run CMD [ARG...]   a fresh broker for one command (make test): start it,
#                                  run CMD with IMBRIDGE_TEST_KAFKA_BROKERS, KAFKA_LOCAL_PORT and
#                                  KAFKA_LOCAL_DIR set, stop it and delete its state directory;
#                                  exits with CMD's status
#
# `up` refuses to start when a port the broker needs (PORT, PORT+1, and PORT+2, PORT+3 with
# SASL, TLS) is taken, naming the process that holds it, and fails unless the process
# that then answers on PORT is the one it started (deploy/kafka/ports.sh: /proc, or lsof).
#
# Settings (environment):
#   KAFKA_LOCAL_PORT    PLAINTEXT listener port on 127.0.0.1 (default 19092); the controller
#                       listens on PORT+1. With run: auto (its default) picks a free block of
#                       ports (deploy/kafka/ports.sh pick), reserved until run ends
#   KAFKA_LOCAL_DIR     state directory: config, data, logs, pid (default ${TMPDIR:-/tmp}/imbridge-kafka-PORT;
#                       with run: a new private directory)
#   KAFKA_LOCAL_CACHE   where the jars are kept between runs (default ${XDG_CACHE_HOME:-~/.cache}/imbridge)
#   KAFKA_LOCAL_TOPICS  topics `up` creates, space-separated T[:PARTITIONS[:CONFIG=VALUE,...]]; empty: none
#                       (default: imbridge's default topics, 6 partitions each)
#   KAFKA_LOCAL_HEAP    JVM heap (default 768m)
#   KAFKA_LOCAL_WAIT    seconds `up` waits for the broker to answer (default 90)
#   KAFKA_LOCAL_SASL    1: also a SASL_PLAINTEXT listener on PORT+2 with PLAIN, SCRAM-SHA-256
#                       and SCRAM-SHA-512 for KAFKA_LOCAL_SASL_USER / KAFKA_LOCAL_SASL_PASSWORD
#                       (default imbridge / imbridge-secret); set before the first `up`
#   KAFKA_LOCAL_TLS_DIR a directory with server.pem (PKCS#8 key and certificate chain): also
#                       an SSL listener on PORT+3; with ca.pem there too, clients must
#                       present a certificate signed by it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ports.sh
. "$here/ports.sh"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
verb=${1:-}
port=${KAFKA_LOCAL_PORT:-19092}
picked=""
made_dir=""
if [ "$verb" = run ] && { [ -z "${KAFKA_LOCAL_PORT:-}" ] || [ "$KAFKA_LOCAL_PORT" = auto ]; }; then
  port=$(ports_pick $$) || die "run: no free port to pick"
  picked=$port
fi
case "$verb" in
  jars|help|-h|--help|"") ;;
  *) [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65532 ] \
       || die "KAFKA_LOCAL_PORT=$port: want a port number (auto only with run)" ;;
esac
cport=$((port + 1))
if [ "$verb" = run ] && [ -z "${KAFKA_LOCAL_DIR:-}" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/imbridge-kafka-$port.XXXXXX")
  made_dir=1
else
  dir=${KAFKA_LOCAL_DIR:-${TMPDIR:-/tmp}/imbridge-kafka-$port}
fi
# Kafka reads log.dirs as a comma-separated list: a comma would put data beside the folder.
[[ $dir != *,* ]] || die "KAFKA_LOCAL_DIR=$dir: a folder without a comma, please (Kafka's log.dirs is a list)"
cache=${KAFKA_LOCAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imbridge}
libs=$cache/kafka-$version/libs
topics=${KAFKA_LOCAL_TOPICS-imbridge.blocklist:6 imbridge.c2c:6 imbridge.call:6 imbridge.follow:6 imbridge.friend:6 imbridge.group:6 imbridge.group.message:6 imbridge.moderation:6 imbridge.official:6 imbridge.ops:6 imbridge.profile:6 imbridge.push:6 imbridge.quarantine:6:max.message.bytes=2097152 imbridge.state:6 imbridge.unrouted:6}
heap=${KAFKA_LOCAL_HEAP:-768m}
wait_s=${KAFKA_LOCAL_WAIT:-90}
bootstrap=127.0.0.1:$port
sasl=${KAFKA_LOCAL_SASL:-}
sasl_user=${KAFKA_LOCAL_SASL_USER:-imbridge}
sasl_password=${KAFKA_LOCAL_SASL_PASSWORD:-imbridge-secret}
tls_dir=${KAFKA_LOCAL_TLS_DIR:-}

resolve() {
  [ -f "$libs/.complete" ] && return 0
  # Checkouts resolving at once share the cache: one at a time (the lock is the subshell's,
  # not inherited by the broker).
  mkdir -p "$cache"
  if command -v flock >/dev/null; then
    (flock 9 && resolve_locked) 9>"$cache/kafka-$version.lock" || exit 1
  else
    resolve_locked
  fi
}

resolve_locked() {
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found: install Maven (Debian package maven) to resolve Kafka $version"
  command -v java >/dev/null || die "java not found: Kafka $version needs Java 17 or newer"
  log "resolving Apache Kafka $version from Maven Central into $libs"
  rm -rf "$libs"
  mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$libs" -DincludeScope=runtime >"$cache/mvn.log" 2>&1 \
    || { cat "$cache/mvn.log" >&2; die "maven could not resolve Kafka $version"; }
  touch "$libs/.complete"
}

java_run() { # MAINCLASS ARGS...: run a Kafka class with the local classpath
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$here/log4j2.yaml" \
    -Dkafka.logs.dir="$dir/logs" -cp "$libs/*" "$@"
}

pid() { [ -f "$dir/broker.pid" ] && cat "$dir/broker.pid"; }
# running: the pid file names a live process that is this directory's broker (not a
# process that got the pid of one gone since).
running() {
  local p
  p=$(pid) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
  [[ "$(ports_cmdline "$p")" == *" kafka.Kafka $dir/server.properties"* ]]
}

# own: the broker of this state directory runs and holds the listener on PORT.
own() { running && ports_owned "$(pid)" "$port"; }

# listener_ports: the ports the broker listens on, from its configuration once written.
listener_ports() {
  if [ -f "$dir/server.properties" ]; then
    sed -n 's/^listeners=//p' "$dir/server.properties" | tr ',' '\n' | sed 's/.*://'
  else
    echo "$port"
    echo "$cport"
    if [ -n "$sasl" ]; then echo $((port + 2)); fi
    if [ -n "$tls_dir" ]; then echo $((port + 3)); fi
  fi
}

# taken: print which of the broker's ports another process listens on, and which
# process; return 1 if none is.
taken() {
  # shellcheck disable=SC2046
  ports_taken $(listener_ports)
}

# answers: a real Metadata round trip, not a port check.
answers() {
  if command -v kcat >/dev/null; then
    kcat -b "$bootstrap" -L -m 3 >/dev/null 2>&1
  else
    java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --list >/dev/null 2>&1
  fi
}

write_config() {
  mkdir -p "$dir/data" "$dir/logs"
  local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
  local advertised="PLAINTEXT://127.0.0.1:$port"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  local extra=""
  if [ -n "$sasl" ]; then
    listeners+=",SASL_PLAINTEXT://127.0.0.1:$((port + 2))"
    advertised+=",SASL_PLAINTEXT://127.0.0.1:$((port + 2))"
    protocols+=",SASL_PLAINTEXT:SASL_PLAINTEXT"
    extra+="sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$sasl_user\" password=\"$sasl_password\" user_$sasl_user=\"$sasl_password\";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
"
  fi
  if [ -n "$tls_dir" ]; then
    [ -f "$tls_dir/server.pem" ] || die "KAFKA_LOCAL_TLS_DIR: $tls_dir/server.pem is missing"
    listeners+=",SSL://127.0.0.1:$((port + 3))"
    advertised+=",SSL://127.0.0.1:$((port + 3))"
    protocols+=",SSL:SSL"
    extra+="listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location=$tls_dir/server.pem
"
    if [ -f "$tls_dir/ca.pem" ]; then
      extra+="listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location=$tls_dir/ca.pem
listener.name.ssl.ssl.client.auth=required
"
    fi
  fi
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
${extra}log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
}

create_topics() {
  local t name parts rest cfg c
  for t in "$@"; do
    name=${t%%:*}
    parts=1
    cfg=()
    if [ "$name" != "$t" ]; then
      rest=${t#*:}
      parts=${rest%%:*}
      if [ "$parts" != "$rest" ]; then
        local IFS=,
        for c in ${rest#*:}; do cfg+=(--config "$c"); done
        unset IFS
      fi
    fi
    java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$bootstrap" --create \
      --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 "${cfg[@]}" >/dev/null \
      || die "could not create topic $name"
    log "topic $name ($parts partitions) ready"
  done
}

up() {
  if running; then
    log "broker already running at $bootstrap (pid $(pid))"
  else
    local t
    if t=$(taken); then
      die "cannot start a broker at $bootstrap (state in $dir): $t. Stop that process, or choose another port: KAFKA_LOCAL_PORT (DEV_KAFKA_PORT for make dev, TEST_KAFKA_PORT for make test); deploy/kafka/ports.sh pick prints a free one"
    fi
    resolve
    if [ ! -f "$dir/data/meta.properties" ]; then
      write_config
      local id
      id=$(java_run kafka.tools.StorageTool random-uuid)
      local scram=()
      if [ -n "$sasl" ]; then
        scram=(--add-scram "SCRAM-SHA-256=[name=\"$sasl_user\",password=\"$sasl_password\"]"
               --add-scram "SCRAM-SHA-512=[name=\"$sasl_user\",password=\"$sasl_password\"]")
      fi
      java_run kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" "${scram[@]}" >/dev/null \
        || die "could not format $dir/data"
    fi
    log "starting Kafka $version at $bootstrap (state in $dir)"
    nohup java -Xms256m -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$here/log4j2.yaml" -Dkafka.logs.dir="$dir/logs" \
      -cp "$libs/*" kafka.Kafka "$dir/server.properties" >"$dir/logs/stdout.log" 2>&1 &
    echo $! >"$dir/broker.pid"
  fi
  resolve
  local deadline=$((SECONDS + wait_s)) t
  until answers; do
    # (Not running: for a moment after the start its process is not java yet.)
    if ports_exited "$(pid)"; then
      t=$(taken) || t=""
      die "broker exited during start-up${t:+: $t}; see $dir/logs/stdout.log and $dir/logs/broker.log"
    fi
    [ $SECONDS -lt $deadline ] || die "broker did not answer within ${wait_s}s; see $dir/logs/broker.log"
    sleep 0.5
  done
  # What answers must be this broker, not one that held the port before it.
  if ! own; then
    t=$(ports_holder "$port") || t="no process"
    if running; then
      die "$bootstrap is answered by $t, not by this broker (pid $(pid), state in $dir)"
    fi
    die "$bootstrap is answered by $t; this broker (state in $dir) exited: see $dir/logs/stdout.log and $dir/logs/broker.log"
  fi
  log "broker answers at $bootstrap (pid $(pid))"
  # shellcheck disable=SC2086
  create_topics $topics
}

# run CMD ARG...: a fresh broker for the length of one command.
run() {
  [ $# -gt 0 ] || die "run: which command?"
  trap 'stop; rm -rf "$dir"; if [ -n "$picked" ]; then ports_release "$picked"; fi' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [ -z "$made_dir" ]; then
    stop
    rm -rf "$dir"
  fi
  up
  local rc=0
  KAFKA_LOCAL_PORT=$port KAFKA_LOCAL_DIR=$dir IMBRIDGE_TEST_KAFKA_BROKERS=$bootstrap "$@" || rc=$?
  exit "$rc"
}

stop() {
  local p
  if running; then
    p=$(pid)
    kill "$p"
    for _ in $(seq 1 60); do ports_exited "$p" && break; sleep 0.5; done
    if ! ports_exited "$p"; then
      log "broker did not stop in 30s; killing"
      kill -9 "$p"
      for _ in $(seq 1 100); do ports_exited "$p" && break; sleep 0.1; done
    fi
    log "broker stopped"
  fi
  rm -f "$dir/broker.pid"
}

case "${1:-}" in
  up) up ;;
  stop) stop ;;
  down) stop; rm -rf "$dir" ;;
  status)
    if ! answers; then log "no broker answers at $bootstrap"; exit 1; fi
    if ! own; then log "$bootstrap is answered by $(ports_holder "$port" || echo "an unknown process"), not by the broker of $dir"; exit 1; fi
    echo "$bootstrap" ;;
  topics) shift; resolve; create_topics "$@" ;;
  env) echo "IMBRIDGE_TEST_KAFKA_BROKERS=$bootstrap" ;;
  jars) resolve; echo "$libs" ;;
  run) shift; run "$@" ;;
  kill)
    if running; then
      p=$(pid)
      kill -9 "$p"
      for _ in $(seq 1 100); do ports_exited "$p" && break; sleep 0.1; done
    fi
    rm -f "$dir/broker.pid" ;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; [ -n "${1:-}" ] && exit 2; exit 0 ;;
esac
