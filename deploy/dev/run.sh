#!/usr/bin/env bash
# `make run`: the whole suite on one machine.
#   Postgres (local, or a private cluster) → Temporal dev server (SQLite + UI
#   under .data/) → every service that exists → worker → gateway.
# Ctrl-C stops every process this script started.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

data="$root/.data"
logs="$data/logs"
bins="$data/bin"
mkdir -p "$logs" "$bins"

TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${TEMPORAL_UI_PORT:-8233}
# Our own NATS (JetStream) unless NATS_URL names one; 4223, not 4222, because
# a system NATS may already listen there.
NATS_PORT=${NATS_PORT:-4223}
NATS_MONITOR_PORT=${NATS_MONITOR_PORT:-8222}
GATEWAY_PORT=${GATEWAY_PORT:-8080}
# service → gRPC port; a service runs only once services/<svc>/cmd/<svc> exists.
declare -A PORTS=([catalogue]=9091 [conversation]=9092 [order]=9093 [aftersale]=9094 [complaint]=9095 [logistics]=9096 [calendar]=9097 [insights]=9098)
ORDER=(catalogue conversation order aftersale complaint logistics calendar insights)
# Every process serves GET /metrics on its own admin port: a service on its
# gRPC port + 100 (catalogue 9191 … insights 9198), the worker on 9190, the
# gateway on 9180.
WORKER_METRICS_PORT=${WORKER_METRICS_PORT:-9190}
GATEWAY_METRICS_PORT=${GATEWAY_METRICS_PORT:-9180}

say() { printf '\033[1m[run]\033[0m %s\n' "$*"; }

