#!/usr/bin/env bash
# cluster.sh: a three-node Apache Kafka cluster (KRaft; each node broker and controller)
# on loopback, from the same Maven jars as kafka.sh, for failover tests and for trying
# imbridge against replicated topics. No Docker needed.
#
#   deploy/kafka/cluster.sh up          resolve jars (cached), format, start the three nodes, wait until
#                                       all three are registered, create topics
#   deploy/kafka/cluster.sh down        stop every node and delete the state directory
#   deploy/kafka/cluster.sh status      print the bootstrap list; exit 0 if all three nodes are registered
#   deploy/kafka/cluster.sh kill N      SIGKILL node N (1..3): a crash
#   deploy/kafka/cluster.sh stop N      stop node N (SIGTERM, SIGKILL after 30 s), keeping its data
#   deploy/kafka/cluster.sh start N     start node N again on its data and wait until it is registered
#   deploy/kafka/cluster.sh restart N   stop, then start node N
#   deploy/kafka/cluster.sh topics T[:PARTITIONS[:CONFIG=VALUE,...]] ...   create topics, replication factor 3,
#                                       min.insync.replicas=2 (idempotent)
#   deploy/kafka/cluster.sh env         print IMBRIDGE_KAFKA_BROKERS=... (eval-able)
#
# Node N listens on 127.0.0.1:PORT+N-1 (PLAINTEXT) and 127.0.0.1:PORT+10+N-1 (controller).
# Topics have replication factor 3 and min.insync.replicas=2: with one node down writes
# with acks=all go on; with two down they fail. unclean.leader.election.enable=false, so
# a leader is only ever elected from the in-sync replicas.
#
# `up` and `start` refuse to start a node whose port or controller port is taken, naming the
# process that holds it, and fail unless the nodes that then answer are the ones started.
#
# Settings (environment):
#   KAFKA_CLUSTER_PORT    first node's port (default 19500): nodes on PORT..PORT+2,
#                         controllers on PORT+10..PORT+12
#   KAFKA_CLUSTER_DIR     state directory (default ${TMPDIR:-/tmp}/imbridge-kafka-cluster-PORT)
#   KAFKA_CLUSTER_TOPICS  topics `up` creates, space-separated T[:PARTITIONS[:CONFIG=VALUE,...]]; empty: none
#                         (default: imbridge's default topics, 6 partitions each)
#   KAFKA_CLUSTER_HEAP    JVM heap per node (default 384m)
#   KAFKA_CLUSTER_WAIT    seconds `up` and `start` wait (default 120)
#   KAFKA_LOCAL_CACHE     where the jars are kept, as for kafka.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ports.sh
. "$here/ports.sh"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
base=${KAFKA_CLUSTER_PORT:-19500}
dir=${KAFKA_CLUSTER_DIR:-${TMPDIR:-/tmp}/imbridge-kafka-cluster-$base}
topics=${KAFKA_CLUSTER_TOPICS-imbridge.blocklist:6 imbridge.c2c:6 imbridge.call:6 imbridge.follow:6 imbridge.friend:6 imbridge.group:6 imbridge.group.message:6 imbridge.moderation:6 imbridge.official:6 imbridge.ops:6 imbridge.profile:6 imbridge.push:6 imbridge.quarantine:6:max.message.bytes=2097152 imbridge.state:6 imbridge.unrouted:6}
heap=${KAFKA_CLUSTER_HEAP:-384m}
wait_s=${KAFKA_CLUSTER_WAIT:-120}
nodes=(1 2 3)

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Kafka reads log.dirs as a comma-separated list: a comma would put data beside the folder.
[[ $dir != *,* ]] || die "KAFKA_CLUSTER_DIR=$dir: a folder without a comma, please (Kafka's log.dirs is a list)"

port() { echo $((base + $1 - 1)); }
cport() { echo $((base + 10 + $1 - 1)); }
bootstrap() { local n out=(); for n in "${nodes[@]}"; do out+=("127.0.0.1:$(port "$n")"); done; (IFS=,; echo "${out[*]}"); }
voters() { local n out=(); for n in "${nodes[@]}"; do out+=("$n@127.0.0.1:$(cport "$n")"); done; (IFS=,; echo "${out[*]}"); }

