{{/*
Names: every object is "<release>-<service>" (Deployment, Service, ConfigMap, HPA, PDB,
Ingress) or "<release>-<purpose>" (the hook Jobs), so the runbook's
`kubectl ... deploy/<release>-dlq-retrier` holds for any release name.
*/}}
{{- define "paypipe.fullname" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- printf "%s-%s" $root.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "paypipe.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: paypipe
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: paypipe
{{- end -}}

{{/* Selector labels of one service's pods: (list $ "payment-api") */}}
{{- define "paypipe.selectorLabels" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
app.kubernetes.io/name: paypipe
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ $name }}
{{- end -}}

{{- define "paypipe.serviceLabels" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{ include "paypipe.labels" $root }}
app.kubernetes.io/component: {{ $name }}
{{- end -}}

{{/* The image reference: repository@sha256:... when image.digest is set (the tag is then ignored). */}}
{{- define "paypipe.image" -}}
{{- $i := .Values.image -}}
{{- if $i.digest -}}
{{- if not (regexMatch "^sha256:[0-9a-f]{64}$" $i.digest) -}}{{- fail (printf "image.digest %q is not sha256:<64 hex digits>" $i.digest) -}}{{- end -}}
{{- printf "%s@%s" $i.repository $i.digest -}}
{{- else -}}
{{- printf "%s:%s" $i.repository (default .Chart.AppVersion $i.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The ServiceAccount of the daemons' pods: serviceAccount.name, or <release>-paypipe when the
chart creates it; "" leaves the namespace's default. The API token is never mounted
(automountServiceAccountToken: false): the account is for cloud workload identity, whose
webhooks or metadata servers work without it.
*/}}
{{- define "paypipe.serviceAccountName" -}}
{{- $sa := .Values.serviceAccount -}}
{{- if $sa.create -}}
{{- $sa.name | default (include "paypipe.fullname" (list . "paypipe")) -}}
{{- else -}}
{{- $sa.name -}}
{{- end -}}
{{- end -}}

{{/*
The hook Jobs run before install, when a ServiceAccount the chart creates does not exist
yet: they use serviceAccount.name only when it names an existing account (create: false).
*/}}
{{- define "paypipe.hookServiceAccountName" -}}
{{- if not .Values.serviceAccount.create -}}{{- .Values.serviceAccount.name -}}{{- end -}}
{{- end -}}

{{/*
The broker's name of a service's consumer group, before the topic prefix: naming.groups
names it, else it is the service's name (events/naming.hpp). (list $ "ranking-updater")
*/}}
{{- define "paypipe.groupName" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- index ($root.Values.naming.groups | default dict) $name | default $name -}}
{{- end -}}

{{/*
The consumer group of a service as the broker knows it: its name (paypipe.groupName)
after the topic prefix. (list $ "ranking-updater")
*/}}
{{- define "paypipe.consumerGroup" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- printf "%s%s" $root.Values.topicPrefix (include "paypipe.groupName" (list $root $name)) -}}
{{- end -}}

{{/* extraConsumerGroups as "group=topic,topic;group=topic", sorted ({} -> ""); the schema checks the names. */}}
{{- define "paypipe.extraConsumerGroups" -}}
{{- $entries := list -}}
{{- range $group, $spec := .Values.extraConsumerGroups | default dict -}}
{{- $entries = append $entries (printf "%s=%s" $group (join "," $spec.topics)) -}}
{{- end -}}
{{- join ";" ($entries | sortAlpha) -}}
{{- end -}}

{{/* A map of names as "key=value;key=value", sorted ({} -> ""). (list <map> "values path") */}}
{{- define "paypipe.namePairs" -}}
{{- $map := index . 0 -}}{{- $path := index . 1 -}}
{{- $pairs := list -}}
{{- range $key := keys ($map | default dict) | sortAlpha -}}
{{- $value := index $map $key | toString -}}
{{- if or (contains ";" $value) (contains "=" $value) (contains ";" $key) (contains "=" $key) -}}
{{- fail (printf "%s: %q: %q: ';' and '=' cannot appear in a name" $path $key $value) -}}
{{- end -}}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join ";" $pairs -}}
{{- end -}}

{{/*
Files mounted from a Secret or a ConfigMap for a TLS client (postgres.tls, kafka.tls):
"key -> path" of the keys that are set, as YAML. (list <tls block> "rootCertKey" "certKey" "keyKey")
*/}}
{{- define "paypipe.tlsFiles" -}}
{{- $tls := index . 0 -}}
{{- $files := dict -}}
{{- range $field := rest . -}}
{{- with index $tls $field -}}{{- $_ := set $files $field (printf "%s/%s" (trimSuffix "/" $tls.mountPath) .) -}}{{- end -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/* "true" when a TLS block (postgres.tls, kafka.tls) mounts anything; fails on a bad one. (list <block> <values path>) */}}
{{- define "paypipe.tlsEnabled" -}}
{{- $tls := index . 0 -}}{{- $where := index . 1 -}}
{{- if and $tls.secretName $tls.configMapName -}}{{- fail (printf "%s: set secretName or configMapName, not both" $where) -}}{{- end -}}
{{- if and $tls.configMapName (or $tls.certKey $tls.keyKey) -}}{{- fail (printf "%s: a private key belongs in a Secret (secretName), not a ConfigMap" $where) -}}{{- end -}}
{{- if or $tls.secretName $tls.configMapName -}}true{{- end -}}
{{- end -}}

{{/* The volume of a TLS block: read-only files, 0440 (libpq refuses a key readable by others). (list <block> "volume-name") */}}
{{- define "paypipe.tlsVolume" -}}
{{- $tls := index . 0 -}}
- name: {{ index . 1 }}
  {{- if $tls.secretName }}
  secret:
    secretName: {{ $tls.secretName | quote }}
    defaultMode: 288  # 0440
  {{- else }}
  configMap:
    name: {{ $tls.configMapName | quote }}
    defaultMode: 288  # 0440
  {{- end }}
{{- end -}}

{{/*
The volumes and mounts every daemon pod gets besides /tmp and the JWKS: the PostgreSQL and
Kafka TLS files, the service's credentials with secretFiles.enabled (a volume per service,
secret-files-<service>, as the migrate Job's pod holds every service's), then
extraVolumes / extraVolumeMounts (global, then the service's).
(list $ "payment-api") -> YAML {volumes: [...], mounts: [...]}
*/}}
{{- define "paypipe.podFiles" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $svc := index $root.Values.services $name -}}
{{- $volumes := list -}}{{- $mounts := list -}}
{{- range $block := list (list $root.Values.postgres.tls "postgres.tls" "postgres-tls") (list $root.Values.kafka.tls "kafka.tls" "kafka-tls") -}}
{{- if include "paypipe.tlsEnabled" (list (index $block 0) (index $block 1)) -}}
{{- $volumes = concat $volumes (include "paypipe.tlsVolume" (list (index $block 0) (index $block 2)) | fromYamlArray) -}}
{{- $mounts = append $mounts (dict "name" (index $block 2) "mountPath" (index $block 0).mountPath "readOnly" true) -}}
{{- end -}}
{{- end -}}
{{- $secretFiles := include "paypipe.secretFiles" (list $root (include "paypipe.serviceSecretRefs" . | fromYamlArray) (printf "secret-files-%s" $name)) | fromYaml -}}
{{- $volumes = concat $volumes $secretFiles.volumes -}}{{- $mounts = concat $mounts $secretFiles.mounts -}}
{{- $volumes = concat $volumes ($root.Values.extraVolumes | default list) ($svc.extraVolumes | default list) -}}
{{- $mounts = concat $mounts ($root.Values.extraVolumeMounts | default list) ($svc.extraVolumeMounts | default list) -}}
{{- toYaml (dict "volumes" $volumes "mounts" $mounts) -}}
{{- end -}}

{{/* extraEnv of a service's containers: the global list, then the service's. (list $ "payment-api") */}}
{{- define "paypipe.extraEnv" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $env := concat ($root.Values.extraEnv | default list) ((index $root.Values.services $name).extraEnv | default list) -}}
{{- with $env }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/* The services that are deployed, in a stable order. */}}
{{- define "paypipe.enabledServices" -}}
{{- $names := list -}}
{{- range $name, $svc := .Values.services -}}
{{- if $svc.enabled -}}{{- $names = append $names $name -}}{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* One service's values: serviceDefaults overridden by services.<name>, as YAML. */}}
{{- define "paypipe.service" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $svc := index $root.Values.services $name -}}
{{- if not $svc -}}{{- fail (printf "services.%s is not defined" $name) -}}{{- end -}}
{{- $merged := mustMergeOverwrite (deepCopy $root.Values.serviceDefaults) (deepCopy $svc) -}}
{{- toYaml $merged -}}
{{- end -}}

{{- define "paypipe.shutdownTimeoutMs" -}}
{{- $root := index . 0 -}}{{- $svc := index . 1 -}}
{{- $svc.shutdownTimeoutMs | default $root.Values.shutdown.timeoutMs | int64 -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds, derived from the shutdown bound so that the two never
drift: the preStop pause, then PAYPIPE_SHUTDOWN_TIMEOUT_MS rounded up to seconds, plus
a margin for the process to exit before SIGKILL.
*/}}
{{- define "paypipe.terminationGracePeriodSeconds" -}}
{{- $root := index . 0 -}}{{- $svc := index . 1 -}}
{{- $ms := include "paypipe.shutdownTimeoutMs" (list $root $svc) | int64 -}}
{{- add (int64 $root.Values.shutdown.preStopSleepSeconds) (div (add $ms 999) 1000) (int64 $root.Values.shutdown.marginSeconds) -}}
{{- end -}}

{{/* librdkafka properties "k=v;k=v": the security settings, then the extra properties. */}}
{{- define "paypipe.kafkaProperties" -}}
{{- $k := .Values.kafka -}}
{{- $props := dict -}}
{{- range $key, $value := $k.properties -}}
{{- $_ := set $props $key (toString $value) -}}
{{- end -}}
{{- if ne $k.securityProtocol "PLAINTEXT" -}}
{{- $_ := set $props "security.protocol" $k.securityProtocol -}}
{{- end -}}
{{- if hasPrefix "SASL_" $k.securityProtocol -}}
{{- $_ := set $props "sasl.mechanism" $k.saslMechanism -}}
{{- end -}}
{{- if include "paypipe.tlsEnabled" (list $k.tls "kafka.tls") -}}
{{- if not (has $k.securityProtocol (list "SSL" "SASL_SSL")) -}}{{- fail "kafka.tls needs kafka.securityProtocol SSL or SASL_SSL" -}}{{- end -}}
{{- $files := include "paypipe.tlsFiles" (list $k.tls "caKey" "certKey" "keyKey") | fromYaml -}}
{{- range $field, $prop := dict "caKey" "ssl.ca.location" "certKey" "ssl.certificate.location" "keyKey" "ssl.key.location" -}}
{{- with index $files $field -}}{{- $_ := set $props $prop . -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $pairs := list -}}
{{- range $key := keys $props | sortAlpha -}}
{{- $value := index $props $key -}}
{{- if or (contains ";" $value) (contains ";" $key) (contains "=" $key) -}}
{{- fail (printf "kafka.properties: %q=%q: ';' and '=' cannot appear in a key, nor ';' in a value" $key $value) -}}
{{- end -}}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join ";" $pairs -}}
{{- end -}}

