{{/*
Named templates of the telework-broker chart. Every template in this directory builds names,
labels and broker settings through these, so a rename happens in one place.
*/}}

{{/* Chart name, or nameOverride; at most 63 characters (a DNS label). */}}
{{- define "telework-broker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources: fullnameOverride, else <release>-<chart name>, or just the
release name when it already contains the chart name. Cut to 63 characters for DNS.
*/}}
{{- define "telework-broker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "telework-broker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource (the recommended app.kubernetes.io set). */}}
{{- define "telework-broker.labels" -}}
helm.sh/chart: {{ include "telework-broker.chart" . }}
{{ include "telework-broker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: telework-broker
{{- end }}

{{/* Labels that identify the release's pods; never change them (Deployment selectors are immutable). */}}
{{- define "telework-broker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "telework-broker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of the broker pods (the evaluation Redis shares name and instance, not component). */}}
{{- define "telework-broker.brokerSelectorLabels" -}}
{{ include "telework-broker.selectorLabels" . }}
app.kubernetes.io/component: broker
{{- end }}

{{/* Selector of the evaluation Redis pod. */}}
{{- define "telework-broker.redisSelectorLabels" -}}
{{ include "telework-broker.selectorLabels" . }}
app.kubernetes.io/component: evaluation-redis
{{- end }}

{{/* Name of the ServiceAccount the broker pods run as. */}}
{{- define "telework-broker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "telework-broker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The broker image: repository@digest when a digest is given, else repository:tag. */}}
{{- define "telework-broker.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Name of the Secret the broker reads its secrets from (an existing one, or the chart's). */}}
{{- define "telework-broker.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "telework-broker.fullname" .) }}
{{- end }}

{{/* Name of the ConfigMap holding the pools file. */}}
{{- define "telework-broker.configMapName" -}}
{{- printf "%s-config" (include "telework-broker.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name (and in-cluster host) of the evaluation Redis. */}}
{{- define "telework-broker.evaluationRedisName" -}}
{{- printf "%s-redis" (include "telework-broker.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* True ("true") when an external Redis is configured for the chosen mode. */}}
{{- define "telework-broker.externalRedisConfigured" -}}
{{- $r := .Values.redis }}
{{- if or (and (eq $r.mode "standalone") $r.url) (and (eq $r.mode "sentinel") $r.sentinel.nodes) (and (eq $r.mode "cluster") $r.cluster.nodes) }}true{{ end }}
{{- end }}

{{/*
Stops rendering with a message naming the value when the release cannot work. `helm lint`
ignores `fail`, so lint the chart with an example values file to see these.
*/}}
{{- define "telework-broker.validate" -}}
{{- $external := include "telework-broker.externalRedisConfigured" . }}
{{- if and (not $external) (not .Values.evaluationRedis.enabled) }}
{{- fail "Redis is required: replicas share their leases only through Redis. Set redis.url (mode standalone), redis.sentinel.nodes and redis.sentinel.masterName (mode sentinel) or redis.cluster.nodes (mode cluster); or, for evaluation only, evaluationRedis.enabled=true." }}
{{- end }}
{{- if and $external .Values.evaluationRedis.enabled }}
{{- fail "Both an external Redis (redis.*) and evaluationRedis.enabled are set: choose one." }}
{{- end }}
{{- if and (eq .Values.redis.mode "sentinel") $external (not .Values.redis.sentinel.masterName) }}
{{- fail "redis.sentinel.masterName is required with redis.mode sentinel." }}
{{- end }}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- fail "autoscaling.maxReplicas must not be below autoscaling.minReplicas." }}
{{- end }}
{{- if not (or .Values.configFile .Values.config) }}
{{- fail "The capacity model is required: set config (pools, agencies, ...) or --set-file configFile=<your pools file>; config/broker.yaml in the repository is an example." }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
{{- if and (eq .Values.auth.mode "hs256") (not .Values.secrets.jwtSecret) }}
{{- fail "secrets.jwtSecret (at least 32 characters) is required with auth.mode hs256, or name an existing Secret in secrets.existingSecret." }}
{{- end }}
{{- if not .Values.secrets.pseudonymKey }}
{{- fail "secrets.pseudonymKey (at least 32 characters) is required, or name an existing Secret in secrets.existingSecret." }}
{{- end }}
{{- end }}
{{- if and (eq .Values.auth.mode "jwks") (not .Values.auth.jwksUrl) }}
{{- fail "auth.jwksUrl is required with auth.mode jwks." }}
{{- end }}
{{- if and (eq .Values.auth.mode "public-key") (not .Values.auth.publicKey) }}
{{- fail "auth.publicKey (PEM) is required with auth.mode public-key." }}
{{- end }}
{{- end }}

{{/*
The pools file: the capacity model from configFile when given (it wins, so a values file with a
small config can be overridden by --set-file), else from config; its auth section is replaced by
the auth values. toYaml sorts keys; the broker does not care about order.
*/}}
{{- define "telework-broker.brokerConfig" -}}
{{- $cfg := dict }}
{{- if .Values.configFile }}
{{- $cfg = fromYaml .Values.configFile }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "configFile is not valid YAML: %v" (get $cfg "Error")) }}
{{- end }}
{{- else }}
{{- $cfg = deepCopy .Values.config }}
{{- end }}
{{- $auth := dict "mode" .Values.auth.mode "issuer" .Values.auth.issuer "audience" .Values.auth.audience "clockToleranceSeconds" .Values.auth.clockToleranceSeconds "tokenCacheSize" .Values.auth.tokenCacheSize "maxTokenLifetimeSeconds" .Values.auth.maxTokenLifetimeSeconds }}
{{- if eq .Values.auth.mode "jwks" }}
{{- $_ := set $auth "jwksUrl" .Values.auth.jwksUrl }}
{{- end }}
{{- if eq .Values.auth.mode "public-key" }}
{{- $_ := set $auth "publicKeyFile" "/etc/broker/auth-public-key.pem" }}
{{- end }}
{{- with .Values.auth.algorithms }}
{{- $_ := set $auth "algorithms" . }}
{{- end }}
{{- with .Values.auth.claims }}
{{- $_ := set $auth "claims" . }}
{{- end }}
{{- $_ := set $cfg "auth" $auth }}
{{- toYaml $cfg }}
{{- end }}

{{/* Id of the first agency in the capacity model, for the token example in NOTES.txt. */}}
{{- define "telework-broker.firstAgency" -}}
{{- $cfg := .Values.config }}
{{- if .Values.configFile }}
{{- $cfg = fromYaml .Values.configFile }}
{{- end }}
{{- $agencies := get $cfg "agencies" | default (list) }}
{{- if and (kindIs "slice" $agencies) $agencies }}
{{- $first := first $agencies }}
{{- if kindIs "map" $first }}{{ get $first "id" | default "<agency-id>" }}{{ else }}<agency-id>{{ end }}
{{- else }}<agency-id>{{ end }}
{{- end }}

{{/* REDIS_* environment of the broker container for the configured topology. */}}
{{- define "telework-broker.redisEnv" -}}
{{- if .Values.evaluationRedis.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379" (include "telework-broker.evaluationRedisName" .) | quote }}
{{- else if eq .Values.redis.mode "sentinel" }}
- name: REDIS_SENTINELS
  value: {{ join "," .Values.redis.sentinel.nodes | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.sentinel.masterName | quote }}
{{- else if eq .Values.redis.mode "cluster" }}
- name: REDIS_CLUSTER_NODES
  value: {{ join "," .Values.redis.cluster.nodes | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- end }}
- name: REDIS_KEY_PREFIX
  value: {{ .Values.redis.keyPrefix | quote }}
{{- with .Values.redis.durability }}
{{- if ne .ackReplicas nil }}
- name: REDIS_ACK_REPLICAS
  value: {{ .ackReplicas | quote }}
{{- end }}
- name: REDIS_ACK_TIMEOUT_MS
  value: {{ .ackTimeoutMs | quote }}
{{- end }}
{{- if and (not .Values.evaluationRedis.enabled) (or .Values.secrets.existingSecret .Values.secrets.redisPassword) }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "telework-broker.secretName" . }}
      key: {{ .Values.secrets.keys.redisPassword }}
      optional: {{ if .Values.secrets.existingSecret }}true{{ else }}false{{ end }}
{{- end }}
{{- end }}

{{/* Secret environment of the broker container (also used by `kubectl exec ... token.cli.js`). */}}
{{- define "telework-broker.secretEnv" -}}
{{- if eq .Values.auth.mode "hs256" }}
- name: BROKER_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "telework-broker.secretName" . }}
      key: {{ .Values.secrets.keys.jwtSecret }}
{{- end }}
- name: BROKER_PSEUDONYM_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "telework-broker.secretName" . }}
      key: {{ .Values.secrets.keys.pseudonymKey }}
{{- end }}
