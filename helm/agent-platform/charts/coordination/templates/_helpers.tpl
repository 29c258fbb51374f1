{{/*
Names, labels and every workload template come from the platform-lib library chart (the
`helm create` helpers, shared by the three services). This file holds what only coordination has,
included by the library as "coordination.*". Its store is NATS JetStream itself, whose egress rule
the library always adds; its only other egress is operations (tRPC).
*/}}

{{/* operations.url, rendered with tpl so the umbrella chart can derive it from the release name. */}}
{{- define "coordination.operationsUrl" -}}
{{- tpl (required "operations.url is required: the base URL of the operations service, e.g. http://platform-operations:4102" .Values.operations.url) . }}
{{- end }}

{{/* Non-secret environment (ConfigMap). */}}
{{- define "coordination.config" -}}
OPERATIONS_URL: {{ include "coordination.operationsUrl" . | quote }}
OPERATIONS_TIMEOUT_MS: {{ .Values.operations.timeoutMs | int64 | quote }}
CLAIM_WAIT_MS: {{ .Values.claimWaitMs | quote }}
OUTBOX_SWEEP_MS: {{ .Values.outboxSweepMs | quote }}
AGENT_TOKEN_TTL_S: {{ .Values.agentTokenTtlSeconds | int64 | quote }}
JOBS_STREAM_MAX_BYTES: {{ .Values.retention.jobsStreamMaxBytes | int64 | quote }}
{{- end }}

{{/* Environment from existing Secrets: none beyond the shared NATS ones (its signing key is a mounted file, platform-lib.signingKeyVolume). */}}
{{- define "coordination.secretEnv" }}
{{- end }}

{{/* Egress beyond DNS and NATS: operations' pods on operations' port (tRPC, asked as the caller). */}}
{{- define "coordination.egress" -}}
- ports:
    - port: {{ include "platform-lib.urlPort" (dict "url" (include "coordination.operationsUrl" .) "default" 4102) }}
      protocol: TCP
  to:
    - podSelector:
        matchLabels:
          {{- toYaml .Values.operations.podSelector | nindent 10 }}
      {{- with .Values.operations.namespaceSelector }}
      namespaceSelector:
        matchLabels:
          {{- toYaml . | nindent 10 }}
      {{- end }}
{{- end }}
