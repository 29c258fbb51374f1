{{/*
`helm test` pod (replaces `helm create`'s busybox wget): calls the service's /readyz through its
Service and passes only on 200, i.e. the service is up AND reaches every dependency. Uses the
service's own image (node's fetch), so no other image has to be pulled or mirrored.
*/}}
{{- define "platform-lib.test" -}}
{{- if .Values.tests.enabled }}
{{- $fullname := include "platform-lib.fullname" . -}}
{{- $name := printf "%s-test-readyz" $fullname | trunc 63 | trimSuffix "-" }}
# Its own ServiceAccount (no token, no RBAC): the namespace's `default` one may carry permissions
# or image pull secrets granted to something else.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  labels:
    {{- include "platform-lib.componentLabels" (dict "ctx" . "component" "test") | nindent 4 }}
  annotations:
    "helm.sh/hook": test
    "helm.sh/hook-weight": "-1"
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
automountServiceAccountToken: false
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ $name }}
  labels:
    {{- include "platform-lib.componentLabels" (dict "ctx" . "component" "test") | nindent 4 }}
  annotations:
    "helm.sh/hook": test
    "helm.sh/hook-delete-policy": before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  serviceAccountName: {{ $name }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with (include "platform-lib.imagePullSecrets" .) }}
  {{- . | nindent 2 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: readyz
      image: {{ include "platform-lib.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      # The image's ENTRYPOINT (tini) stays; only the command changes.
      args:
        - node
        - -e
        - |
          const url = process.env.READYZ_URL;
          const attempt = async (n) => {
            try {
              const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
              const body = await res.text();
              console.log(`${url} -> ${res.status} ${body}`);
              if (res.status === 200) process.exit(0);
            } catch (err) {
              console.log(`${url} -> ${err.message}`);
            }
            if (n >= 10) process.exit(1);
            setTimeout(() => attempt(n + 1), 3000);
          };
          attempt(1);
      env:
        - name: READYZ_URL
          value: {{ printf "http://%s.%s.svc:%v/readyz" $fullname .Release.Namespace .Values.service.port | quote }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.tests.resources | nindent 8 }}
{{- end }}
{{- end }}

{{/* NOTES.txt body for one service. */}}
{{- define "platform-lib.notes" -}}
{{- $fullname := include "platform-lib.fullname" . -}}
{{ .Chart.Name }} ({{ include "platform-lib.image" . }}) in namespace {{ .Release.Namespace }}:
  in-cluster URL    http://{{ $fullname }}.{{ .Release.Namespace }}.svc:{{ .Values.service.port }}  (tRPC /trpc, REST /api, /openapi.json, /docs)
  {{- if .Values.ingress.enabled }}
  {{- range $host := .Values.ingress.hosts }}
  ingress           http{{ if $.Values.ingress.tls }}s{{ end }}://{{ $host.host }}
  {{- end }}
  {{- end }}
  rollout           kubectl -n {{ .Release.Namespace }} rollout status deployment/{{ $fullname }}
  from your machine kubectl -n {{ .Release.Namespace }} port-forward service/{{ $fullname }} {{ .Values.service.port }}:{{ .Values.service.port }}
                    curl -s http://127.0.0.1:{{ .Values.service.port }}/readyz   # 200, or 503 problem+json naming the failing dependency
                    curl -s http://127.0.0.1:{{ .Values.service.port }}/healthz  # liveness only (no dependency calls)
  logs              kubectl -n {{ .Release.Namespace }} logs deployment/{{ $fullname }} -f
{{- end }}