pids=()
names=()
stop_all() {
  trap - INT TERM EXIT
  say "stopping ${#pids[@]} processes"
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

start() { # start NAME LOGFILE CMD...
  local name=$1 logfile=$2; shift 2
  "$@" >"$logfile" 2>&1 &
  pids+=($!)
  names+=("$name")
}

wait_port() { # wait_port NAME PORT
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  say "$1 did not open port $2; see $logs/$1.log"
  exit 1
}

export DATABASE_URL
DATABASE_URL=$(deploy/dev/ensure-postgres.sh)
say "postgres: $DATABASE_URL"

if (exec 3<>"/dev/tcp/127.0.0.1/$TEMPORAL_PORT") 2>/dev/null; then
  say "temporal: something already listens on $TEMPORAL_PORT; using it"
else
  start temporal "$logs/temporal.log" bin/temporal server start-dev \
    --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$data/temporal.db" --namespace default --log-level warn
  wait_port temporal "$TEMPORAL_PORT"
fi
export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"

if [ -n "${NATS_URL:-}" ]; then
  say "nats: using NATS_URL=$NATS_URL"
  nats_monitor="(the monitoring port of $NATS_URL)"
else
  mkdir -p "$data/nats"
  start nats "$logs/nats.log" bin/nats-server -a 127.0.0.1 -p "$NATS_PORT" \
    -m "$NATS_MONITOR_PORT" -js -sd "$data/nats" -n kefu-dev
  wait_port nats "$NATS_PORT"
  export NATS_URL="nats://127.0.0.1:$NATS_PORT"
  nats_monitor="http://127.0.0.1:$NATS_MONITOR_PORT/jsz?streams=true"
fi
say "nats: $NATS_URL"

# Every service learns every other's address up front (the order service calls
# the catalogue, after-sale calls order and catalogue, ...).
# A service that does not exist yet gets no address, so nothing (the gateway's
# readiness included) waits for it.
for svc in "${ORDER[@]}"; do
  [ -d "services/$svc/cmd/$svc" ] || continue
  export "$(echo "$svc" | tr a-z A-Z)_ADDR=127.0.0.1:${PORTS[$svc]}"
done
# Every process vouches for callers' identities with this key (generated once
# under .data/; in Kubernetes it comes from the kefu-service-token Secret): a
# direct call to a service without it is anonymous.
if [ ! -s "$data/service-token.key" ]; then
  (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$data/service-token.key")
fi
export SERVICE_TOKEN_KEY
SERVICE_TOKEN_KEY=$(cat "$data/service-token.key")
# The gateway verifies HS256 tokens with this development-only secret; the
# demo tokens printed at the end are signed with it (gateway/cmd/kefu-token).
export JWT_HS256_SECRET=${JWT_HS256_SECRET:-kefu-dev-only-secret-never-in-production}
# SLA_POLICY_SHRINK=3600 runs every SLA clock 3600× faster (a day in 24 s).
export SLA_POLICY_VERSION=${SLA_POLICY_VERSION:-} SLA_POLICY_SHRINK=${SLA_POLICY_SHRINK:-1}

# A front end's dev server may call the API from the browser: Vite
# (localhost:5173) and create-react-app/Next (localhost:3000). Production
# names its origins explicitly (CORS_ALLOWED_ORIGINS, empty = no CORS).
export CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-http://localhost:5173,http://localhost:3000}

gateway_env=()
for svc in "${ORDER[@]}"; do
  [ -d "services/$svc/cmd/$svc" ] || continue
  say "building $svc"
  go build -o "$bins/$svc" "./services/$svc/cmd/$svc"
  extra=()
  # insights: reports and one consumer need fewer connections (budget in the README)
  [ "$svc" = insights ] && extra=(DB_MAX_CONNS="${INSIGHTS_DB_MAX_CONNS:-4}")
  start "$svc" "$logs/$svc.log" env GRPC_ADDR="127.0.0.1:${PORTS[$svc]}" \
    METRICS_ADDR="127.0.0.1:$((PORTS[$svc] + 100))" "${extra[@]}" "$bins/$svc"
  wait_port "$svc" "${PORTS[$svc]}"
  if [ -d "services/$svc/seed" ]; then
    say "seeding $svc (idempotent)"
    "$bins/$svc" seed >>"$logs/$svc-seed.log" 2>&1 || { say "seeding $svc failed; see $logs/$svc-seed.log"; exit 1; }
  fi
  up=$(echo "$svc" | tr a-z A-Z)
  gateway_env+=("${up}_ADDR=127.0.0.1:${PORTS[$svc]}")
done

if [ -d workflows/cmd/worker ]; then
  say "building worker"
  go build -o "$bins/worker" ./workflows/cmd/worker
  start worker "$logs/worker.log" env METRICS_ADDR="127.0.0.1:$WORKER_METRICS_PORT" "$bins/worker"
fi

if [ -d gateway/cmd/gateway ]; then
  say "building gateway"
  go build -o "$bins/gateway" ./gateway/cmd/gateway
  start gateway "$logs/gateway.log" env HTTP_ADDR="127.0.0.1:$GATEWAY_PORT" \
    METRICS_ADDR="127.0.0.1:$GATEWAY_METRICS_PORT" "${gateway_env[@]}" "$bins/gateway"
  wait_port gateway "$GATEWAY_PORT"
fi

go build -o "$bins/kefu-token" ./gateway/cmd/kefu-token
go build -o "$bins/kefu-events" ./services/platform/cmd/kefu-events
tokens=$("$bins/kefu-token" -demo -ttl 720h | sed 's/^/    /')

cat <<MSG

  kefu is up (logs in .data/logs/):
    REST API      http://127.0.0.1:$GATEWAY_PORT/v1/...
    OpenAPI       http://127.0.0.1:$GATEWAY_PORT/openapi.json  (browse: /docs)
    Temporal UI   http://127.0.0.1:$TEMPORAL_UI_PORT
    Temporal gRPC 127.0.0.1:$TEMPORAL_PORT
                  find records: ShopId='shop_demo' AND NextDeadline < '<RFC 3339 instant>'
    SLA board     http://127.0.0.1:$GATEWAY_PORT/v1/shops/shop_demo/sla-timers
    Metrics       http://127.0.0.1:<port>/metrics  gateway $GATEWAY_METRICS_PORT, worker $WORKER_METRICS_PORT,
                  each service its gRPC port + 100 (catalogue 9191 … complaint 9195 … insights 9198)
    Traces        ${OTEL_EXPORTER_OTLP_ENDPOINT:-off (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 make run sends them to a local OTLP collector)}
    Events        $NATS_URL  stream KEFU_EVENTS, subjects kefu.<shop>.<aggregate>.<event>
                  live: $bins/kefu-events tail --shop shop_demo [--type 'order.*'] [--from-start]
                  streams: $nats_monitor
    services      ${gateway_env[*]:-none built yet}

  Demo bearer tokens (Authorization: Bearer <token>; mint more with
  $bins/kefu-token -role agent -sub a_1 -rank senior_agent -group after_sale -shop shop_demo):
$tokens

  Ctrl-C stops everything.
MSG

# Stop everything as soon as any process dies, and say which.
set +e
wait -n "${pids[@]}"
code=$?
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    say "${names[$i]} exited ($code); see $logs/${names[$i]}.log"
  fi
done
exit "$code"