{{/* Kafka client settings every Kafka user (daemons, paypipe-admin) reads, as YAML. */}}
{{- define "paypipe.kafkaConfig" -}}
{{- if not .Values.kafka.bootstrapServers -}}{{- fail "kafka.bootstrapServers is required" -}}{{- end -}}
PAYPIPE_KAFKA_BOOTSTRAP_SERVERS: {{ .Values.kafka.bootstrapServers | quote }}
{{- $props := include "paypipe.kafkaProperties" . }}
{{- if $props }}
PAYPIPE_KAFKA_PROPERTIES: {{ $props | quote }}
{{- end }}
{{- if .Values.topicPrefix }}
PAYPIPE_TOPIC_PREFIX: {{ .Values.topicPrefix | quote }}
{{- end }}
{{- with .Values.naming }}
{{- if and .profile (ne .profile "default") }}
PAYPIPE_NAMING_PROFILE: {{ .profile | quote }}
{{- end }}
{{- with include "paypipe.namePairs" (list .topics "naming.topics") }}
PAYPIPE_TOPIC_NAMES: {{ . | quote }}
{{- end }}
{{- with include "paypipe.namePairs" (list .groups "naming.groups") }}
PAYPIPE_GROUP_NAMES: {{ . | quote }}
{{- end }}
{{- with .retryTopicFormat }}
PAYPIPE_RETRY_TOPIC_FORMAT: {{ . | quote }}
{{- end }}
{{- with .dlqTopicFormat }}
PAYPIPE_DLQ_TOPIC_FORMAT: {{ . | quote }}
{{- end }}
{{- with .sharedTopics }}
PAYPIPE_SHARED_TOPIC_NAMES: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- with include "paypipe.extraConsumerGroups" . }}
PAYPIPE_EXTRA_CONSUMER_GROUPS: {{ . | quote }}
{{- end }}
{{- end -}}

