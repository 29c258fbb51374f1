{{/* NOTES.txt body (a named template so CI can render and check it: helm template skips NOTES.txt). */}}
{{- define "agent-platform.notes" -}}
agent-platform {{ .Chart.AppVersion }} — release {{ .Release.Name }} in namespace {{ .Release.Namespace }}.
{{- $ns := .Release.Namespace }}
{{- range $svc, $port := dict "knowledge" 4101 "operations" 4102 "coordination" 4103 }}
{{- if (index $.Values $svc).enabled }}
{{- $name := include "agent-platform.serviceFullname" (dict "root" $ "svc" $svc) }}

{{ $svc }}: http://{{ $name }}.{{ $ns }}.svc:{{ $port }}  (tRPC /trpc, REST /api, /openapi.json, /docs)
  kubectl -n {{ $ns }} rollout status deployment/{{ $name }}
  kubectl -n {{ $ns }} port-forward service/{{ $name }} {{ $port }}:{{ $port }} &
  curl -s http://127.0.0.1:{{ $port }}/readyz    # 200, or 503 problem+json naming the failing dependency
  curl -s http://127.0.0.1:{{ $port }}/healthz   # liveness only: no dependency calls
{{- end }}
{{- end }}
{{- if .Values.operations.enabled }}

{{- $migrate := printf "%s-migrate" (include "agent-platform.serviceFullname" (dict "root" $ "svc" "operations")) | trunc 63 | trimSuffix "-" }}
Migrations ran as the pre-install/pre-upgrade hook Job {{ $migrate }}
(deleted once it succeeded; kept after a failure: kubectl -n {{ $ns }} logs job/{{ $migrate }}).
{{- end }}

Check every service end to end (each /readyz through its Service):
  helm test {{ .Release.Name }} -n {{ $ns }}
{{- end }}
