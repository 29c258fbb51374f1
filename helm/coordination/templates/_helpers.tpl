{{/*
Names, labels and every workload template come from the platform-lib library chart (the
`helm create` helpers, shared by the three services). This file holds what only coordination has,
included by the library as "coordination.*". Its store is NATS JetStream itself, whose egress rule
the library always adds, so there is no other egress.
*/}}

{{/* Non-secret environment (ConfigMap). */}}
{{- define "coordination.config" -}}
CLAIM_WAIT_MS: {{ .Values.claimWaitMs | quote }}
OUTBOX_SWEEP_MS: {{ .Values.outboxSweepMs | quote }}
AGENT_TOKEN_TTL_S: {{ .Values.agentTokenTtlSeconds | int64 | quote }}
{{- end }}

{{/* Environment from existing Secrets: none beyond the shared NATS ones (its signing key is a mounted file, platform-lib.signingKeyVolume). */}}
{{- define "coordination.secretEnv" }}
{{- end }}

{{/* Egress beyond DNS and NATS: none. */}}
{{- define "coordination.egress" }}
{{- end }}
