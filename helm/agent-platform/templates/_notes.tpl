{{/* NOTES.txt body (a named template so CI can render and check it: helm template skips NOTES.txt). */}}
{{- define "agent-platform.notes" -}}
agent-platform {{ .Chart.AppVersion }} — release {{ .Release.Name }} in namespace {{ .Release.Namespace }}.
{{- $ns := .Release.Namespace }}
{{- range $svc, $port := dict "knowledge" 4101 "operations" 4102 "coordination" 4103 }}
{{- if (index $.Values $svc).enabled }}
{{- $name := printf "%s-%s" $.Release.Name $svc }}
{{- if contains $svc $.Release.Name }}{{ $name = $.Release.Name }}{{ end }}
{{- with (index $.Values $svc).fullnameOverride }}{{ $name = . }}{{ end }}

{{ $svc }}: http://{{ $name }}.{{ $ns }}.svc:{{ $port }}  (tRPC /trpc, REST /api, /openapi.json, /docs)
  kubectl -n {{ $ns }} rollout status deployment/{{ $name }}
  kubectl -n {{ $ns }} port-forward service/{{ $name }} {{ $port }}:{{ $port }} &
  curl -s http://127.0.0.1:{{ $port }}/readyz    # 200, or 503 problem+json naming the failing dependency
  curl -s http://127.0.0.1:{{ $port }}/healthz   # liveness only: no dependency calls
{{- end }}
{{- end }}
{{- if .Values.operations.enabled }}

Migrations ran as the pre-install/pre-upgrade hook Job {{ .Release.Name }}-operations-migrate
(kept after a failure: kubectl -n {{ $ns }} logs job/{{ .Release.Name }}-operations-migrate).
{{- end }}

Check every service end to end (each /readyz through its Service):
  helm test {{ .Release.Name }} -n {{ $ns }}
{{- end }}
