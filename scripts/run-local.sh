#!/usr/bin/env bash
# Runs the whole system on this machine: a real Kafka broker and PostgreSQL on loopback
# (scripts/stack.py), the topics, the fake Telegram and analytics webhook, then all seven daemons. Prints
# where each listens and a few curl lines to try. Ctrl-C stops everything.
#
# Environment: PAYPIPE_BASE_PORT (first daemon port, default 8081), PAYPIPE_BUILD.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/bootstrap.sh
build_dir=${PAYPIPE_BUILD:-build}
build_tree "$build_dir"
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
  step "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  python3 scripts/stack.py stop --dir "$state/stack"
}
trap cleanup INT TERM EXIT

export PAYPIPE_PROFILE=local
export PAYPIPE_KAFKA_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS"
export PAYPIPE_PG_DSN="$PG_DSN"
export PAYPIPE_LOG_FORMAT=text
admin_token=${PAYPIPE_ADMIN_TOKEN:-local-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}

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
"$bin/paypipe-admin" topics create --partitions 3 --replication 1 --min-insync 1

base=${PAYPIPE_BASE_PORT:-8081}
telegram_port=$((base + 10))
analytics_port=$((base + 11))
"$bin/fake-telegram" --port "$telegram_port" --token 123456:LOCAL >"$state/logs/fake-telegram.log" 2>&1 &
pids+=($!)
"$bin/fake-analytics" --port "$analytics_port" --control-port $((base + 12)) --path /webhook \
  >"$state/logs/fake-analytics.log" 2>&1 &
pids+=($!)

services=(payment-api order-processor coupon-issuer notification-sender ranking-updater data-platform-forwarder dlq-retrier)
# Each daemon gets only the variables it reads: it refuses unknown PAYPIPE_ ones.
declare -A extra=(
  [payment-api]="PAYPIPE_ADMIN_TOKEN=$admin_token $jwt_env"
  [order-processor]="PAYPIPE_ADMIN_TOKEN=$admin_token $jwt_env"
  [coupon-issuer]="PAYPIPE_ADMIN_TOKEN=$admin_token $jwt_env"
  [dlq-retrier]="PAYPIPE_ADMIN_TOKEN=$admin_token"
  [notification-sender]="PAYPIPE_TELEGRAM_BASE_URL=http://127.0.0.1:$telegram_port PAYPIPE_TELEGRAM_BOT_TOKEN=123456:LOCAL PAYPIPE_TELEGRAM_CHAT_IDS=alice=1001"
  [data-platform-forwarder]="PAYPIPE_WEBHOOK_URL=http://127.0.0.1:$analytics_port/webhook"
)
declare -A ports
port=$base
for service in "${services[@]}"; do
  ports[$service]=$port
  # shellcheck disable=SC2086  # the extra variables split on spaces on purpose
  env PAYPIPE_HTTP_PORT=$port ${extra[$service]:-} "$bin/$service" >"$state/logs/$service.log" 2>&1 &
  pids+=($!)
  port=$((port + 1))
done

step "waiting for the daemons to be ready"
not_ready=()
for service in "${services[@]}"; do
  ready=0
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:${ports[$service]}/readyz" >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.1
  done
  (( ready )) || not_ready+=("$service")
done
if (( ${#not_ready[@]} )); then
  for service in "${not_ready[@]}"; do
    echo "$service is not ready; the end of .local/logs/$service.log:" >&2
    tail -5 "$state/logs/$service.log" >&2
  done
  die "not every daemon started"
fi

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
cat <<TXT

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
  curl -s -X POST http://127.0.0.1:${ports[order-processor]}/v1/orders -H "Authorization: Bearer $alice_token" \\
       -H 'Content-Type: application/json' \\
       -d '{"items":[{"productId":"book","quantity":1,"unitPrice":1200}],"fulfilment":"SHIPPING"}'
  curl -s -X POST http://127.0.0.1:${ports[payment-api]}/v1/payments -H "Authorization: Bearer $alice_token" \\
       -H 'Content-Type: application/json' -H 'Idempotency-Key: pay-1' -d '{"orderId":"<orderId from above>"}'
  curl -s http://127.0.0.1:${ports[payment-api]}/v1/wallets/alice     # no token: 401
  curl -s http://127.0.0.1:${ports[payment-api]}/metrics | head

Ctrl-C stops everything.
TXT
wait
