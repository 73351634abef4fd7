#!/usr/bin/env bash
# The deploy tests (ctest label deploy), one step per ctest test:
#
#   deploy_test.sh lint                    helm lint --strict with each values file
#   deploy_test.sh validate <profile>      helm template, then every object strictly
#                                          decoded into its Kubernetes API type
#   deploy_test.sh policy <profile>        the chart's rules on the rendered objects
#   deploy_test.sh check-config <profile>  each daemon's check-config with the rendered env
#   deploy_test.sh retry                   retry settings in Spring's terms reach each daemon,
#                                          which accepts them; wrong combinations are refused
#   deploy_test.sh naming                  k8s/values-spring-names.yaml (and a name on top),
#                                          and a consumer group of extraConsumerGroups,
#                                          reach every daemon, the topics Job and the
#                                          exporter's group filter; the daemons accept them
#   deploy_test.sh auth-currency           PAYPIPE_CURRENCY, the JWKS mount and the
#                                          NetworkPolicies land where they should
#   deploy_test.sh rules                   the PrometheusRule (production values) checked and
#                                          unit-tested with promtool; every alert tested
#                                          firing and silent; every metric it uses exported;
#                                          docs/operations.md lists every metric and alert
#   deploy_test.sh dashboard               the Grafana dashboard ConfigMap: sidecar label,
#                                          valid JSON, every queried metric exported
#   deploy_test.sh chart-values            image.digest, serviceAccount, global (as a subchart),
#                                          extraEnv/extraVolumes/extraVolumeMounts, secretFiles,
#                                          topology spread, postgres.tls, kafka.tls, KEDA,
#                                          kafka-exporter
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
  naming)
    # Names from configuration (docs/operations.md, "Naming topics and groups"): the
    # spring values file and one name on top, rendered into every Kafka user.
    file=$(render production naming -f "$src/k8s/values-spring-names.yaml" \
             --set 'naming.topics.order\.completed=order-complete' --set kafkaExporter.enabled=true)
    for svc in ${services//,/ }; do
      cm=$(doc "$file" ConfigMap "$release-$svc")
      for want in 'PAYPIPE_NAMING_PROFILE: "spring"' 'PAYPIPE_TOPIC_NAMES: "order.completed=order-complete"' \
                  'ranking-updater=ranking-update-group'; do
        grep -qF "$want" <<<"$cm" || fail "$svc's ConfigMap lacks $want"
      done
    done
    job=$(doc "$file" Job "$release-topics")
    grep -A1 -F 'name: PAYPIPE_NAMING_PROFILE' <<<"$job" | grep -qF '"spring"' \
      || fail "the topics Job does not get PAYPIPE_NAMING_PROFILE=spring"
    grep -A1 -F 'name: PAYPIPE_TOPIC_NAMES' <<<"$job" | grep -qF 'order.completed=order-complete' \
      || fail "the topics Job does not get PAYPIPE_TOPIC_NAMES"
    grep -qF -- '--group.filter=^(coupon-group|data-platform-group|dlq-retry-group|payment-notification|order-group|payment-group|ranking-update-group)$' "$file" \
      || fail "the kafka-exporter's group filter does not name the groups as configured"
    "$kubecheck" check-config --bin-dir "$build/bin" "$file" >/dev/null || fail "check-config with the spring names"
    echo "ok  naming: the spring names and an override reach every daemon, the topics Job and the exporter"
    # A consumer group beyond ours, by configuration only (extraConsumerGroups): the variable
    # goes wherever the naming goes, so a name given to it in naming.groups is known everywhere.
    file=$(render production naming-extra -f "$src/k8s/values-spring-names.yaml" \
             --set 'extraConsumerGroups.email-sender.topics={payment.completed,order.refunded}' \
             --set 'naming.groups.email-sender=email-group' --set kafkaExporter.enabled=true)
    want='PAYPIPE_EXTRA_CONSUMER_GROUPS: "email-sender=payment.completed,order.refunded"'
    for svc in ${services//,/ }; do
      doc "$file" ConfigMap "$release-$svc" | grep -qF "$want" || fail "$svc's ConfigMap lacks $want"
    done
    job=$(doc "$file" Job "$release-topics")
    grep -A1 -F 'name: PAYPIPE_EXTRA_CONSUMER_GROUPS' <<<"$job" | grep -qF '"email-sender=payment.completed,order.refunded"' \
      || fail "the topics Job does not get PAYPIPE_EXTRA_CONSUMER_GROUPS"
    grep -qF -- '|ranking-update-group|email-group)$' "$file" \
      || fail "the kafka-exporter's group filter does not name the configured group as configured"
    "$kubecheck" check-config --bin-dir "$build/bin" "$file" >/dev/null || fail "check-config with a configured group"
    echo "ok  naming: a configured consumer group reaches every daemon, the topics Job and the exporter"
    expect_failure "a configured group without topics" "extraConsumerGroups" \
      render production naming-extra-bad --set 'extraConsumerGroups.email-sender.topics=null'
    expect_failure "a name with ';'" "naming.topics" \
      render production naming-bad --set 'naming.topics.order\.created=a;b'
    ;;
  retry)
    # Retries in Spring's terms: the chart's defaults are the Spring services' (FixedBackOff(1000, 3)
    # in process; 3 re-deliveries 5 minutes apart), the forwarder's own exponential policy merges
    # over them, and no deprecated attempts-in-all variable is rendered.
    file=$(render production retry-defaults --set-json 'retry={"backoff":"fixed","maxRetries":3,"intervalMs":1000}' \
             --set-json 'dlqRetrier={"maxRetries":3,"backoff":"fixed","intervalMs":300000,"multiplier":null,"maxIntervalMs":null}')
    for svc in payment-api order-processor coupon-issuer notification-sender ranking-updater; do
      cm=$(doc "$file" ConfigMap "$release-$svc")
      for want in 'PAYPIPE_RETRY_BACKOFF: "fixed"' 'PAYPIPE_RETRY_MAX_RETRIES: "3"' 'PAYPIPE_RETRY_INTERVAL_MS: "1000"'; do
        grep -qF "$want" <<<"$cm" || fail "$svc's ConfigMap lacks $want"
      done
      grep -q 'PAYPIPE_RETRY_MULTIPLIER\|PAYPIPE_RETRY_MAX_INTERVAL_MS' <<<"$cm" \
        && fail "$svc got an exponential-only setting under a fixed backoff"
    done
    cm=$(doc "$file" ConfigMap "$release-data-platform-forwarder")
    for want in 'PAYPIPE_RETRY_BACKOFF: "exponential"' 'PAYPIPE_RETRY_MAX_RETRIES: "4"' 'PAYPIPE_RETRY_INTERVAL_MS: "1000"'; do
      grep -qF "$want" <<<"$cm" || fail "data-platform-forwarder's ConfigMap lacks $want"
    done
    cm=$(doc "$file" ConfigMap "$release-dlq-retrier")
    for want in 'PAYPIPE_RETRIER_BACKOFF: "fixed"' 'PAYPIPE_RETRIER_MAX_RETRIES: "3"' 'PAYPIPE_RETRIER_INTERVAL_MS: "300000"'; do
      grep -qF "$want" <<<"$cm" || fail "dlq-retrier's ConfigMap lacks $want"
    done
    grep -q 'PAYPIPE_RETRY_' <<<"$cm" && fail "dlq-retrier got a consumer's PAYPIPE_RETRY_* (or a deprecated name)"
    grep -qE 'PAYPIPE_RETRY_(MAX_ATTEMPTS|INITIAL_DELAY_MS|MULTIPLIER_PERCENT|MAX_DELAY_MS|DELAY_MS|DELAYS)\b' "$file" \
      && fail "a deprecated retry variable is rendered"
    "$kubecheck" check-config --bin-dir "$build/bin" "$file" >/dev/null || fail "check-config with the Spring defaults"
    echo "ok  retries: FixedBackOff(1000, 3) for the consumers, the forwarder's exponential 4, dlq-retrier 3 x 5 min"
    # Exponential with its multiplier and cap, and dlq-retrier's per-group intervals.
    file=$(render production retry-exponential --set retry.backoff=exponential --set-json retry.multiplier=1.5 \
             --set retry.maxIntervalMs=30000 --set dlqRetrier.groupIntervalsMs.notification-sender=60000)
    cm=$(doc "$file" ConfigMap "$release-ranking-updater")
    for want in 'PAYPIPE_RETRY_BACKOFF: "exponential"' 'PAYPIPE_RETRY_MULTIPLIER: "1.5"' 'PAYPIPE_RETRY_MAX_INTERVAL_MS: "30000"'; do
      grep -qF "$want" <<<"$cm" || fail "ranking-updater's ConfigMap lacks $want"
    done
    grep -qF 'PAYPIPE_RETRIER_GROUP_INTERVALS: "notification-sender=60000"' <(doc "$file" ConfigMap "$release-dlq-retrier") \
      || fail "dlqRetrier.groupIntervalsMs is not rendered as PAYPIPE_RETRIER_GROUP_INTERVALS"
    "$kubecheck" check-config --bin-dir "$build/bin" "$file" >/dev/null || fail "check-config with an exponential backoff"
    echo "ok  retries: exponential settings and group intervals reach the daemons, which accept them"
    # A multiplier under a fixed backoff: the chart refuses it by name; an old key: the schema does.
    expect_failure "a multiplier with a fixed backoff" "services.notification-sender.retry: multiplier and maxIntervalMs need backoff: exponential" \
      "$helm" template "$release" "$chart" -f "$(values_file production)" --set retry.backoff=fixed \
      --set services.notification-sender.retry.multiplier=2
    expect_failure "the old retry.maxAttempts key" "maxAttempts" \
      "$helm" template "$release" "$chart" -f "$(values_file production)" --set retry.maxAttempts=3
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
    # auth.enabled: the JWKS mounted and PAYPIPE_JWT_* set in the four public APIs only.
    file=$(render production auth --set auth.enabled=true)
    "$kubecheck" validate "$file"
    for svc in payment-api order-processor coupon-issuer notification-sender; do
      cm=$(doc "$file" ConfigMap "$release-$svc")
      for want in 'PAYPIPE_JWT_JWKS_FILE: "/etc/paypipe/jwks/jwks.json"' \
                  'PAYPIPE_JWT_ISSUER: "https://login.example.com/"' 'PAYPIPE_JWT_AUDIENCE: "paypipe"'; do
        grep -qF "$want" <<<"$cm" || fail "$svc's ConfigMap lacks $want"
      done
      dep=$(doc "$file" Deployment "$release-$svc")
      grep -q 'mountPath: /etc/paypipe/jwks' <<<"$dep" || fail "$svc does not mount the JWKS"
      grep -q 'secretName: "paypipe-jwks"' <<<"$dep" || fail "$svc's JWKS volume is not the Secret paypipe-jwks"
    done
    for svc in ranking-updater data-platform-forwarder dlq-retrier; do
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
    echo "ok  auth.enabled mounts the JWKS (a Secret, or the chart's ConfigMap) and sets PAYPIPE_JWT_* in the four public APIs"
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
      grep -qE "name: \"?paypipe-kafka-$svc\"?\$" <<<"$(doc "$file" Deployment "$release-$svc")" \
        || fail "$svc does not read its own Kafka credentials (Secret paypipe-kafka-$svc)"
    done
    grep -qE 'name: "?paypipe-kafka-sasl"?$' <<<"$job" || fail "the topics Job does not use the super user's credentials"
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
    # Without kafka-exporter the lag alert reads the consumers' own consumer_lag
    # (self-reported-lag.test.yaml), and the exporter's alerts are not rendered.
    file=$(render production rules-self-reported --set kafkaExporter.enabled=false)
    "${monitoring[@]}" extract-rules "$file" "$dir/paypipe-rules-self-reported.yaml"
    "$promtool" check rules "$dir/paypipe-rules-self-reported.yaml" || fail "promtool check rules (no exporter)"
    grep -q 'kafka_' "$dir/paypipe-rules-self-reported.yaml" && fail "kafkaExporter.enabled=false still renders rules on its metrics"
    cp "$src"/tests/deploy/testdata/rules/*.test.yaml "$dir/"
    "$promtool" test rules "$dir"/*.test.yaml || fail "promtool test rules (tests/deploy/testdata/rules)"
    "${monitoring[@]}" coverage "$dir/paypipe-rules.yaml" "$dir"/*.test.yaml
    "${monitoring[@]}" metrics --rules "$dir/paypipe-rules.yaml" --rules "$dir/paypipe-rules-self-reported.yaml"
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
  chart-values)
    # The values that fit the chart to a real cluster (issue 15, item 5), each rendered,
    # validated, and where it changes pods, held to the policy.
    check() { "$kubecheck" validate "$1" >/dev/null && "$kubecheck" policy --release "$release" --profile "$2" \
                --services "$services" --source-dir "$src" "$1" >/dev/null || fail "$3: kubecheck validate/policy"; }
    digest=sha256:$(printf '%064d' 7)
    # image.digest: repository@digest everywhere the image runs; the tag no more.
    file=$(render production digest --set image.digest="$digest")
    [[ $(grep -c "image: registry.example.com/paypipe/paypipe@$digest" "$file") -ge 10 ]] \
      || fail "image.digest does not reach every daemon and hook container"
    grep -q 'image: registry.example.com/paypipe/paypipe:' "$file" && fail "image.digest set but a tag is still used"
    check "$file" production "image.digest"
    expect_failure "image.digest that is no sha256 digest" "digest" \
      "$helm" template "$release" "$chart" -f "$(values_file production)" --set image.digest=latest
    echo "ok  image.digest: every paypipe container runs repository@sha256:..."
    # serviceAccount: created (production) with its annotations, no token, used by the
    # daemons; an existing one by name is used by the hook Jobs too.
    file=$(render production sa --set-string 'serviceAccount.annotations.iam\.gke\.io/gcp-service-account=paypipe@p.iam.gserviceaccount.com')
    sa=$(doc "$file" ServiceAccount "$release-paypipe")
    grep -q 'iam.gke.io/gcp-service-account: paypipe@p.iam.gserviceaccount.com' <<<"$sa" || fail "serviceAccount.annotations not on the ServiceAccount"
    grep -q 'automountServiceAccountToken: false' <<<"$sa" || fail "the ServiceAccount mounts an API token"
    for svc in ${services//,/ }; do
      grep -q "serviceAccountName: $release-paypipe" <<<"$(doc "$file" Deployment "$release-$svc")" \
        || fail "$svc does not run as the ServiceAccount $release-paypipe"
    done
    grep -q serviceAccountName <<<"$(doc "$file" Job "$release-migrate")" && fail "a hook Job names the ServiceAccount created after it"
    check "$file" production "serviceAccount.create"
    file=$(render production sa-existing --set serviceAccount.create=false --set serviceAccount.name=workload)
    grep -q '^kind: ServiceAccount' "$file" && fail "serviceAccount.create=false renders a ServiceAccount"
    [[ $(grep -c 'serviceAccountName: workload' "$file") == 9 ]] || fail "the existing ServiceAccount is not used by the 7 daemons and 2 hook Jobs"
    grep -q serviceAccountName "$(render local sa-none)" && fail "no serviceAccount values, yet a serviceAccountName"
    echo "ok  serviceAccount: created with its annotations and no token, or an existing one by name (hook Jobs too)"
    # global: accepted by the schema, as a subchart gets it from its parent; and the chart
    # rendered as a dependency of another chart, with the production values under its name.
    render production global --set global.imageRegistry=registry.example.com --set global.anything.nested=1 >/dev/null
    parent="$out/parent-chart"
    rm -rf "$parent" && mkdir -p "$parent/charts"
    cp -r "$chart" "$parent/charts/paypipe"
    printf 'apiVersion: v2\nname: platform\nversion: 1.0.0\ndependencies:\n  - name: paypipe\n    version: "*"\n' >"$parent/Chart.yaml"
    "${PAYPIPE_PYTHON:-python3}" -c 'import sys, yaml
values = yaml.safe_load(open(sys.argv[1]))
yaml.safe_dump({"global": {"imageRegistry": "registry.example.com"}, "paypipe": values}, open(sys.argv[2], "w"))' \
      "$(values_file production)" "$parent/values.yaml"
    "$helm" template "$release" "$parent" --namespace paypipe >"$out/subchart.yaml" || fail "the chart as a subchart does not render"
    check "$out/subchart.yaml" production "as a subchart"
    echo "ok  global: accepted; the chart renders and validates as a subchart of another chart"
    # extraEnv, extraVolumes, extraVolumeMounts: global, then per service, in the daemon
    # and its migrate container alike (the policy compares the two).
    file=$(render production extras \
      --set-json 'extraEnv=[{"name":"PGSSLCRL","value":"/etc/ssl/corp/crl.pem"}]' \
      --set-json 'extraVolumes=[{"name":"corp-ca","secret":{"secretName":"corp-ca"}}]' \
      --set-json 'extraVolumeMounts=[{"name":"corp-ca","mountPath":"/etc/ssl/corp","readOnly":true}]' \
      --set-json 'services.payment-api.extraEnv=[{"name":"PAYPIPE_HTTP_WORKERS","value":"8"}]' \
      --set-json 'services.payment-api.extraVolumes=[{"name":"spool","emptyDir":{"sizeLimit":"16Mi"}}]' \
      --set-json 'services.payment-api.extraVolumeMounts=[{"name":"spool","mountPath":"/var/spool/paypipe"}]')
    dep=$(doc "$file" Deployment "$release-payment-api")
    for want in 'name: PGSSLCRL' 'name: PAYPIPE_HTTP_WORKERS' 'mountPath: /etc/ssl/corp' 'mountPath: /var/spool/paypipe' \
                'secretName: corp-ca' 'name: spool'; do
      grep -q "$want" <<<"$dep" || fail "payment-api lacks $want (extraEnv/extraVolumes/extraVolumeMounts)"
    done
    dep=$(doc "$file" Deployment "$release-order-processor")
    grep -q 'name: PGSSLCRL' <<<"$dep" && grep -q 'mountPath: /etc/ssl/corp' <<<"$dep" || fail "order-processor lacks the global extras"
    grep -q 'PAYPIPE_HTTP_WORKERS\|/var/spool/paypipe' <<<"$dep" && fail "payment-api's own extras reached order-processor"
    job=$(doc "$file" Job "$release-migrate")
    [[ $(grep -c 'mountPath: /etc/ssl/corp' <<<"$job") == 7 ]] || fail "the migrate containers do not mount the global extra volume"
    [[ $(grep -c 'name: corp-ca$' <<<"$job") == 8 ]] || fail "the migrate pod has not exactly one corp-ca volume (7 mounts + 1 volume)"
    check "$file" production "extras"
    "$kubecheck" check-config --bin-dir "$build/bin" "$file" >/dev/null || fail "check-config with extraEnv"
    echo "ok  extraEnv/extraVolumes/extraVolumeMounts: global to every daemon, per service to its own, migrate containers alike"
    # secretFiles: every credential of the daemons and both hook Jobs as a file of the same
    # Secret key (PAYPIPE_<X>_FILE, a read-only projected volume, 0440) instead of a
    # secretKeyRef variable, and nothing else changed (kubecheck secret-files); the daemons
    # and paypipe-admin read the files (check-config writes dummy ones where the paths
    # point). Off, no credential's file is rendered.
    for profile in local production; do
      off=$(render "$profile" "secret-files-off-$profile" --set secretFiles.enabled=false)
      on=$(render "$profile" "secret-files-on-$profile" --set secretFiles.enabled=true)
      "$kubecheck" secret-files "$off" "$on" || fail "secretFiles ($profile): the renderings differ in more than the credentials' files"
      grep -qE 'name: PAYPIPE_[A-Z0-9_]*(PASSWORD|USERNAME|TOKEN|SECRET|AUTHORIZATION)_FILE$|secret-files' "$off" && fail "secretFiles off ($profile) still renders a credential's file"
      [[ $(grep -c secretKeyRef "$on") == $(doc "$on" Deployment "$release-kafka-exporter" | grep -c secretKeyRef) ]] \
        || fail "secretFiles on ($profile): a secretKeyRef is left beyond kafka-exporter's (not ours: it takes flags)"
      grep -A2 'name: secret-files-payment-api$' <(doc "$on" Deployment "$release-payment-api") | grep -q 'defaultMode: 288' \
        || fail "secretFiles ($profile): payment-api's credentials are not mounted 0440"
      check "$on" "$profile" "secretFiles ($profile)"
      "$kubecheck" check-config --bin-dir "$build/bin" "$on" >/dev/null || fail "check-config with secretFiles ($profile)"
    done
    [[ $(grep -c 'name: secret-files$' <<<"$(doc "$on" Job "$release-topics")") == 4 ]] \
      || fail "the topics Job's three paypipe-admin containers do not mount their Kafka credentials' files"
    cmp -s "$(render local secret-files-default)" "$(render local secret-files-off-again --set secretFiles.enabled=false)" \
      || fail "secretFiles.enabled=false is not the default rendering"
    echo "ok  secretFiles: every credential a file of the same Secret key (daemons, migrate, topics), nothing else changed; off renders none"
    # Topology spread per component: a constraint without a labelSelector gets the
    # service's own; one with a labelSelector keeps it.
    file=$(render production spread)
    grep -A8 'topologySpreadConstraints:' <<<"$(doc "$file" Deployment "$release-ranking-updater")" \
      | grep -q 'app.kubernetes.io/component: ranking-updater' || fail "ranking-updater's spread constraint does not select its own pods"
    file=$(render production spread-own --set-json \
      'services.payment-api.topologySpreadConstraints=[{"maxSkew":2,"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"tier":"api"}}}]')
    dep=$(doc "$file" Deployment "$release-payment-api")
    grep -q 'topologyKey: kubernetes.io/hostname' <<<"$dep" && grep -q 'tier: api' <<<"$dep" \
      || fail "services.payment-api.topologySpreadConstraints did not replace the default with its own selector"
    check "$file" production "topologySpreadConstraints"
    echo "ok  topologySpreadConstraints: per service, the service's own selector unless one is given"
    # postgres.tls: the production example's root certificate, mounted and named in the DSN.
    file=$(render production pg-tls)
    want='PAYPIPE_PG_DSN: "postgresql://paypipe@postgres.example.internal:5432/paypipe?sslmode=verify-full&sslrootcert=/etc/paypipe/postgres-tls/ca.crt"'
    for svc in ${services//,/ }; do
      grep -qF "$want" <<<"$(doc "$file" ConfigMap "$release-$svc")" || fail "$svc's DSN does not name the mounted root certificate"
      dep=$(doc "$file" Deployment "$release-$svc")
      grep -q 'mountPath: /etc/paypipe/postgres-tls' <<<"$dep" && grep -q 'secretName: paypipe-postgres-ca' <<<"$dep" \
        || fail "$svc does not mount the Secret paypipe-postgres-ca"
    done
    [[ $(grep -c 'mountPath: /etc/paypipe/postgres-tls' <<<"$(doc "$file" Job "$release-migrate")") == 7 ]] \
      || fail "the migrate containers do not mount the PostgreSQL root certificate"
    file=$(render production pg-tls-client --set postgres.tls.certKey=tls.crt --set postgres.tls.keyKey=tls.key \
             --set 'postgres.dsn=host=pg.internal dbname=paypipe user=paypipe sslmode=verify-full')
    grep -qF 'PAYPIPE_PG_DSN: "host=pg.internal dbname=paypipe user=paypipe sslmode=verify-full sslcert=/etc/paypipe/postgres-tls/tls.crt sslkey=/etc/paypipe/postgres-tls/tls.key sslrootcert=/etc/paypipe/postgres-tls/ca.crt"' "$file" \
      || fail "postgres.tls client certificate and key are not in a key=value DSN"
    check "$file" production "postgres.tls"
    expect_failure "postgres.tls key in a ConfigMap" "belongs in a Secret" \
      "$helm" template "$release" "$chart" -f "$(values_file production)" --set postgres.tls.secretName= \
      --set postgres.tls.configMapName=pg-ca --set postgres.tls.keyKey=tls.key
    expect_failure "postgres.tls and a DSN with its own sslrootcert" "already sets sslrootcert" \
      "$helm" template "$release" "$chart" -f "$(values_file production)" \
      --set 'postgres.dsn=postgresql://paypipe@pg/paypipe?sslmode=verify-full&sslrootcert=/x.crt'
    # libpq takes the DSNs the chart writes (an unknown parameter would fail before any
    # connection), and reads its PG* variables (extraEnv) from the daemon's environment:
    # the daemons read only PAYPIPE_* themselves but leave the rest of the environment be.
    pg_try() {  # pg_try <dsn> [VAR=value...]: payment-api's `migrate` against an unreachable server
      env -i PATH=/usr/bin:/bin PAYPIPE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 PAYPIPE_CURRENCY=KRW \
        PAYPIPE_PG_DSN="$1" "${@:2}" timeout 30 "$build/bin/payment-api" migrate 2>&1 || true
    }
    for dsn in 'postgresql://paypipe@127.0.0.1:1/paypipe?sslmode=verify-full&sslrootcert=/etc/paypipe/postgres-tls/ca.crt' \
               'host=127.0.0.1 port=1 dbname=paypipe sslmode=verify-full sslcert=/etc/paypipe/postgres-tls/tls.crt sslkey=/etc/paypipe/postgres-tls/tls.key sslrootcert=/etc/paypipe/postgres-tls/ca.crt'; do
      output=$(pg_try "$dsn")
      grep -q 'cannot connect to PostgreSQL' <<<"$output" && ! grep -qi 'invalid' <<<"$output" \
        || fail "libpq does not take the DSN form the chart writes ($dsn):"$'\n'"$output"
    done
    grep -q 'invalid sslmode value: \\"bogus\\"' <<<"$(pg_try 'postgresql://paypipe@127.0.0.1:1/paypipe' PGSSLMODE=bogus)" \
      || fail "a PG* variable in the daemon's environment does not reach libpq"
    echo "ok  postgres.tls: root certificate (and client certificate) mounted from a Secret, named in every DSN; libpq takes both DSN forms and its PG* variables"
    # kafka.tls: the files in every Kafka client: daemons, hook Jobs, kafka-exporter.
    file=$(render production kafka-tls --set kafka.tls.secretName=paypipe-kafka-tls \
             --set kafka.tls.certKey=tls.crt --set kafka.tls.keyKey=tls.key)
    want='ssl.ca.location=/etc/paypipe/kafka-tls/ca.crt;ssl.certificate.location=/etc/paypipe/kafka-tls/tls.crt;ssl.endpoint.identification.algorithm=https;ssl.key.location=/etc/paypipe/kafka-tls/tls.key'
    [[ $(grep -c "PAYPIPE_KAFKA_PROPERTIES: .*$want" "$file") == 7 ]] || fail "the daemons' librdkafka properties do not name the kafka.tls files"
    [[ $(grep -c 'mountPath: /etc/paypipe/kafka-tls' <<<"$(doc "$file" Job "$release-topics")") == 3 ]] \
      || fail "the topics Job's three containers do not mount kafka.tls"
    exporter=$(doc "$file" Deployment "$release-kafka-exporter")
    for want in -- '--tls.enabled' '--tls.ca-file=/etc/paypipe/kafka-tls/ca.crt' '--tls.cert-file=/etc/paypipe/kafka-tls/tls.crt' \
                '--tls.key-file=/etc/paypipe/kafka-tls/tls.key' 'mountPath: /etc/paypipe/kafka-tls'; do
      [[ $want == -- ]] && continue
      grep -qF -- "$want" <<<"$exporter" || fail "kafka-exporter lacks $want"
    done
    check "$file" production "kafka.tls"
    expect_failure "kafka.tls without TLS" "kafka.tls needs kafka.securityProtocol SSL or SASL_SSL" \
      "$helm" template "$release" "$chart" -f "$(values_file local)" --set kafka.tls.secretName=x
    echo "ok  kafka.tls: CA, client certificate and key mounted into the daemons, the hook Jobs and kafka-exporter"
    # KEDA: a ScaledObject on the group's lag instead of the CPU HPA, with the daemon's
    # own Kafka credentials; the two exclude each other.
    file=$(render production keda --set services.ranking-updater.autoscaling.enabled=false \
             --set services.ranking-updater.keda.enabled=true --set services.ranking-updater.keda.lagThreshold=500 \
             --set topicPrefix=prod.)
    so=$(doc "$file" ScaledObject "$release-ranking-updater")
    for want in 'apiVersion: keda.sh/v1alpha1' 'name: paypipe-ranking-updater' 'type: kafka' \
                'bootstrapServers: "kafka-0.kafka.example.internal:9093,kafka-1.kafka.example.internal:9093,kafka-2.kafka.example.internal:9093"' \
                'consumerGroup: "prod.ranking-updater"' 'lagThreshold: "500"' 'sasl: "scram_sha512"' 'tls: enable' \
                'name: paypipe-ranking-updater-kafka' 'maxReplicaCount: 3'; do
      grep -qF "$want" <<<"$so" || fail "the ScaledObject lacks $want"
    done
    ta=$(doc "$file" TriggerAuthentication "$release-ranking-updater-kafka")
    grep -A2 'parameter: username' <<<"$ta" | grep -q 'name: "paypipe-kafka-ranking-updater"' \
      && grep -A2 'parameter: password' <<<"$ta" | grep -q 'name: "paypipe-kafka-ranking-updater"' \
      || fail "the TriggerAuthentication does not use ranking-updater's own Kafka credentials"
    [[ -z $(doc "$file" HorizontalPodAutoscaler "$release-ranking-updater") ]] || fail "ranking-updater has both an HPA and a ScaledObject"
    grep -q 'replicas:' <<<"$(doc "$file" Deployment "$release-ranking-updater")" && fail "the scaled Deployment sets replicas"
    check "$file" production "keda"
    # The brokers' CA for KEDA's scaler: from kafka.tls's Secret, or its ConfigMap.
    file=$(render production keda-tls --set services.ranking-updater.autoscaling.enabled=false \
             --set services.ranking-updater.keda.enabled=true --set kafka.tls.secretName=paypipe-kafka-tls)
    grep -B1 -A1 'parameter: ca$' <<<"$(doc "$file" TriggerAuthentication "$release-ranking-updater-kafka")" \
      | grep -q 'name: "paypipe-kafka-tls"' || fail "KEDA's scaler does not get the CA of kafka.tls.secretName"
    file=$(render production keda-tls-cm --set services.ranking-updater.autoscaling.enabled=false \
             --set services.ranking-updater.keda.enabled=true --set kafka.tls.configMapName=kafka-ca)
    grep -A3 'configMapTargetRef:' <<<"$(doc "$file" TriggerAuthentication "$release-ranking-updater-kafka")" \
      | grep -q 'name: "kafka-ca"' || fail "KEDA's scaler does not get the CA of kafka.tls.configMapName"
    # Scaled to zero by KEDA: its absence is no alert, the others' still are.
    file=$(render production keda-zero --set services.ranking-updater.autoscaling.enabled=false \
             --set services.ranking-updater.keda.enabled=true --set services.ranking-updater.keda.minReplicas=0)
    grep -q 'absent(up{namespace="paypipe", job="ranking-updater"})' "$file" && fail "PaypipeTargetAbsent for a service KEDA scales to zero"
    [[ $(grep -c 'absent(up{' "$file") == 7 ]] || fail "PaypipeTargetAbsent lost other jobs beside the one scaled to zero"
    grep -q '^kind: ScaledObject' "$(render production keda-off)" && fail "a ScaledObject without keda.enabled"
    expect_failure "KEDA and the HPA for one service" "keda.enabled and autoscaling.enabled exclude each other" \
      "$helm" template "$release" "$chart" -f "$(values_file production)" --set services.ranking-updater.keda.enabled=true
    expect_failure "KEDA on dlq-retrier (no runtime consumer group)" "only a consumer" \
      "$helm" template "$release" "$chart" -f "$(values_file production)" --set services.dlq-retrier.autoscaling.enabled=false \
      --set services.dlq-retrier.keda.enabled=true
    echo "ok  keda: a ScaledObject on the consumer group's lag with the daemon's credentials, never beside an HPA"
    # kafka-exporter: production only, with the super user's credentials from the Secret.
    file=$(render production exporter)
    exporter=$(doc "$file" Deployment "$release-kafka-exporter")
    for want in '--group.filter=^(coupon-issuer|data-platform-forwarder|dlq-retrier|notification-sender|order-processor|payment-api|ranking-updater)$' \
                '--sasl.mechanism=scram-sha512' '$(KAFKA_SASL_PASSWORD)' 'name: "paypipe-kafka-sasl"'; do
      grep -qF -- "$want" <<<"$exporter" || fail "kafka-exporter lacks $want"
    done
    grep -q 'jobLabel: app.kubernetes.io/component' <<<"$(doc "$file" ServiceMonitor "$release-kafka-exporter")" \
      || fail "kafka-exporter's ServiceMonitor does not make job=\"kafka-exporter\""
    [[ -n $(doc "$file" NetworkPolicy "$release-kafka-exporter") ]] || fail "kafka-exporter has no NetworkPolicy"
    grep -q 'kafka-exporter' "$(render local exporter-local)" && fail "values-local renders kafka-exporter"
    echo "ok  kafkaExporter: Deployment, Service, ServiceMonitor and NetworkPolicy with the daemons' Kafka settings"
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
    expect_failure "ScaledObject field misspelt" 'unknown field "spec.maxReplicas"' \
      "$kubecheck" validate "$data/keda-typo.yaml"
    expect_failure "ScaledObject beside an HPA" "KEDA makes its own HPA, the two would fight" \
      "$kubecheck" validate "$data/keda-conflicts.yaml"
    expect_failure "kafka trigger threshold that is no number" 'lagThreshold "lots" is not a positive integer' \
      "$kubecheck" validate "$data/keda-conflicts.yaml"
    expect_failure "ScaledObject naming no rendered TriggerAuthentication" 'TriggerAuthentication "worker-kafka", which the chart does not render' \
      "$kubecheck" validate "$data/keda-conflicts.yaml"
    # The policy: each rule catches its own mistake.
    for rule in "no readinessProbe" "runAsNonRoot must be true" "runAsUser must be set to a non-zero uid" \
                "readOnlyRootFilesystem must be true" "does not come from a secretKeyRef" \
                "holds what looks like a credential" "terminationGracePeriodSeconds 20 is not above" \
                "enableServiceLinks must be false" "no Job runs \`paypipe-admin topics create\`"; do
      expect_failure "policy: $rule" "$rule" \
        "$kubecheck" policy --release "$release" --profile local --services payment-api "$data/policy-violations.yaml"
    done
    # secretFiles: a file of another Secret key, and a credential left a variable, are caught.
    off=$(render production negative-secret-files-off --set secretFiles.enabled=false)
    on=$(render production negative-secret-files-on --set secretFiles.enabled=true)
    sed '0,/- key: token$/s//- key: tokn/' "$on" >"$out/negative-secret-files-wrong-key.yaml"
    expect_failure "secretFiles: the file of another Secret key" \
      "holds Secret paypipe-admin-token key tokn, but PAYPIPE_ADMIN_TOKEN came from Secret paypipe-admin-token key token" \
      "$kubecheck" secret-files "$off" "$out/negative-secret-files-wrong-key.yaml"
    expect_failure "secretFiles: a credential still a variable" "no PAYPIPE_PG_PASSWORD_FILE replaces it" \
      "$kubecheck" secret-files "$off" "$off"
    # A credential's file set by hand: the policy wants it in a mounted Secret, the daemon
    # refuses one it cannot read, and one beside the variable.
    file=$(render local negative-unknown-secret-file --set secretRefs.adminToken.name= \
             --set-json 'services.payment-api.extraEnv=[{"name":"PAYPIPE_ADMIN_TOKEN_FILE","value":"/var/run/secrets/paypipe/x"}]')
    expect_failure "policy: a credential's file that is no mounted Secret key" \
      "PAYPIPE_ADMIN_TOKEN_FILE names /var/run/secrets/paypipe/x, which is no key of a Secret mounted in the container" \
      "$kubecheck" policy --release "$release" --profile local --services "$services" --source-dir "$src" "$file"
    expect_failure "check-config: a credential's file the daemon cannot read" \
      "PAYPIPE_ADMIN_TOKEN_FILE: cannot read \"/var/run/secrets/paypipe/x\"" \
      "$kubecheck" check-config --bin-dir "$build/bin" "$file"
    file=$(render local negative-secret-twice --set secretFiles.enabled=true \
             --set-json 'services.payment-api.extraEnv=[{"name":"PAYPIPE_ADMIN_TOKEN","valueFrom":{"secretKeyRef":{"name":"paypipe-admin-token","key":"token"}}}]')
    expect_failure "check-config: a credential both as a variable and as a file" \
      "PAYPIPE_ADMIN_TOKEN: set either PAYPIPE_ADMIN_TOKEN or PAYPIPE_ADMIN_TOKEN_FILE, not both" \
      "$kubecheck" check-config --bin-dir "$build/bin" "$file"
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
    file=$(render local negative-extra-env --set-json 'services.payment-api.extraEnv=[{"name":"HTTP_PROXY","value":"http://proxy:3128"}]')
    expect_failure "policy: a variable neither PAYPIPE_ nor libpq's" "variable HTTP_PROXY does not start with PAYPIPE_" \
      "$kubecheck" policy --release "$release" --profile local --services "$services" --source-dir "$src" "$file"
    file=$(render local negative-extra-env-typo --set-json 'extraEnv=[{"name":"PAYPIPE_HTTP_WORKRS","value":"8"}]')
    expect_failure "misspelt PAYPIPE_ variable through extraEnv" "PAYPIPE_HTTP_WORKRS: unknown variable" \
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
    fail "unknown step '$step' (lint | validate <profile> | policy <profile> | check-config <profile> | naming | retry | auth-currency | rules | dashboard | chart-values | negative)"
    ;;
esac
