#!/usr/bin/env bash
# Runs the whole system on this machine: a real Kafka broker and PostgreSQL on loopback
# (scripts/stack.py), the topics, the fake Telegram and analytics webhook, then all seven daemons. Prints
# where each listens and a few curl lines to try. Ctrl-C stops everything.
#
# Environment (read by this script only; none of them reaches a daemon):
#   PAYPIPE_BASE_PORT     first daemon port (default 8081): the daemons take BASE..BASE+6,
#                         the fakes BASE+10..BASE+12
#   PAYPIPE_BUILD         build directory (default build)
#   PAYPIPE_ADMIN_TOKEN   the admin routes' token (default: a random one, printed)
#   PAYPIPE_LOG_LEVEL     the daemons' log level (default info)
#   PAYPIPE_READY_TIMEOUT seconds to wait for every daemon's /readyz (default 120)
#   PAYPIPE_CACHE         where bootstrap.sh keeps its downloads (default ~/.cache/paypipe)
# Each daemon is given exactly the variables it reads (it refuses unknown PAYPIPE_
# ones): the caller's PAYPIPE_* settings are removed from its environment, but for the
# naming ones, which reach every daemon and paypipe-admin as they are (docs/operations.md,
# "Naming topics and groups"), e.g. PAYPIPE_NAMING_PROFILE=spring scripts/run-local.sh:
#   PAYPIPE_NAMING_PROFILE PAYPIPE_TOPIC_NAMES PAYPIPE_GROUP_NAMES
#   PAYPIPE_RETRY_TOPIC_FORMAT PAYPIPE_DLQ_TOPIC_FORMAT PAYPIPE_SHARED_TOPIC_NAMES
#   PAYPIPE_EXTRA_CONSUMER_GROUPS
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

base=${PAYPIPE_BASE_PORT:-8081}
[[ $base =~ ^[0-9]+$ ]] && (( base >= 1024 && base <= 65000 )) || die "PAYPIPE_BASE_PORT must be a port number (1024-65000)"
build_dir=${PAYPIPE_BUILD:-build}
admin_token=${PAYPIPE_ADMIN_TOKEN:-local-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}
log_level=${PAYPIPE_LOG_LEVEL:-info}
ready_timeout=${PAYPIPE_READY_TIMEOUT:-120}
services=(payment-api order-processor coupon-issuer notification-sender ranking-updater data-platform-forwarder dlq-retrier)

# What the caller set is this script's, not the daemons': unset it for them.
scrub=()
while IFS= read -r name; do scrub+=(-u "$name"); done < <(compgen -e | grep '^PAYPIPE_' || true)

scripts/bootstrap.sh
BUILD_TARGETS="${services[*]} paypipe-admin fake-telegram fake-analytics" build_tree "$build_dir"
bin="$root/$build_dir/bin"

state="$root/.local"
mkdir -p "$state/logs"
step "starting Kafka and PostgreSQL"
python3 scripts/stack.py start --dir "$state/stack" --replace >/dev/null
# shellcheck disable=SC1091
source "$state/stack/env"

