{{/*
ConfigMap with the service's non-secret environment (envFrom). Its sha256 is the pod template's
checksum/config annotation, so a config change rolls the pods. The chart adds its own keys with a
"<chart>.config" template; secrets never go here (see platform-lib.secretEnv and
platform-lib.signingKeyVolume).
*/}}
{{- define "platform-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "platform-lib.fullname" . }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
data:
  HOST: "0.0.0.0"
  PORT: {{ .Values.service.port | quote }}
  LOG_LEVEL: {{ .Values.logLevel | quote }}
  {{- /* Public keys only (the schema refuses a JWK with "d"): who may sign tokens for whom. */}}
  {{- if not .Values.global.auth.issuers }}
  {{- fail "global.auth.issuers is required: the trusted token issuers, e.g. [{issuer: https://idp.example, jwks: https://idp.example/.well-known/jwks.json, kinds: [user]}, {issuer: operations, jwks: {keys: [<operations' public JWK>]}, kinds: [service], delegates: true}, …] (docs/deploy.md \"Tokens and keys\")" }}
  {{- end }}
  AUTH_ISSUERS: {{ .Values.global.auth.issuers | toJson | quote }}
  AUTH_AUDIENCE: {{ .Values.global.auth.audience | quote }}
  AUTH_MAX_TOKEN_LIFETIME_S: {{ .Values.global.auth.maxTokenLifetimeSeconds | int64 | quote }}
  AUTH_CLOCK_SKEW_S: {{ .Values.global.auth.clockSkewSeconds | int64 | quote }}
  MAX_BODY_BYTES: {{ .Values.limits.maxBodyBytes | int64 | quote }}
  MAX_BATCH_CALLS: {{ .Values.limits.maxBatchCalls | int64 | quote }}
  MAX_JSON_DEPTH: {{ .Values.limits.maxJsonDepth | int64 | quote }}
  SUBSCRIPTIONS_PER_PRINCIPAL: {{ .Values.limits.subscriptionsPerPrincipal | int64 | quote }}
  RATE_LIMIT_ENABLED: {{ .Values.limits.rateLimit.enabled | quote }}
  RATE_LIMIT_REQUESTS: {{ .Values.limits.rateLimit.requests | int64 | quote }}
  RATE_LIMIT_ANONYMOUS_REQUESTS: {{ .Values.limits.rateLimit.anonymousRequests | int64 | quote }}
  RATE_LIMIT_WINDOW_SECONDS: {{ .Values.limits.rateLimit.windowSeconds | int64 | quote }}
  {{- /* Stream retention, applied at every start (README "Retention"). */}}
  EVENT_STREAM_MAX_AGE_S: {{ .Values.retention.eventStreamMaxAgeSeconds | int64 | quote }}
  EVENT_STREAM_MAX_BYTES: {{ .Values.retention.eventStreamMaxBytes | int64 | quote }}
  DEAD_LETTER_MAX_AGE_S: {{ .Values.retention.deadLetterMaxAgeSeconds | int64 | quote }}
  DEAD_LETTER_MAX_BYTES: {{ .Values.retention.deadLetterMaxBytes | int64 | quote }}
  {{- /* Browser origins allowed by CORS; empty allows none (shared/kit/src/cors.ts). */}}
  CORS_ORIGINS: {{ join "," .Values.global.cors.allowedOrigins | quote }}
  {{- if .Values.auth }}
  {{- /* A service that signs tokens: its private key is the file mounted by platform-lib.signingKeyVolume. */}}
  AUTH_SIGNING_KEY_FILE: {{ include "platform-lib.signingKeyFile" . | quote }}
  {{- end }}
  NATS_URL: {{ required "global.nats.url is required: the NATS server (JetStream enabled), e.g. nats://nats.messaging:4222" .Values.global.nats.url | quote }}
  {{- /* Copies of each stream and KV bucket, applied at every start (docs/deploy.md "A NATS cluster"). */}}
  NATS_STREAM_REPLICAS: {{ .Values.global.nats.streamReplicas | int64 | quote }}
  {{- $overrides := list }}
  {{- range $stream, $n := .Values.global.nats.streamReplicaOverrides }}
  {{- $overrides = append $overrides (printf "%s=%d" $stream (int64 $n)) }}
  {{- end }}
  NATS_STREAM_REPLICAS_OVERRIDES: {{ join "," $overrides | quote }}
  {{- /*
  Each service is the NATS user of its own name, with only its own subjects and inbox prefix
  (scripts/infra/nats-config.ts); the kit derives the inbox prefix from it, so it is not a value.
  */}}
  NATS_USER: {{ .Chart.Name | quote }}
  SHUTDOWN_TIMEOUT_MS: {{ .Values.shutdownTimeoutMs | quote }}
  READINESS_TIMEOUT_MS: {{ .Values.readinessTimeoutMs | quote }}
  {{- with .Values.global.otel.endpoint }}
  OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
  {{- end }}
  {{- include (printf "%s.config" .Chart.Name) . | nindent 2 }}
  {{- range $key, $value := .Values.extraEnv }}
  {{ $key }}: {{ $value | toString | quote }}
  {{- end }}
{{- end }}

{{/*
Token signing key of the services that sign tokens (a chart with an `auth.signingKey` value:
operations and coordination; knowledge has none and gets no key). The private JWK stays in the
Secret; the pod gets it as a read-only file (group fsGroup, 0440), AUTH_SIGNING_KEY_FILE names it.
*/}}
{{- define "platform-lib.signingKeyFile" -}}
/run/secrets/agent-platform/signing-key.jwk.json
{{- end }}

{{- define "platform-lib.signingKeyMount" -}}
{{- if .Values.auth }}
- name: signing-key
  mountPath: /run/secrets/agent-platform
  readOnly: true
{{- end }}
{{- end }}

{{- define "platform-lib.signingKeyVolume" -}}
{{- if .Values.auth }}
- name: signing-key
  secret:
    secretName: {{ required (printf "%s: auth.signingKey.existingSecret is required: the Secret holding %s's private signing key (a JWK with kid and alg EdDSA or ES256, under key %s); %s signs its own service tokens" .Chart.Name .Chart.Name .Values.auth.signingKey.key .Chart.Name) .Values.auth.signingKey.existingSecret }}
    items:
      - key: {{ .Values.auth.signingKey.key }}
        path: signing-key.jwk.json
    defaultMode: 288  # 0440
{{- end }}
{{- end }}

{{/*
Environment from existing Secrets (no secret value is ever rendered by these charts). The NATS
password is this service's own (its own Secret), never a shared one.
*/}}
{{- define "platform-lib.secretEnv" -}}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "%s: nats.existingSecret is required: the Secret holding the password of NATS user %s (key %s), the same password the NATS server has for %s (docs/deploy.md \"NATS users\")" .Chart.Name .Chart.Name .Values.nats.passwordKey .Chart.Name) .Values.nats.existingSecret }}
      key: {{ .Values.nats.passwordKey }}
{{- include (printf "%s.secretEnv" .Chart.Name) . }}
{{- end }}