{{/*
The non-secret configuration of one service, as YAML "NAME: value" (strings): the data of
its ConfigMap, and the inline env of its hook containers (which run before the chart's
ConfigMaps exist). (list $ "payment-api")
*/}}
{{- define "paypipe.config" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $svc := include "paypipe.service" (list $root $name) | fromYaml -}}
{{- $dsn := (($svc.postgres | default dict).dsn) | default $root.Values.postgres.dsn -}}
{{- if not $dsn -}}{{- fail (printf "services.%s: no PostgreSQL DSN (set postgres.dsn or services.%s.postgres.dsn)" $name $name) -}}{{- end -}}
{{- $dsn = include "paypipe.postgresDsn" (list $root $dsn) -}}
PAYPIPE_PROFILE: {{ $root.Values.profile | quote }}
PAYPIPE_HTTP_PORT: {{ $root.Values.httpPort | toString | quote }}
PAYPIPE_LOG_LEVEL: {{ $root.Values.log.level | quote }}
PAYPIPE_LOG_FORMAT: {{ $root.Values.log.format | quote }}
PAYPIPE_SHUTDOWN_TIMEOUT_MS: {{ include "paypipe.shutdownTimeoutMs" (list $root $svc) | quote }}
{{ include "paypipe.kafkaConfig" $root }}
PAYPIPE_PG_DSN: {{ $dsn | quote }}
{{- with $root.Values.postgres.poolSize }}
PAYPIPE_PG_POOL_SIZE: {{ . | toString | quote }}
{{- end }}
{{- if has $name (list "payment-api" "order-processor") }}
PAYPIPE_CURRENCY: {{ $root.Values.currency | quote }}
{{- end }}
{{- if include "paypipe.jwt" (list $root $name) }}
{{- $a := $root.Values.auth }}
PAYPIPE_JWT_JWKS_FILE: {{ printf "%s/%s" (trimSuffix "/" $a.jwks.mountPath) $a.jwks.key | quote }}
PAYPIPE_JWT_ISSUER: {{ $a.issuer | quote }}
PAYPIPE_JWT_AUDIENCE: {{ $a.audience | quote }}
{{- end }}
{{- if $svc.consumer }}
{{- $retry := mustMergeOverwrite (deepCopy $root.Values.retry) ($svc.retry | default dict) }}
{{- include "paypipe.retryEnv" (list "PAYPIPE_RETRY_" $retry (printf "services.%s.retry" $name)) }}
{{- range $key, $var := dict "batchSize" "PAYPIPE_CONSUMER_BATCH_SIZE" "batchLingerMs" "PAYPIPE_CONSUMER_BATCH_LINGER_MS" "maxInFlight" "PAYPIPE_CONSUMER_MAX_IN_FLIGHT" }}
{{- if not (kindIs "invalid" (index $root.Values.consumer $key)) }}
{{ $var }}: {{ index $root.Values.consumer $key | int64 | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (eq $name "dlq-retrier") $root.Values.dlqRetrier.enabled }}
{{- $d := $root.Values.dlqRetrier }}
{{- include "paypipe.retryEnv" (list "PAYPIPE_RETRIER_" $d "dlqRetrier") }}
{{- with $d.groupIntervalsMs }}
{{- $pairs := list }}
{{- range $group, $ms := . }}{{ $pairs = append $pairs (printf "%s=%d" $group (int64 $ms)) }}{{ end }}
PAYPIPE_RETRIER_GROUP_INTERVALS: {{ join ";" $pairs | quote }}
{{- end }}
{{- end }}
{{- range $key, $value := $svc.env }}
{{- if not (hasPrefix "PAYPIPE_" $key) }}{{ fail (printf "services.%s.env.%s: the daemons read PAYPIPE_* variables only (a library's own, e.g. libpq's PG*: extraEnv)" $name $key) }}{{ end }}
{{- if regexMatch "(?i)(PASSWORD|TOKEN|SECRET|AUTHORIZATION)" $key }}{{ fail (printf "services.%s.env.%s looks like a credential: use secretEnv and a Secret" $name $key) }}{{ end }}
{{ $key }}: {{ $value | toString | quote }}
{{- end }}
{{- range $var := (index (include "paypipe.requiredEnv" . | fromYaml) "env") | default list }}
{{- $env := $svc.env | default dict }}
{{- if or (not (hasKey $env $var)) (not (index $env $var | toString | trim)) }}
{{- fail (printf "services.%s.env.%s is required (services/%s/src/config.hpp)" $name $var $name) }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
What a daemon refuses to start without, beyond the common settings, so that a values file
missing it fails at `helm template` instead of in a crash-looping pod: plain settings
(services.<name>.env) and credentials (services.<name>.secretEnv, whose secretRef must
have a name). (list $ "data-platform-forwarder") -> YAML {env: [...], secretEnv: [...]}
*/}}
{{- define "paypipe.requiredEnv" -}}
{{- $name := index . 1 -}}
{{- $required := dict
      "data-platform-forwarder" (dict "env" (list "PAYPIPE_WEBHOOK_URL"))
      "notification-sender" (dict "secretEnv" (list "PAYPIPE_TELEGRAM_BOT_TOKEN")) -}}
{{- toYaml (index $required $name | default dict) -}}
{{- end -}}