pids=()
cleanup() {
  trap - INT TERM EXIT
  [[ $BASHPID == "$$" ]] || return 0  # a subshell's exit is not the script's
  step "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  python3 scripts/stack.py stop --dir "$state/stack"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# The variables every daemon reads (and paypipe-admin its Kafka ones).
common=(
  PAYPIPE_PROFILE=local
  "PAYPIPE_KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"
  "PAYPIPE_PG_DSN=$PG_DSN"
  PAYPIPE_LOG_FORMAT=text
  "PAYPIPE_LOG_LEVEL=$log_level"
)
for name in PAYPIPE_NAMING_PROFILE PAYPIPE_TOPIC_NAMES PAYPIPE_GROUP_NAMES PAYPIPE_RETRY_TOPIC_FORMAT \
            PAYPIPE_DLQ_TOPIC_FORMAT PAYPIPE_SHARED_TOPIC_NAMES PAYPIPE_EXTRA_CONSUMER_GROUPS; do
  if [[ -v $name ]]; then common+=("$name=${!name}"); fi
done

# The local identity provider: a signing key kept in .local (made once), its public half
# as the JWKS the daemons with end-user routes trust, and tokens for the demo below.
jwt_key="$state/jwt-signing.pem"
jwt_issuer=http://127.0.0.1/local-issuer
jwt_audience=paypipe-local
[[ -f "$jwt_key" ]] || "$bin/paypipe-admin" keygen --out "$jwt_key"
"$bin/paypipe-admin" jwks --key "$jwt_key" --kid local-1 >"$state/jwks.json"
jwt_env="PAYPIPE_JWT_JWKS_FILE=$state/jwks.json PAYPIPE_JWT_ISSUER=$jwt_issuer PAYPIPE_JWT_AUDIENCE=$jwt_audience"
mint() {  # mint USER [SCOPE]: a token valid for 12 hours
  "$bin/paypipe-admin" token --key "$jwt_key" --kid local-1 --iss "$jwt_issuer" --aud "$jwt_audience" \
    --ttl 43200 --sub "$1" ${2:+--scope "$2"}
}

step "creating the topics"
env "${scrub[@]}" "${common[@]}" "$bin/paypipe-admin" topics create --partitions 3 --replication 1 --min-insync 1

telegram_port=$((base + 10))
analytics_port=$((base + 11))
"$bin/fake-telegram" --port "$telegram_port" --token 123456:LOCAL >"$state/logs/fake-telegram.log" 2>&1 &
pids+=($!)
"$bin/fake-analytics" --port "$analytics_port" --control-port $((base + 12)) --path /webhook \
  >"$state/logs/fake-analytics.log" 2>&1 &
pids+=($!)

# Each daemon gets only the variables it reads: it refuses unknown PAYPIPE_ ones.
declare -A extra=(
  [payment-api]="PAYPIPE_ADMIN_TOKEN=$admin_token $jwt_env"
  [order-processor]="PAYPIPE_ADMIN_TOKEN=$admin_token $jwt_env"
  [coupon-issuer]="PAYPIPE_ADMIN_TOKEN=$admin_token $jwt_env"
  [dlq-retrier]="PAYPIPE_ADMIN_TOKEN=$admin_token"
  # alice=1001: the demo's mapped chat; a user links their own through POST
  # /v1/telegram/link-tokens and the webhook (secret local-webhook-secret, a demo value).
  [notification-sender]="PAYPIPE_ADMIN_TOKEN=$admin_token $jwt_env PAYPIPE_TELEGRAM_BASE_URL=http://127.0.0.1:$telegram_port PAYPIPE_TELEGRAM_BOT_TOKEN=123456:LOCAL PAYPIPE_TELEGRAM_CHAT_IDS=alice=1001 PAYPIPE_TELEGRAM_WEBHOOK_SECRET=local-webhook-secret"
  [data-platform-forwarder]="PAYPIPE_ADMIN_TOKEN=$admin_token PAYPIPE_WEBHOOK_URL=http://127.0.0.1:$analytics_port/webhook"
  [ranking-updater]="PAYPIPE_ADMIN_TOKEN=$admin_token"
)
declare -A ports pid_of
port=$base
for service in "${services[@]}"; do
  ports[$service]=$port
  # shellcheck disable=SC2086  # the extra variables split on spaces on purpose
  env "${scrub[@]}" "${common[@]}" PAYPIPE_HTTP_PORT=$port ${extra[$service]:-} "$bin/$service" \
    >"$state/logs/$service.log" 2>&1 &
  pids+=($!)
  pid_of[$service]=$!
  port=$((port + 1))
done

exited() {  # reports a daemon that is no longer running, with the end of its log
  local service=$1 code=0
  wait "${pid_of[$service]}" 2>/dev/null || code=$?
  echo "$service exited (code $code); the end of .local/logs/$service.log:" >&2
  tail -20 "$state/logs/$service.log" >&2
}

step "waiting for the daemons to be ready (at most ${ready_timeout} s)"
declare -A ready=()
ready_count=0
deadline=$((SECONDS + ready_timeout))
while (( ready_count < ${#services[@]} )); do
  for service in "${services[@]}"; do
    [[ -n ${ready[$service]:-} ]] && continue
    if ! kill -0 "${pid_of[$service]}" 2>/dev/null; then
      exited "$service"
      die "$service did not start"
    fi
    if curl -fsS -m 2 "http://127.0.0.1:${ports[$service]}/readyz" >/dev/null 2>&1; then
      ready[$service]=1
      ready_count=$((ready_count + 1))
    fi
  done
  if (( SECONDS >= deadline )); then
    for service in "${services[@]}"; do
      [[ -n ${ready[$service]:-} ]] && continue
      echo "$service is not ready after ${ready_timeout} s; /readyz says:" >&2
      curl -sS -m 2 "http://127.0.0.1:${ports[$service]}/readyz" >&2 || true
      echo >&2
      tail -5 "$state/logs/$service.log" >&2
    done
    die "not every daemon became ready"
  fi
  (( ready_count < ${#services[@]} )) && sleep 0.2
done

printf '\n%-26s %-28s %s\n' "service" "address" "log"
for service in "${services[@]}"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ports[$service]}/readyz" || true)
  printf '%-26s %-28s %s\n' "$service" "http://127.0.0.1:${ports[$service]}" ".local/logs/$service.log (readyz $status)"
done
printf '%-26s %-28s\n' "fake Telegram" "http://127.0.0.1:$telegram_port  (GET /messages)"
printf '%-26s %-28s\n' "fake analytics webhook" "http://127.0.0.1:$analytics_port/webhook"
printf '%-26s %-28s\n' "Kafka" "$KAFKA_BOOTSTRAP_SERVERS"
printf '%-26s %-28s\n' "PostgreSQL" "$PG_DSN"
alice_token=$(mint alice)
provider_token=$(mint payment-provider wallet:deposit)
# The same, for a shell: `source .local/env` (docs/quickstart.md walks through the flow with it).
cat >"$root/.local/env" <<ENV
export ADMIN=$admin_token
export ALICE=$alice_token
export PROVIDER=$provider_token
export PAYMENTS=http://127.0.0.1:${ports[payment-api]}
export ORDERS=http://127.0.0.1:${ports[order-processor]}
export COUPONS=http://127.0.0.1:${ports[coupon-issuer]}
export NOTIFICATIONS=http://127.0.0.1:${ports[notification-sender]}
export RANKINGS=http://127.0.0.1:${ports[ranking-updater]}
export DELIVERIES=http://127.0.0.1:${ports[data-platform-forwarder]}
export DLQ=http://127.0.0.1:${ports[dlq-retrier]}
export TELEGRAM=http://127.0.0.1:$telegram_port
ENV
cat <<TXT

Every token and address below is also in .local/env: \`source .local/env\` in another shell
(docs/quickstart.md takes you through the whole flow with it).

Admin token (Authorization: Bearer ...): $admin_token
alice's token (12 h; another: $bin/paypipe-admin token --key $jwt_key --kid local-1 \\
  --iss $jwt_issuer --aud $jwt_audience --sub bob):
  ALICE=$alice_token
The payment provider's token (scope wallet:deposit: deposits are its call, not a user's):
  PROVIDER=$provider_token

Try (the tokens are in the lines; ALICE=... and PROVIDER=... above set them in a shell too):
  curl -s -X POST http://127.0.0.1:${ports[payment-api]}/v1/wallets/alice/deposits \\
       -H "Authorization: Bearer $provider_token" \\
       -H 'Content-Type: application/json' -H 'Idempotency-Key: dep-1' -d '{"amount": 100000}'
  curl -s http://127.0.0.1:${ports[payment-api]}/v1/wallets/alice -H "Authorization: Bearer $alice_token"
  curl -s -X POST http://127.0.0.1:${ports[order-processor]}/v1/products \\
       -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \\
       -d '{"productId":"book","name":"Book","unitPrice":1200,"totalStock":10,"saleOpensAt":"2020-01-01T00:00:00Z"}'
  # alice's orders live, in another terminal (Server-Sent Events; a WebSocket upgrade works too):
  curl -N http://127.0.0.1:${ports[order-processor]}/v1/orders/stream -H "Authorization: Bearer $alice_token" \\
       -H 'Accept: text/event-stream'
  curl -s -X POST http://127.0.0.1:${ports[order-processor]}/v1/orders -H "Authorization: Bearer $alice_token" \\
       -H 'Content-Type: application/json' \\
       -d '{"items":[{"productId":"book","quantity":1,"unitPrice":1200}],"fulfilment":"SHIPPING"}'
  curl -s -X POST http://127.0.0.1:${ports[payment-api]}/v1/payments -H "Authorization: Bearer $alice_token" \\
       -H 'Content-Type: application/json' -H 'Idempotency-Key: pay-1' -d '{"orderId":"<orderId from above>"}'
  curl -s http://127.0.0.1:${ports[payment-api]}/v1/wallets/alice     # no token: 401
  curl -s http://127.0.0.1:${ports[payment-api]}/metrics | head

Ctrl-C stops everything.
TXT
# A daemon that exits while the system runs is reported at once (then everything stops).
while :; do
  finished=
  wait -n -p finished "${pids[@]}" || true
  [[ -z $finished ]] && continue
  for service in "${services[@]}"; do
    if [[ ${pid_of[$service]} == "$finished" ]]; then
      echo "$service exited; the end of .local/logs/$service.log:" >&2
      tail -20 "$state/logs/$service.log" >&2
    fi
  done
  die "a process of the local system exited"
done
