{{/*
Names, labels and every workload template come from the platform-lib library chart (the
`helm create` helpers, shared by the three services). This file holds what only knowledge has:
its environment and its store's egress rule, included by the library as "knowledge.*".
*/}}

{{/* Non-secret environment (ConfigMap). */}}
{{- define "knowledge.config" -}}
NEO4J_URI: {{ required "neo4j.uri is required: the Bolt URI of Neo4j 5.26, e.g. bolt://neo4j.databases:7687" .Values.neo4j.uri | quote }}
NEO4J_USER: {{ .Values.neo4j.user | quote }}
NEO4J_DATABASE: {{ .Values.neo4j.database | quote }}
OUTBOX_POLL_MS: {{ .Values.outboxPollMs | quote }}
RUN_RECORDER_CONCURRENCY: {{ .Values.runRecorderConcurrency | quote }}
{{- with .Values.console.coordinationUrl }}
CONSOLE_COORDINATION_URL: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Environment from existing Secrets. */}}
{{- define "knowledge.secretEnv" }}
- name: NEO4J_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "neo4j.existingSecret is required: the Secret holding the Neo4j password" .Values.neo4j.existingSecret }}
      key: {{ .Values.neo4j.passwordKey }}
{{- end }}

{{/* Egress to the store this service owns: Neo4j (Bolt). */}}
{{- define "knowledge.egress" -}}
{{- include "platform-lib.egressRule" (dict "port" (include "platform-lib.urlPort" (dict "url" .Values.neo4j.uri "default" 7687)) "to" .Values.networkPolicy.egress.storeTo) }}
{{- end }}
