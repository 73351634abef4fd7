#!/usr/bin/env bash
# paypipe-admin's command line: a bad flag or value exits 2 with the usage on stderr
# (never a silent default); every documented form still parses. No Kafka or
# PostgreSQL is needed: the parse happens before anything connects, and the forms that
# parse are stopped by an empty environment (exit 2 naming the missing variable) or
# run offline (keygen, jwks, token).
set -uo pipefail
admin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect() {  # expect <code> <what> <usage|env|-> -- args...: the exit code, and what stderr must name
  local want=$1 what=$2 names=$3; shift 4
  env -i PATH="$PATH" "$admin" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local pattern=
  case $names in
    usage) pattern="usage: paypipe-admin" ;;
    env) pattern="PAYPIPE_KAFKA_BOOTSTRAP_SERVERS\|PAYPIPE_PG_DSN" ;;
  esac
  if [[ $got -ne $want ]]; then
    echo "FAIL: $what: paypipe-admin $*: exit $got, want $want"; cat "$tmp/err"; failures=$((failures + 1))
  elif [[ -n $pattern ]] && ! grep -q "$pattern" "$tmp/err"; then
    echo "FAIL: $what: paypipe-admin $*: stderr does not name $names"; cat "$tmp/err"; failures=$((failures + 1))
  fi
}

expect 2 "no command" usage --
expect 2 "unknown command" usage -- topicz
expect 2 "topics without a subcommand" usage -- topics
expect 2 "a number that is not one" usage -- topics create --partitions three
expect 2 "a number with junk" usage -- topics create --partitions 3x
expect 2 "zero partitions" usage -- topics create --partitions 0
expect 2 "a flag without its value" usage -- topics create --replication
expect 2 "an unknown flag" usage -- topics create --partitons 3
expect 2 "a timeout that is not a number" usage -- wait-for-kafka --timeout-ms soon
expect 2 "outbox list limit" usage -- outbox list --limit -5
expect 2 "requeue both --all and ids" usage -- outbox requeue --schema s --all id1
expect 2 "acls with a bad principal format" usage -- acls apply --principal-format paypipe
expect 2 "token without --sub" usage -- token --key "$tmp/key.pem" --iss i --aud a
expect 2 "token with an unknown flag" usage -- token --key "$tmp/key.pem" --sub u --iss i --aud a --tll 5
expect 2 "token with a non-numeric ttl" usage -- token --key "$tmp/key.pem" --sub u --iss i --aud a --ttl 1h
expect 2 "keygen with an unknown algorithm" usage -- keygen --out "$tmp/key.pem" --alg HS512
expect 2 "groups describe without a group" usage -- groups describe
expect 2 "reset-offsets without a target" usage -- groups reset-offsets payment-api
expect 2 "reset-offsets to two targets" usage -- groups reset-offsets payment-api --to-earliest --to-latest
expect 2 "reset-offsets to a partition without an offset" usage -- groups reset-offsets payment-api --topic t --partition 1
expect 2 "reset-offsets to a partition without a topic" usage -- groups reset-offsets payment-api --partition 1 --offset 5
expect 2 "reset-offsets to a time that is not one" usage -- groups reset-offsets payment-api --to-datetime yesterday
expect 0 "help" - -- --help

# The documented forms parse (then stop at the empty environment: exit 2 naming it).
expect 2 "topics create, as the Job runs it" env -- topics create --partitions 3 --replication 1 --min-insync 1
expect 2 "wait-for-kafka, as the Job runs it" env -- wait-for-kafka --timeout-ms 120000
expect 2 "acls apply, as the Job runs it" env -- acls apply --principal-format 'User:paypipe-{service}'
expect 2 "groups describe" env -- groups describe notification-sender
expect 2 "groups reset-offsets to a time" env -- groups reset-offsets notification-sender --to-datetime 2027-01-15T08:00:00Z
expect 2 "groups reset-offsets past a record" env -- groups reset-offsets notification-sender --topic payment.completed --partition 2 --offset 4712
expect 2 "outbox requeue with ids" env -- outbox requeue --schema payment_api id1 id2

# A consumer group from configuration is checked with the naming, before anything connects:
# one of ours, or an unknown topic, is refused naming the variable.
env -i PATH="$PATH" PAYPIPE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 \
  PAYPIPE_EXTRA_CONSUMER_GROUPS='notification-sender=payment.failed;email-sender=payment.complete' \
  "$admin" topics create >"$tmp/out" 2>"$tmp/err"
got=$?
if [[ $got -ne 2 ]] || [[ $(grep -c '^  PAYPIPE_EXTRA_CONSUMER_GROUPS: ' "$tmp/err") -ne 2 ]]; then
  echo "FAIL: PAYPIPE_EXTRA_CONSUMER_GROUPS refused: exit $got, want 2 and one line per problem"; cat "$tmp/err"
  failures=$((failures + 1))
fi

# Offline commands run for real.
expect 0 "keygen" - -- keygen --out "$tmp/key.pem" --alg ES256
expect 0 "jwks" - -- jwks --key "$tmp/key.pem" --kid k1
expect 0 "token with a negative not-before" - -- token --key "$tmp/key.pem" --kid k1 --sub alice --iss i --aud a --ttl 60 --not-before -30
grep -q '^ey' "$tmp/out" || { echo "FAIL: token printed no JWT"; failures=$((failures + 1)); }

if [[ $failures -ne 0 ]]; then echo "$failures failure(s)"; exit 1; fi
echo "paypipe-admin command line: ok"