libs=$("$here/kafka.sh" jars)

java_run() { # MAINCLASS ARGS...: run a Kafka tool with the local classpath
  java -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile="$here/log4j2.yaml" \
    -Dkafka.logs.dir="$dir/tools" -cp "$libs/*" "$@"
}

valid_node() { [[ "${1:-}" =~ ^[123]$ ]] || die "node must be 1, 2 or 3, not '${1:-}'"; }
pidfile() { echo "$dir/node$1/node.pid"; }
pid() { [ -f "$(pidfile "$1")" ] && cat "$(pidfile "$1")"; }
# running N: node N's pid file names a live process that is node N (not a process that
# got the pid of one gone since).
running() {
  local p
  p=$(pid "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
  [[ "$(ports_cmdline "$p")" == *" kafka.Kafka $dir/node$1/server.properties"* ]]
}

# taken N...: print which ports of nodes N... another process listens on, and which
# process; return 1 if none is.
taken() {
  local n ports=()
  for n in "$@"; do ports+=("$(port "$n")" "$(cport "$n")"); done
  ports_taken "${ports[@]}"
}

# check_free N...: refuse to start nodes N... on ports another process holds.
check_free() {
  local t
  if t=$(taken "$@"); then
    die "cannot start the cluster at $(bootstrap) (state in $dir): $t. Stop that process, or choose another KAFKA_CLUSTER_PORT (DEV_KAFKA_CLUSTER_PORT for make kafka-cluster-up, TEST_KAFKA_CLUSTER_PORT for make test); deploy/kafka/ports.sh pick prints a free one"
  fi
}

# alive N: node N runs; if it exited (during start-up), fail naming what holds its ports.
alive() {
  # (Not running: for a moment after the start its process is not java yet.)
  ports_exited "$(pid "$1")" || return 0
  local t
  t=$(taken "$1") || t=""
  die "node $1 exited during start-up${t:+: $t}; see $dir/node$1/logs/stdout.log and broker.log"
}

# own N: node N's process holds its listener, so what answers there is node N.
own() {
  local t
  running "$1" && ports_owned "$(pid "$1")" "$(port "$1")" && return 0
  t=$(ports_holder "$(port "$1")") || t="no process"
  die "127.0.0.1:$(port "$1") is answered by $t, not by node $1 (state in $dir/node$1)"
}

# registered: how many brokers the cluster's metadata lists, asked through the nodes
# that run (a real Metadata round trip, not a port check).
registered() {
  local n boot=()
  for n in "${nodes[@]}"; do running "$n" && boot+=("127.0.0.1:$(port "$n")"); done
  [ ${#boot[@]} -gt 0 ] || { echo 0; return; }
  local list; list=$(IFS=,; echo "${boot[*]}")
  if command -v kcat >/dev/null; then
    kcat -b "$list" -L -m 3 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:$/\1/p' | head -1 | grep . || echo 0
  else
    java_run org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$list" 2>/dev/null | grep -c '(id: ' || true
  fi
}

# node_registered N: node N's own listener answers a Metadata request and lists it.
node_registered() {
  local addr="127.0.0.1:$(port "$1")"
  if command -v kcat >/dev/null; then
    kcat -b "$addr" -L -m 3 2>/dev/null | grep -q "broker $1 at $addr"
  else
    java_run org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$addr" 2>/dev/null | grep -q "^$addr (id: $1 "
  fi
}

write_config() { # N
  local n=$1 d="$dir/node$1"
  mkdir -p "$d/data" "$d/logs"
  cat >"$d/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
listeners=PLAINTEXT://127.0.0.1:$(port "$n"),CONTROLLER://127.0.0.1:$(cport "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(port "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$d/data
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
unclean.leader.election.enable=false
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
num.network.threads=2
num.io.threads=2
num.replica.fetchers=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
}

start_node() { # N: start node N if it does not run (no wait)
  local n=$1 d="$dir/node$1"
  if running "$n"; then
    log "node $n already running (pid $(pid "$n"))"
    return
  fi
  [ -f "$d/data/meta.properties" ] || die "node $n is not formatted: run up first"
  check_free "$n"
  nohup java -Xms128m -Xmx"$heap" -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.yaml" -Dkafka.logs.dir="$d/logs" \
    -cp "$libs/*" kafka.Kafka "$d/server.properties" >"$d/logs/stdout.log" 2>&1 &
  echo $! >"$(pidfile "$n")"
  log "node $n starting at 127.0.0.1:$(port "$n") (pid $!)"
}

wait_until() { # WHAT CMD...: poll CMD until it succeeds or KAFKA_CLUSTER_WAIT passes
  local what=$1; shift
  local deadline=$((SECONDS + wait_s))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "$what not within ${wait_s}s; see $dir/node*/logs/broker.log"
    sleep 0.5
  done
}

all_registered() { # all three run and the metadata lists three brokers
  local n
  for n in "${nodes[@]}"; do running "$n" || return 1; done
  [ "$(registered)" = 3 ]
}

starting() { # while up waits: every node still runs, and the metadata lists three
  local n
  for n in "${nodes[@]}"; do alive "$n"; done
  [ "$(registered)" = 3 ]
}

node_starting() { # N, while start waits: node N still runs and is registered
  alive "$1"
  node_registered "$1"
}

up() {
  local n fresh="" down=()
  for n in "${nodes[@]}"; do running "$n" || down+=("$n"); done
  [ ${#down[@]} -eq 0 ] || check_free "${down[@]}"
  [ -f "$dir/node1/data/meta.properties" ] || fresh=1
  if [ -n "$fresh" ]; then
    local id
    id=$(java_run kafka.tools.StorageTool random-uuid)
    for n in "${nodes[@]}"; do
      write_config "$n"
      java_run kafka.tools.StorageTool format -t "$id" -c "$dir/node$n/server.properties" >/dev/null \
        || die "could not format node $n"
    done
  fi
  for n in "${nodes[@]}"; do start_node "$n"; done
  wait_until "three nodes registered" starting
  for n in "${nodes[@]}"; do own "$n"; done
  log "cluster answers at $(bootstrap)"
  # shellcheck disable=SC2086
  create_topics $topics
}

stop_node() { # N
  local n=$1 p
  if running "$n"; then
    p=$(pid "$n")
    kill "$p"
    for _ in $(seq 1 60); do ports_exited "$p" && break; sleep 0.5; done
    if ! ports_exited "$p"; then
      log "node $n did not stop in 30s; killing"
      kill -9 "$p"
      for _ in $(seq 1 100); do ports_exited "$p" && break; sleep 0.1; done
    fi
    log "node $n stopped"
  fi
  rm -f "$(pidfile "$n")"
}

kill_node() { # N
  local n=$1 p
  if running "$n"; then
    p=$(pid "$n")
    kill -9 "$p"
    for _ in $(seq 1 100); do ports_exited "$p" && break; sleep 0.1; done
    log "node $n killed (SIGKILL)"
  fi
  rm -f "$(pidfile "$n")"
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
    java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" --create \
      --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 3 \
      --config min.insync.replicas=2 "${cfg[@]}" >/dev/null \
      || die "could not create topic $name"
    log "topic $name ($parts partitions, replication factor 3, min.insync.replicas=2) ready"
  done
}

case "${1:-}" in
  up) up ;;
  down) for n in "${nodes[@]}"; do stop_node "$n"; done; rm -rf "$dir" ;;
  status)
    if all_registered; then bootstrap; else log "not all three nodes are registered at $(bootstrap)"; exit 1; fi ;;
  kill) valid_node "${2:-}"; kill_node "$2" ;;
  stop) valid_node "${2:-}"; stop_node "$2" ;;
  start) valid_node "${2:-}"; start_node "$2"; wait_until "node $2 registered" node_starting "$2"; own "$2"; log "node $2 answers" ;;
  restart) valid_node "${2:-}"; stop_node "$2"; start_node "$2"; wait_until "node $2 registered" node_starting "$2"; own "$2"; log "node $2 answers" ;;
  topics) shift; create_topics "$@" ;;
  env) echo "IMBRIDGE_KAFKA_BROKERS=$(bootstrap)" ;;
  *) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; [ -n "${1:-}" ] && exit 2; exit 0 ;;
esac
