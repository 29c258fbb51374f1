{{/*
ConfigMap with the service's non-secret environment (envFrom). Its sha256 is the pod template's
checksum/config annotation, so a config change rolls the pods. The chart adds its own keys with a
"<chart>.config" template; secrets never go here (see platform-lib.secretEnv).
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
  JWT_ISSUER: {{ .Values.global.jwt.issuer | quote }}
  JWT_AUDIENCE: {{ .Values.global.jwt.audience | quote }}
  NATS_URL: {{ required "global.nats.url is required: the NATS server (JetStream enabled), e.g. nats://nats.messaging:4222" .Values.global.nats.url | quote }}
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

{{/* Environment from existing Secrets (no secret value is ever rendered by these charts). */}}
{{- define "platform-lib.secretEnv" -}}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ required "global.jwt.existingSecret is required: the Secret holding the JWT signing key (HS256, at least 32 characters)" .Values.global.jwt.existingSecret }}
      key: {{ .Values.global.jwt.secretKey }}
- name: NATS_USER
  valueFrom:
    secretKeyRef:
      name: {{ required "global.nats.existingSecret is required: the Secret holding the NATS user and password" .Values.global.nats.existingSecret }}
      key: {{ .Values.global.nats.userKey }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.global.nats.existingSecret }}
      key: {{ .Values.global.nats.passwordKey }}
{{- include (printf "%s.secretEnv" .Chart.Name) . }}
{{- end }}
