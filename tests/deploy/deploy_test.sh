#!/usr/bin/env bash
# The deploy tests (ctest label deploy), one step per ctest test:
#
#   deploy_test.sh lint                    helm lint --strict with each values file
#   deploy_test.sh validate <profile>      helm template, then every object strictly
#                                          decoded into its Kubernetes API type
#   deploy_test.sh policy <profile>        the chart's rules on the rendered objects
#   deploy_test.sh check-config <profile>  each daemon's check-config with the rendered env
#   deploy_test.sh auth-currency           PAYPIPE_CURRENCY, the JWKS mount and the
#                                          NetworkPolicies land where they should
#   deploy_test.sh rules                   the PrometheusRule (production values) checked and
#                                          unit-tested with promtool; every alert tested
#                                          firing and silent; every metric it uses exported;
#                                          docs/operations.md lists every metric and alert
#   deploy_test.sh dashboard               the Grafana dashboard ConfigMap: sidecar label,
#                                          valid JSON, every queried metric exported
#   deploy_test.sh negative                the checks above do catch broken input
#
# <profile> is local or production (k8s/values-<profile>.yaml). Needs PAYPIPE_SOURCE_DIR,
# PAYPIPE_BUILD_DIR and the tools linked into $PAYPIPE_BUILD_DIR/k8s-tools by the
# deploy.tools fixture (scripts/k8s-tools.sh). A missing tool or binary is a failure.
set -euo pipefail

src=${PAYPIPE_SOURCE_DIR:?PAYPIPE_SOURCE_DIR is not set}
build=${PAYPIPE_BUILD_DIR:?PAYPIPE_BUILD_DIR is not set}
tools="$build/k8s-tools"
helm="$tools/helm"
kubecheck="$tools/kubecheck"
promtool="$tools/promtool"
monitoring=("${PAYPIPE_PYTHON:-python3}" "$src/tests/deploy/monitoring_check.py")  # needs PyYAML
chart="$src/k8s/charts/paypipe"
out="$build/k8s-rendered"
release=paypipe
services=payment-api,order-processor,coupon-issuer,notification-sender,ranking-updater,data-platform-forwarder,dlq-retrier

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

for tool in "$helm" "$kubecheck" "$promtool"; do
  [[ -x $tool ]] || fail "$tool is missing: the deploy.tools test (scripts/k8s-tools.sh) did not install it; run it and read its output"
done
# Helm keeps its own state under the build directory, never in ~/.config or ~/.cache.
export HELM_CACHE_HOME="$build/k8s-tools/helm-home/cache" HELM_CONFIG_HOME="$build/k8s-tools/helm-home/config"
export HELM_DATA_HOME="$build/k8s-tools/helm-home/data"
mkdir -p "$out"

values_file() {
  local f="$src/k8s/values-$1.yaml"
  [[ -f $f ]] || fail "no values file $f"
  printf '%s' "$f"
}

# render <profile> <output name> [helm args...]: prints the path of the rendering.
render() {
  local profile=$1 name=$2; shift 2
  local file="$out/$name.yaml"
  "$helm" template "$release" "$chart" --namespace paypipe -f "$(values_file "$profile")" "$@" >"$file" \
    || fail "helm template with values-$profile.yaml $* failed"
  printf '%s' "$file"
}

# expect_failure <description> <pattern> <command...>: the command must fail and say <pattern>.
expect_failure() {
  local what=$1 pattern=$2; shift 2
  local output
  if output=$("$@" 2>&1); then
    fail "$what: the check passed but should have failed"
  fi
  grep -q -- "$pattern" <<<"$output" || fail "$what: failed without saying '$pattern':"$'\n'"$output"
  printf 'ok  caught: %s\n' "$what"
}

# doc <file> <kind> <name>: prints the rendered object of that kind and name.
doc() {
  awk -v kind="$2" -v name="$3" '
    /^---/ { if (k && n) printf "%s", buf; buf = ""; k = 0; n = 0; next }
    { buf = buf $0 "\n" }
    $0 == "kind: " kind { k = 1 }
    $0 == "  name: " name { n = 1 }
    END { if (k && n) printf "%s", buf }' "$1"
}