{{/* One secretKeyRef env entry: (list "PAYPIPE_X" (dict "name" ... "key" ...)) */}}
{{- define "paypipe.secretEnvVar" -}}
{{- $var := index . 0 -}}{{- $ref := index . 1 -}}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name | quote }}
      key: {{ $ref.key | quote }}
{{- end -}}

{{/*
The credentials one service's containers read, in the order of their env entries:
PAYPIPE_PG_PASSWORD, the Kafka SASL user and password, then services.<name>.secretEnv.
(list $ "payment-api") -> YAML list of {var, name, key} (name and key of a Secret)
*/}}
{{- define "paypipe.serviceSecretRefs" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $svc := include "paypipe.service" (list $root $name) | fromYaml -}}
{{- $refs := $root.Values.secretRefs -}}
{{- $out := list -}}
{{- $pg := (($svc.postgres | default dict).passwordSecretRef) | default $refs.postgresPassword -}}
{{- if and $pg $pg.name -}}
{{- $out = append $out (dict "var" "PAYPIPE_PG_PASSWORD" "name" $pg.name "key" $pg.key) -}}
{{- end -}}
{{- $out = concat $out (include "paypipe.serviceKafkaSecretRefs" (list $root $name) | fromYamlArray) -}}
{{- range $var, $refName := $svc.secretEnv -}}
{{- $ref := index $refs $refName -}}
{{- if not $ref }}{{ fail (printf "services.%s.secretEnv.%s: %q is not a key of secretRefs" $name $var $refName) }}{{ end -}}
{{- if not (hasPrefix "PAYPIPE_" $var) }}{{ fail (printf "services.%s.secretEnv.%s: the daemons read PAYPIPE_* variables only" $name $var) }}{{ end -}}
{{- if $ref.name -}}
{{- $out = append $out (dict "var" $var "name" $ref.name "key" $ref.key) -}}
{{- end -}}
{{- end -}}
{{- range $var := (index (include "paypipe.requiredEnv" . | fromYaml) "secretEnv") | default list -}}
{{- $ref := index $refs (index ($svc.secretEnv | default dict) $var | default "") -}}
{{- if not (and $ref $ref.name) -}}
{{- fail (printf "services.%s.secretEnv.%s is required: name a key of secretRefs whose Secret holds it" $name $var) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* The shared Kafka credentials (secretRefs.kafkaSasl*, SASL_* only): the hook Jobs' super user. -> YAML list of {var, name, key} */}}
{{- define "paypipe.kafkaSecretRefs" -}}
{{- $out := list -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol -}}
{{- $r := .Values.secretRefs -}}
{{- $out = list (dict "var" "PAYPIPE_KAFKA_SASL_USERNAME" "name" $r.kafkaSaslUsername.name "key" $r.kafkaSaslUsername.key)
                (dict "var" "PAYPIPE_KAFKA_SASL_PASSWORD" "name" $r.kafkaSaslPassword.name "key" $r.kafkaSaslPassword.key) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
A daemon's own Kafka credentials: with kafka.acls.enabled, its own principal's Secret
(kafka.acls.secretNameFormat), else the shared secretRefs.kafkaSasl*. (list $ "payment-api")
*/}}
{{- define "paypipe.serviceKafkaSecretRefs" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $acls := $root.Values.kafka.acls -}}
{{- if and $acls.enabled (hasPrefix "SASL_" $root.Values.kafka.securityProtocol) -}}
{{- $secret := replace "{service}" $name $acls.secretNameFormat -}}
{{- toYaml (list (dict "var" "PAYPIPE_KAFKA_SASL_USERNAME" "name" $secret "key" "username")
                 (dict "var" "PAYPIPE_KAFKA_SASL_PASSWORD" "name" $secret "key" "password")) -}}
{{- else -}}
{{- include "paypipe.kafkaSecretRefs" $root -}}
{{- end -}}
{{- end -}}

{{/*
The env entries of credentials (a list from paypipe.serviceSecretRefs or
paypipe.kafkaSecretRefs): each a secretKeyRef, or with secretFiles.enabled,
<var>_FILE naming its file in the volume of paypipe.secretFiles (Env::secret reads
either). (list $ <refs>) -> YAML list
*/}}
{{- define "paypipe.secretEnvFrom" -}}
{{- $root := index . 0 -}}
{{- range $ref := index . 1 }}
{{- if $root.Values.secretFiles.enabled }}
- name: {{ $ref.var }}_FILE
  value: {{ printf "%s/%s" (trimSuffix "/" $root.Values.secretFiles.mountPath) $ref.var | quote }}
{{- else }}
{{ include "paypipe.secretEnvVar" (list $ref.var $ref) }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
With secretFiles.enabled, the volume holding the files paypipe.secretEnvFrom names: the
referenced keys of the Secrets, one file per variable, read-only (0440: the pod's fsGroup
is the daemons' group). A projected volume, mounted whole (no subPath), so the kubelet
updates the files when a Secret changes; the daemons read them at start. Nothing without
credentials. (list $ <refs> "volume-name") -> YAML {volumes: [...], mounts: [...]}
*/}}
{{- define "paypipe.secretFiles" -}}
{{- $root := index . 0 -}}{{- $refs := index . 1 -}}{{- $volume := index . 2 -}}
{{- $volumes := list -}}{{- $mounts := list -}}
{{- if and $root.Values.secretFiles.enabled $refs -}}
{{- $bySecret := dict -}}
{{- range $ref := $refs -}}
{{- $_ := set $bySecret $ref.name (append (index $bySecret $ref.name | default list) (dict "key" $ref.key "path" $ref.var)) -}}
{{- end -}}
{{- $sources := list -}}
{{- range $secret := keys $bySecret | sortAlpha -}}
{{- $sources = append $sources (dict "secret" (dict "name" $secret "items" (index $bySecret $secret))) -}}
{{- end -}}
{{- $volumes = list (dict "name" $volume "projected" (dict "defaultMode" 288 "sources" $sources)) -}}
{{- $mounts = list (dict "name" $volume "mountPath" $root.Values.secretFiles.mountPath "readOnly" true) -}}
{{- end -}}
{{- toYaml (dict "volumes" $volumes "mounts" $mounts) -}}
{{- end -}}

{{/* The env entries of one service that come from Secrets, as a YAML list. */}}
{{- define "paypipe.secretEnv" -}}
{{- include "paypipe.secretEnvFrom" (list (index . 0) (include "paypipe.serviceSecretRefs" . | fromYamlArray)) -}}
{{- end -}}

{{- define "paypipe.kafkaSecretEnv" -}}
{{- include "paypipe.secretEnvFrom" (list . (include "paypipe.kafkaSecretRefs" . | fromYamlArray)) -}}
{{- end -}}

{{/* Pod-level settings shared by the daemons and the hook Jobs. */}}
{{- define "paypipe.podSecurity" -}}
enableServiceLinks: false
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .Values.securityContext.runAsUser }}
  runAsGroup: {{ .Values.securityContext.runAsGroup }}
  fsGroup: {{ .Values.securityContext.runAsGroup }}
  seccompProfile:
    type: RuntimeDefault
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "paypipe.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .Values.securityContext.runAsUser }}
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* env of paypipe-admin: the Kafka settings and credentials only (tools/paypipe_admin.cpp reads no more). */}}
{{- define "paypipe.kafkaEnv" -}}
env:
  {{- range $key, $value := include "paypipe.kafkaConfig" . | fromYaml }}
  - name: {{ $key }}
    value: {{ $value | toString | quote }}
  {{- end }}
  {{- with include "paypipe.kafkaSecretEnv" . | trim }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end -}}


