#!/usr/bin/env bash
# run.sh [MAX_EXAMPLES]: conformance of the live callback endpoint to schema/openapi.yaml,
# checked by schemathesis (installed from PyPI into a cached virtualenv). It builds and
# starts imbridge on loopback (spool mode, its spool in a temporary directory), lets
# schemathesis generate valid and invalid requests against POST /callback, and fails on
# a 5xx, an undocumented status, a body or content type the document does not allow, or
# a request valid under the document that is not answered 2xx.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
examples=${1:-50}
version=4.32.5
venv=${XDG_CACHE_HOME:-$HOME/.cache}/imbridge/schemathesis-$version
if [ ! -x "$venv/bin/st" ]; then
  echo "installing schemathesis $version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/imbridge" ./cmd/imbridge)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin=$(free_port)
export IMBRIDGE_SDKAPPID=1400187352 IMBRIDGE_CALLBACK_TOKEN=conformance-token IMBRIDGE_DEV_MODE=true
IMBRIDGE_LISTEN=127.0.0.1:$port IMBRIDGE_ADMIN_LISTEN=127.0.0.1:$admin IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1 \
  IMBRIDGE_SPOOL_DIR="$work/spool" IMBRIDGE_LOG_LEVEL=error "$work/imbridge" serve 2>"$work/imbridge.log" &
pid=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

cd "$work" # schemathesis keeps its cache in the working directory: keep it out of the tree
SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$here" "$venv/bin/st" run "$root/schema/openapi.yaml" \
  --url "http://127.0.0.1:$port" --include-path /callback \
  --checks positive_data_acceptance,not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "$examples" --generation-codec ascii --generation-allow-x00 false \
  --seed 1 --no-color --report-dir "$work/report" || { echo "imbridge log:" >&2; cat "$work/imbridge.log" >&2; exit 1; }
echo "answers imbridge counted during the run:"
curl -s "http://127.0.0.1:$admin/metrics" | grep '^imbridge_callbacks_total' || true
