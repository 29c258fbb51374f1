{{/*
Names, labels and every workload template come from the platform-lib library chart (the
`helm create` helpers, shared by the three services). This file holds what only operations has:
its environment, its egress (Postgres, and knowledge over tRPC) and the migration Job's names,
included by the library as "operations.*".
*/}}

{{/* knowledge.url, rendered with tpl so the umbrella chart can derive it from the release name. */}}
{{- define "operations.knowledgeUrl" -}}
{{- tpl (required "knowledge.url is required: the base URL of the knowledge service, e.g. http://platform-knowledge:4101" .Values.knowledge.url) . }}
{{- end }}

{{/*
Postgres connections: every replica opens at most poolMax + max(2, ceil(poolMax / 2)) + 1 (its main
pool, the event store's pool, the outbox relay's LISTEN connection: services/operations/src/main.ts).
At their most the replicas are the HPA's maximum (or replicaCount) plus the rolling update's surge
(25 %, rounded up). Refuse values whose total would not fit under max_connections, rather than
letting the database refuse connections at the first scale-out (docs/capacity.md).
*/}}
{{- define "operations.connectionBudget" -}}
{{- $pool := int .Values.database.poolMax }}
{{- $perReplica := add $pool (max 2 (div (add $pool 1) 2)) 1 }}
{{- $replicas := ternary (int .Values.autoscaling.maxReplicas) (int .Values.replicaCount) .Values.autoscaling.enabled }}
{{- $atMost := add $replicas (div (add $replicas 3) 4) }}
{{- $total := mul $atMost $perReplica }}
{{- $budget := sub (int .Values.database.maxConnections) (int .Values.database.reservedConnections) }}
{{- if gt $total $budget }}
{{- fail (printf "operations could open %d Postgres connections (%d replicas at most, incl. rolling-update surge, x %d each for database.poolMax=%d), more than database.maxConnections (%d) minus database.reservedConnections (%d): lower database.poolMax or the replicas, or raise max_connections (or put a pooler in front) and database.maxConnections; see docs/capacity.md" $total $atMost $perReplica $pool (int .Values.database.maxConnections) (int .Values.database.reservedConnections)) }}
{{- end }}
{{- end }}

{{/* Non-secret environment (ConfigMap). */}}
{{- define "operations.config" -}}
{{- include "operations.connectionBudget" . }}
DATABASE_POOL_MAX: {{ .Values.database.poolMax | int64 | quote }}
KNOWLEDGE_URL: {{ include "operations.knowledgeUrl" . | quote }}
KNOWLEDGE_TIMEOUT_MS: {{ .Values.knowledge.timeoutMs | quote }}
OUTBOX_POLL_MS: {{ .Values.outboxPollMs | quote }}
OUTBOX_SENT_RETENTION_S: {{ .Values.retention.outboxSentSeconds | int64 | quote }}
PROCESSED_EVENTS_RETENTION_S: {{ .Values.retention.processedEventsSeconds | int64 | quote }}
RETENTION_PRUNE_INTERVAL_S: {{ .Values.retention.pruneIntervalSeconds | int64 | quote }}
RETENTION_PRUNE_BATCH: {{ .Values.retention.pruneBatch | int64 | quote }}
{{- end }}

{{/* Environment from existing Secrets: the service role's URL (never the owner's). */}}
{{- define "operations.secretEnv" }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required: the Secret holding the service role's postgresql:// URL" .Values.database.existingSecret }}
      key: {{ .Values.database.urlKey }}
{{- end }}

{{/* Egress: Postgres (its own store) and knowledge's pods on knowledge's port (tRPC). */}}
{{- define "operations.egress" -}}
{{- include "platform-lib.egressRule" (dict "port" .Values.database.port "to" .Values.networkPolicy.egress.storeTo) }}
- ports:
    - port: {{ include "platform-lib.urlPort" (dict "url" (include "operations.knowledgeUrl" .) "default" 4101) }}
      protocol: TCP
  to:
    - podSelector:
        matchLabels:
          {{- toYaml .Values.knowledge.podSelector | nindent 10 }}
      {{- with .Values.knowledge.namespaceSelector }}
      namespaceSelector:
        matchLabels:
          {{- toYaml . | nindent 10 }}
      {{- end }}
{{- end }}

{{- define "operations.migrationName" -}}
{{- printf "%s-migrate" (include "platform-lib.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