{{/*
"true" when the service verifies end users' tokens (auth.enabled, and one of the three
public APIs), else "". Fails on an incomplete auth block. (list $ "payment-api")
*/}}
{{- define "paypipe.jwt" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $a := $root.Values.auth -}}
{{- if and $a.enabled (has $name (list "payment-api" "order-processor" "coupon-issuer" "notification-sender")) -}}
{{- if not (and $a.issuer $a.audience) -}}{{- fail "auth.issuer and auth.audience are required with auth.enabled" -}}{{- end -}}
{{- $sources := 0 -}}
{{- range $k := list "json" "secretName" "configMapName" -}}{{- if index $a.jwks $k -}}{{- $sources = add1 $sources -}}{{- end -}}{{- end -}}
{{- if ne (int $sources) 1 -}}
{{- fail "auth.jwks: set exactly one of json, secretName and configMapName (the JWKS file)" -}}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/* The JWKS volume of a pod (see paypipe.jwt): a directory mount, so updates arrive. */}}
{{- define "paypipe.jwksVolume" -}}
{{- $j := .Values.auth.jwks -}}
- name: jwks
  {{- if $j.secretName }}
  secret:
    secretName: {{ $j.secretName | quote }}
    items: [{key: {{ $j.key | quote }}, path: {{ $j.key | quote }}}]
  {{- else }}
  configMap:
    name: {{ $j.configMapName | default (include "paypipe.fullname" (list . "jwks")) | quote }}
    items: [{key: {{ $j.key | quote }}, path: {{ $j.key | quote }}}]
  {{- end }}
{{- end -}}