step=${1:-}
case "$step" in
  lint)
    for profile in local production; do
      "$helm" lint --strict "$chart" -f "$(values_file "$profile")" || fail "helm lint with values-$profile.yaml"
    done
    ;;
  validate)
    file=$(render "$2" "validate-$2")
    "$kubecheck" validate "$file"
    ;;
  policy)
    file=$(render "$2" "policy-$2")
    "$kubecheck" policy --release "$release" --profile "$2" --services "$services" --source-dir "$src" "$file"
    # The grace period follows the shutdown bound when either changes: 12 s preStop +
    # ceil(45.5 s) + 5 s margin = 63 s for payment-api, the others keep their own.
    file=$(render "$2" "policy-$2-shutdown" --set services.payment-api.shutdownTimeoutMs=45500 \
             --set shutdown.preStopSleepSeconds=12 --set shutdown.marginSeconds=5)
    "$kubecheck" policy --release "$release" --profile "$2" --services "$services" --source-dir "$src" "$file"
    grace=$(awk '/^kind: Deployment/{d=0} /name: paypipe-payment-api$/{d=1} d&&/terminationGracePeriodSeconds/{print $2; exit}' "$file")
    [[ $grace == 63 ]] || fail "payment-api's terminationGracePeriodSeconds is '$grace', expected 63 (12 + ceil(45.5) + 5)"
    grep -q 'PAYPIPE_SHUTDOWN_TIMEOUT_MS: "45500"' "$file" || fail "PAYPIPE_SHUTDOWN_TIMEOUT_MS 45500 is not rendered"
    echo "ok  terminationGracePeriodSeconds follows PAYPIPE_SHUTDOWN_TIMEOUT_MS (63 s for 45500 ms)"
    ;;
  auth-currency)
    # PAYPIPE_CURRENCY: one value for payment-api and order-processor, nowhere else.
    file=$(render production currency --set currency=USD)
    for svc in payment-api order-processor; do
      grep -q 'PAYPIPE_CURRENCY: "USD"' <<<"$(doc "$file" ConfigMap "$release-$svc")" \
        || fail "$svc's ConfigMap has no PAYPIPE_CURRENCY \"USD\""
    done
    grep -q PAYPIPE_CURRENCY <<<"$(doc "$file" ConfigMap "$release-coupon-issuer")" \
      && fail "coupon-issuer got PAYPIPE_CURRENCY, which it does not read"
    echo "ok  PAYPIPE_CURRENCY goes to payment-api and order-processor"
    # auth.enabled: the JWKS mounted and PAYPIPE_JWT_* set in the three public APIs only.
    file=$(render production auth --set auth.enabled=true)
    "$kubecheck" validate "$file"
    for svc in payment-api order-processor coupon-issuer; do
      cm=$(doc "$file" ConfigMap "$release-$svc")
      for want in 'PAYPIPE_JWT_JWKS_FILE: "/etc/paypipe/jwks/jwks.json"' \
                  'PAYPIPE_JWT_ISSUER: "https://login.example.com/"' 'PAYPIPE_JWT_AUDIENCE: "paypipe"'; do
        grep -qF "$want" <<<"$cm" || fail "$svc's ConfigMap lacks $want"
      done
      dep=$(doc "$file" Deployment "$release-$svc")
      grep -q 'mountPath: /etc/paypipe/jwks' <<<"$dep" || fail "$svc does not mount the JWKS"
      grep -q 'secretName: "paypipe-jwks"' <<<"$dep" || fail "$svc's JWKS volume is not the Secret paypipe-jwks"
    done
    for svc in notification-sender ranking-updater data-platform-forwarder dlq-retrier; do
      grep -q PAYPIPE_JWT_ <<<"$(doc "$file" ConfigMap "$release-$svc")" && fail "$svc got PAYPIPE_JWT_*"
      grep -q jwks <<<"$(doc "$file" Deployment "$release-$svc")" && fail "$svc mounts the JWKS"
    done
    grep -q 'mountPath: /etc/paypipe/jwks' <(doc "$file" Job "$release-migrate") \
      || fail "the migrate Job does not mount the JWKS its containers' configuration names"
    # The JWKS inline: the chart renders the ConfigMap and mounts it.
    printf '{"keys":[]}' >"$out/jwks.json"
    file=$(render production auth-inline --set auth.enabled=true --set auth.jwks.secretName= \
             --set-file "auth.jwks.json=$out/jwks.json")
    grep -q 'name: "paypipe-jwks"' <(doc "$file" Deployment "$release-payment-api") \
      || fail "auth.jwks.json does not mount the ConfigMap paypipe-jwks"
    grep -qF 'jwks.json: "{\"keys\":[]}"' <(doc "$file" ConfigMap "$release-jwks") \
      || fail "auth.jwks.json does not render the ConfigMap paypipe-jwks"
    "$kubecheck" validate "$file"
    echo "ok  auth.enabled mounts the JWKS (a Secret, or the chart's ConfigMap) and sets PAYPIPE_JWT_* in the three public APIs"
    # Off (the local profile): no PAYPIPE_JWT_* and no mount.
    file=$(render local auth-off)
    grep -q PAYPIPE_JWT_ "$file" && fail "auth is off but PAYPIPE_JWT_* is rendered"
    echo "ok  auth off: no PAYPIPE_JWT_*"
    # NetworkPolicy: one per daemon in production; the outside only for the two that call out.
    file=$(render production netpol)
    for svc in ${services//,/ }; do
      np=$(doc "$file" NetworkPolicy "$release-$svc")
      [[ -n $np ]] || fail "no NetworkPolicy for $svc"
      if [[ $svc == notification-sender || $svc == data-platform-forwarder ]]; then
        grep -q 'cidr: 0.0.0.0/0' <<<"$np" || fail "$svc cannot reach the outside (Telegram, the webhook)"
      else
        grep -q 'cidr: 0.0.0.0/0' <<<"$np" && fail "$svc may reach the internet"
      fi
      if [[ $svc == payment-api || $svc == order-processor || $svc == coupon-issuer ]]; then
        grep -q 'name: ingress-nginx' <<<"$np" || fail "$svc (public) does not admit the Ingress controller"
      else
        grep -q 'name: ingress-nginx' <<<"$np" && fail "$svc (internal) admits the Ingress controller"
      fi
    done
    grep -q '^kind: NetworkPolicy' "$(render local netpol-local)" && fail "values-local renders NetworkPolicies"
    echo "ok  one NetworkPolicy per daemon in production, none locally; outside egress for 2, Ingress controller for 3"
    # Kafka ACLs in production: the topics Job applies them; each daemon has its own principal.
    job=$(doc "$file" Job "$release-topics")
    grep -q 'args: \[acls, apply, --principal-format, "User:paypipe-{service}"\]' <<<"$job" \
      || fail "the topics Job does not run paypipe-admin acls apply"
    for svc in ${services//,/ }; do
      grep -q "name: \"paypipe-kafka-$svc\"" <<<"$(doc "$file" Deployment "$release-$svc")" \
        || fail "$svc does not read its own Kafka credentials (Secret paypipe-kafka-$svc)"
    done
    grep -q 'name: "paypipe-kafka-sasl"' <<<"$job" || fail "the topics Job does not use the super user's credentials"
    grep -q 'acls, apply' "$(render local acls-local)" && fail "values-local applies ACLs"
    echo "ok  production: the topics Job applies the ACLs, each daemon reads its own principal's Secret"
    ;;
  check-config)
    file=$(render "$2" "check-config-$2")
    "$kubecheck" check-config --bin-dir "$build/bin" "$file"
    ;;
  rules)
    file=$(render production rules)
    dir="$out/rules"
    rm -rf "$dir" && mkdir -p "$dir"
    "${monitoring[@]}" extract-rules "$file" "$dir/paypipe-rules.yaml"
    "$promtool" check rules "$dir/paypipe-rules.yaml" || fail "promtool check rules"
    cp "$src"/tests/deploy/testdata/rules/*.test.yaml "$dir/"
    "$promtool" test rules "$dir"/*.test.yaml || fail "promtool test rules (tests/deploy/testdata/rules)"
    "${monitoring[@]}" coverage "$dir/paypipe-rules.yaml" "$dir"/*.test.yaml
    "${monitoring[@]}" metrics --rules "$dir/paypipe-rules.yaml"
    "${monitoring[@]}" docs "$src/docs/operations.md" "$dir/paypipe-rules.yaml"
    ;;
  dashboard)
    file=$(render production dashboard)
    "${monitoring[@]}" extract-dashboard "$file" "$out/dashboard.json"
    "${monitoring[@]}" metrics --dashboard "$out/dashboard.json"
    # The label follows the values (a sidecar configured for another label), and the
    # dashboard is off when disabled.
    file=$(render production dashboard-label --set dashboard.labels.grafana_dashboard=paypipe)
    grep -q 'grafana_dashboard: paypipe' "$file" || fail "dashboard.labels did not reach the ConfigMap"
    file=$(render production dashboard-off --set dashboard.enabled=false)
    ! grep -q 'grafana_dashboard' "$file" || fail "dashboard.enabled=false still renders the dashboard"
    echo "ok  dashboard.labels reach the ConfigMap; dashboard.enabled=false renders none"
    ;;
  negative)
    data="$src/tests/deploy/testdata"
    # values.schema.json: a misspelt key of the values fails the rendering.
    expect_failure "misspelt values key" "replcas" \
      "$helm" template "$release" "$chart" -f "$(values_file local)" --set services.payment-api.replcas=2
    expect_failure "credential in a service's plain env" "looks like a credential" \
      "$helm" template "$release" "$chart" -f "$(values_file local)" --set services.payment-api.env.PAYPIPE_ADMIN_TOKEN=x
    expect_failure "Ingress for an internal service" "only payment-api, order-processor, coupon-issuer" \
      "$helm" template "$release" "$chart" -f "$(values_file local)" --set services.dlq-retrier.ingress.enabled=true
    # The validator: strict decoding and references between objects.
    expect_failure "misspelt field" 'unknown field "spec.template.spec.containers\[0\].imagePullPolcy"' \
      "$kubecheck" validate "$data/misspelt-field.yaml"
    expect_failure "field in the wrong case" 'unknown field "spec.template.spec.containers\[0\].ImagePullPolicy"' \
      "$kubecheck" validate "$data/wrong-case-field.yaml"
    expect_failure "number where the API wants a string" "cannot unmarshal number" \
      "$kubecheck" validate "$data/wrong-type.yaml"
    expect_failure "duplicate key" "already set in map" \
      "$kubecheck" validate "$data/duplicate-key.yaml"
    expect_failure "unknown kind" "is not a type kubecheck knows" \
      "$kubecheck" validate "$data/unknown-kind.yaml"
    expect_failure "probe on an undeclared port" 'names port "metrics"' \
      "$kubecheck" validate "$data/dangling-references.yaml"
    expect_failure "Service selecting no pods" "matches no rendered pod template" \
      "$kubecheck" validate "$data/dangling-references.yaml"
    expect_failure "ServiceMonitor field misspelt" 'unknown field "spec.endpoints\[0\].intervall"' \
      "$kubecheck" validate "$data/servicemonitor-typo.yaml"
    # The policy: each rule catches its own mistake.
    for rule in "no readinessProbe" "runAsNonRoot must be true" "runAsUser must be set to a non-zero uid" \
                "readOnlyRootFilesystem must be true" "does not come from a secretKeyRef" \
                "holds what looks like a credential" "terminationGracePeriodSeconds 20 is not above" \
                "enableServiceLinks must be false" "no Job runs \`paypipe-admin topics create\`"; do
      expect_failure "policy: $rule" "$rule" \
        "$kubecheck" policy --release "$release" --profile local --services payment-api "$data/policy-violations.yaml"
    done
    file=$(render local negative-ingress-path --set services.payment-api.ingress.enabled=true \
             --set 'services.payment-api.ingress.paths={/v1/payments,/v1/nothere}')
    expect_failure "policy: Ingress path that is no route" "path /v1/nothere matches no route of payment-api" \
      "$kubecheck" policy --release "$release" --profile local --services "$services" --source-dir "$src" "$file"
    # Admin routes stay off the Ingress; NetworkPolicies hold in production.
    file=$(render local negative-admin-ingress --set services.order-processor.ingress.enabled=true \
             --set 'services.order-processor.ingress.paths={/v1/orders,/v1/admin}')
    expect_failure "policy: admin route on the Ingress" "admin routes stay off the Ingress" \
      "$kubecheck" policy --release "$release" --profile local --services "$services" --source-dir "$src" "$file"
    file=$(render production negative-no-netpol --set networkPolicy.enabled=false)
    expect_failure "policy: production without NetworkPolicies" "no NetworkPolicy is rendered" \
      "$kubecheck" policy --release "$release" --profile production --services "$services" --source-dir "$src" "$file"
    file=$(render production negative-netpol-internet --set 'networkPolicy.kafka.to[0].ipBlock.cidr=0.0.0.0/0')
    expect_failure "policy: internet egress for a daemon that does not call out" "outside the private networks" \
      "$kubecheck" policy --release "$release" --profile production --services "$services" --source-dir "$src" "$file"
    expect_failure "auth without a key set" "set exactly one of json, secretName and configMapName" \
      "$helm" template "$release" "$chart" -f "$(values_file production)" --set auth.enabled=true \
      --set auth.jwks.secretName=
    expect_failure "ACLs without SASL" "kafka.acls.enabled needs kafka.securityProtocol SASL_" \
      "$helm" template "$release" "$chart" -f "$(values_file local)" --set kafka.acls.enabled=true
    expect_failure "currency that is no ISO 4217 code" "currency" \
      "$helm" template "$release" "$chart" -f "$(values_file local)" --set currency=won
    # check-config: a variable no daemon reads makes the daemon refuse, and the test fail.
    file=$(render local negative-unknown-variable --set services.payment-api.env.PAYPIPE_PAYMENT_BATCH_SIZ=8)
    expect_failure "misspelt PAYPIPE_ variable" "PAYPIPE_PAYMENT_BATCH_SIZ: unknown variable" \
      "$kubecheck" check-config --bin-dir "$build/bin" "$file"
    file=$(render local negative-bad-value --set services.payment-api.env.PAYPIPE_PAYMENT_WORKERS=lots)
    expect_failure "bad value" "PAYPIPE_PAYMENT_WORKERS: must be an integer" \
      "$kubecheck" check-config --bin-dir "$build/bin" "$file"
    # Monitoring: a metric the code does not export, in a dashboard query or in a rule.
    expect_failure "dashboard query on an unknown metric" "unknown metric http_server_request_total" \
      "${monitoring[@]}" metrics --dashboard "$data/monitoring/unknown-metric-dashboard.json"
    expect_failure "histogram queried without _bucket" "unknown metric outbox_relay_lag_seconds (a histogram" \
      "${monitoring[@]}" metrics --dashboard "$data/monitoring/unknown-metric-dashboard.json"
    expect_failure "rule on an unknown metric" "unknown metric kube_deployment_status_replicas_unavailble" \
      "${monitoring[@]}" metrics --rules "$data/monitoring/unknown-metric-rules.yaml"
    expect_failure "dashboard that is not JSON" "not valid JSON" \
      "${monitoring[@]}" metrics --dashboard "$data/monitoring/invalid.json"
    # promtool: a wrong expectation fails, and an alert without a silent case is reported.
    dir="$out/negative-rules"
    rm -rf "$dir" && mkdir -p "$dir"
    cp "$data/monitoring/wrong-expectation.test.yaml" "$data/monitoring/unknown-metric-rules.yaml" "$dir/"
    expect_failure "promtool test with a wrong expectation" "PaypipeNotReady" \
      "$promtool" test rules "$dir/wrong-expectation.test.yaml"
    expect_failure "alert with no silent test case" "alert PaypipeNotReady: no alert_rule_test where it stays silent" \
      "${monitoring[@]}" coverage "$dir/unknown-metric-rules.yaml" "$dir/wrong-expectation.test.yaml"
    ;;
  *)
    fail "unknown step '$step' (lint | validate <profile> | policy <profile> | check-config <profile> | auth-currency | rules | dashboard | negative)"
    ;;
esac
