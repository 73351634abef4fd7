#!/usr/bin/env bash
# What payment-api's live-update trigger costs a batch of payments, on a throwaway
# PostgreSQL (scripts/stack.py, no Kafka): pgbench inserting BATCH-row statements into
# three copies of payment-api's schema, each from the real migration files,
#   row        001 + 020_payment_updates.sql            (the per-row trigger of issue 16)
#   statement  000_live_updates.sql + 001 + 020 + 021   (the per-statement trigger)
#   none       001                                      (no trigger)
# taking turns ROUNDS times, so that a shared machine's drift falls on all three alike.
# Prints payments/s per variant per round, and the median.
#
#   bench/live_update_trigger.sh [BATCH=64] [SECONDS=15] [CLIENTS=2] [ROUNDS=3]
set -euo pipefail
batch=${1:-64}
seconds=${2:-15}
clients=${3:-2}
rounds=${4:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
dir=$(mktemp -d /tmp/live-update-trigger.XXXXXX)
trap 'python3 "$root/scripts/stack.py" stop --dir "$dir/stack" >/dev/null; rm -rf "$dir"' EXIT
python3 "$root/scripts/stack.py" start --dir "$dir/stack" --no-kafka >/dev/null
dsn=$(python3 "$root/scripts/stack.py" env --dir "$dir/stack" | sed -n 's/^PG_DSN=//p')

psql() { "$pg_bin/psql" "$dsn" -v ON_ERROR_STOP=1 -qAt "$@"; }
shared=$root/libs/events/migrations/000_live_updates.sql
migrations=$root/services/payment-api/migrations
schema() {  # name, files...
  local name=$1
  shift
  { echo "CREATE SCHEMA $name; SET search_path = $name;"; cat "$@"; } | psql -f -
}
schema row "$migrations/001_payments.sql" "$migrations/020_payment_updates.sql"
schema statement "$shared" "$migrations/001_payments.sql" "$migrations/020_payment_updates.sql" \
  "$migrations/021_payment_updates_per_statement.sql"
schema none "$migrations/001_payments.sql"

# payment-api's batch: one INSERT over arrays; users spread like the benchmark's 10,000.
cat >"$dir/batch.sql" <<EOF
\set first random(1, 10000)
INSERT INTO payments (id, order_id, user_id, amount, currency, status, idempotency_key, request_fingerprint)
SELECT gen_random_uuid(), gen_random_uuid(), 'u' || ((:first + i * 7919) % 10000), 100, 'KRW', 'COMPLETED',
       gen_random_uuid()::text, 'print'
FROM generate_series(1, $batch) i;
EOF

declare -A results
for round in $(seq "$rounds"); do
  for variant in row statement none; do
    tps=$(PGOPTIONS="-c search_path=$variant" "$pg_bin/pgbench" "$dsn" -n -M prepared -c "$clients" -j "$clients" \
            -T "$seconds" -f "$dir/batch.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    payments=$(python3 -c "print(round($tps * $batch))")
    echo "round $round  $variant  $payments payments/s"
    results[$variant]+="$payments "
  done
done
for variant in row statement none; do
  echo "median $variant $(python3 -c "import statistics,sys; print(round(statistics.median(map(float, sys.argv[1:]))))" ${results[$variant]}) payments/s ($batch-row statements, $clients clients, ${seconds}s x $rounds)"
done