{{/*
A DSN with the files of postgres.tls added (sslrootcert, sslcert, sslkey), as URI query
parameters or key=value words, so that sslmode=verify-full finds the server's root
certificate in the mounted Secret or ConfigMap. (list $ "postgresql://...")
*/}}
{{- define "paypipe.postgresDsn" -}}
{{- $root := index . 0 -}}{{- $dsn := index . 1 -}}
{{- $tls := $root.Values.postgres.tls -}}
{{- if include "paypipe.tlsEnabled" (list $tls "postgres.tls") -}}
{{- $files := include "paypipe.tlsFiles" (list $tls "rootCertKey" "certKey" "keyKey") | fromYaml -}}
{{- $uri := or (hasPrefix "postgresql://" $dsn) (hasPrefix "postgres://" $dsn) -}}
{{- range $field, $param := dict "rootCertKey" "sslrootcert" "certKey" "sslcert" "keyKey" "sslkey" -}}
{{- with index $files $field -}}
{{- if contains (printf "%s=" $param) $dsn -}}{{- fail (printf "postgres.tls.%s: the DSN already sets %s" $field $param) -}}{{- end -}}
{{- if $uri -}}
{{- $dsn = printf "%s%s%s=%s" $dsn (ternary "&" "?" (contains "?" $dsn)) $param . -}}
{{- else -}}
{{- $dsn = printf "%s %s=%s" $dsn $param . -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $dsn -}}
{{- end -}}

{{/* The files of paypipe-admin in the topics Job: its credentials with secretFiles.enabled. -> YAML {volumes, mounts} */}}
{{- define "paypipe.kafkaSecretFiles" -}}
{{- include "paypipe.secretFiles" (list . (include "paypipe.kafkaSecretRefs" . | fromYamlArray) "secret-files") -}}
{{- end -}}

{{/* The mount of kafka.tls (kafka-exporter), or nothing. */}}
{{- define "paypipe.kafkaTlsMounts" -}}
{{- if include "paypipe.tlsEnabled" (list .Values.kafka.tls "kafka.tls") -}}
volumeMounts:
  - name: kafka-tls
    mountPath: {{ .Values.kafka.tls.mountPath }}
    readOnly: true
{{- end -}}
{{- end -}}

{{/* paypipe-admin's mounts in the topics Job (kafka.tls, its credentials' files), or nothing. */}}
{{- define "paypipe.kafkaAdminMounts" -}}
{{- $tls := include "paypipe.kafkaTlsMounts" . -}}
{{- $secretMounts := (include "paypipe.kafkaSecretFiles" . | fromYaml).mounts -}}
{{- if $secretMounts -}}
{{- $tls | default "volumeMounts:" }}
  {{- toYaml $secretMounts | nindent 2 }}
{{- else -}}
{{- $tls -}}
{{- end -}}
{{- end -}}

{{/*
"true" when services.<name>.keda.enabled: a KEDA ScaledObject scales the service on its
consumer group's lag instead of the CPU HPA. Fails when both are on, or on a service with
no consumer group of the runtime. (list $ "ranking-updater")
*/}}
{{- define "paypipe.keda" -}}
{{- $root := index . 0 -}}{{- $name := index . 1 -}}
{{- $svc := include "paypipe.service" (list $root $name) | fromYaml -}}
{{- if ($svc.keda | default dict).enabled -}}
{{- if not $svc.consumer -}}{{- fail (printf "services.%s.keda: only a consumer (consumer: true) has a group whose lag can scale it" $name) -}}{{- end -}}
{{- if $svc.autoscaling.enabled -}}{{- fail (printf "services.%s: keda.enabled and autoscaling.enabled exclude each other (KEDA makes its own HPA); turn autoscaling off for it" $name) -}}{{- end -}}
true
{{- end -}}
{{- end -}}

{{/* The Kafka exporter's labels: not app.kubernetes.io/name paypipe, so that the daemons' ServiceMonitor and NetworkPolicies leave it alone. */}}
{{- define "paypipe.kafkaExporterSelectorLabels" -}}
app.kubernetes.io/name: kafka-exporter
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: kafka-exporter
{{- end -}}

{{- define "paypipe.kafkaExporterLabels" -}}
{{ include "paypipe.kafkaExporterSelectorLabels" . }}
app.kubernetes.io/part-of: paypipe
app.kubernetes.io/version: {{ .Values.kafkaExporter.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
Retry settings in Spring's terms (libs/runtime/retry_config.hpp), for a consumer's
in-process retries (prefix PAYPIPE_RETRY_) or dlq-retrier's re-deliveries
(PAYPIPE_RETRIER_). Arguments: (list <prefix> <block> <path for errors>); a null value is
left to the daemon's default. A fixed backoff has no multiplier or maximum interval: the
daemon refuses them, so the chart does too, naming the value.
*/}}
{{- define "paypipe.retryEnv" }}
{{- $prefix := index . 0 }}{{ $r := index . 1 }}{{ $path := index . 2 }}
{{- if and (eq (toString $r.backoff) "fixed") (or (not (kindIs "invalid" $r.multiplier)) (not (kindIs "invalid" $r.maxIntervalMs))) }}
{{- fail (printf "%s: multiplier and maxIntervalMs need backoff: exponential (a fixed backoff waits intervalMs every time)" $path) }}
{{- end }}
{{- with $r.backoff }}
{{ $prefix }}BACKOFF: {{ . | quote }}
{{- end }}
{{- range $key, $suffix := dict "maxRetries" "MAX_RETRIES" "intervalMs" "INTERVAL_MS" "maxIntervalMs" "MAX_INTERVAL_MS" }}
{{- if not (kindIs "invalid" (index $r $key)) }}
{{ $prefix }}{{ $suffix }}: {{ index $r $key | int64 | toString | quote }}
{{- end }}
{{- end }}
{{- if not (kindIs "invalid" $r.multiplier) }}
{{ $prefix }}MULTIPLIER: {{ $r.multiplier | float64 | toString | quote }}
{{- end }}
{{- end }}
