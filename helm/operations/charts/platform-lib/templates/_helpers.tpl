{{/*
Names and labels: the `helm create` helpers, written once for every service chart. Inside a
service chart `.Chart` is that chart, so `platform-lib.name` is "knowledge", "operations", ...
*/}}

{{/* Expand the name of the chart. */}}
{{- define "platform-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name. Truncated at 63 chars (DNS label).
If the release name contains the chart name it is used as the full name.
*/}}
{{- define "platform-lib.fullname" -}}
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

{{/*
Full name of another service chart of the same release (the umbrella chart's knowledge, operations,
coordination): the fullname rule above applied to that chart's name, so the default URLs between the
services follow the release name, including a release name that already contains the chart name.
A sibling's own fullnameOverride/nameOverride is not visible from here (subcharts see only their
own values); the umbrella chart refuses such an override unless the URL is set explicitly.
Usage: include "platform-lib.peerFullname" (dict "ctx" . "chart" "knowledge")
*/}}
{{- define "platform-lib.peerFullname" -}}
{{- if contains .chart .ctx.Release.Name }}
{{- .ctx.Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .ctx.Release.Name .chart | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Chart name and version as used by the chart label. */}}
{{- define "platform-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels. */}}
{{- define "platform-lib.labels" -}}
helm.sh/chart: {{ include "platform-lib.chart" . }}
{{ include "platform-lib.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agent-platform
{{- end }}

{{/* Selector labels. */}}
{{- define "platform-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "platform-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of the service's auxiliary pods and objects (migration Job, `helm test` pod). Their name
label differs from the service's, so the Deployment, Service, PDB and NetworkPolicy selectors
(name + instance) never match them: a running Job pod must not receive the service's traffic.
Usage: include "platform-lib.componentLabels" (dict "ctx" . "component" "migration")
*/}}
{{- define "platform-lib.componentLabels" -}}
helm.sh/chart: {{ include "platform-lib.chart" .ctx }}
app.kubernetes.io/name: {{ printf "%s-%s" (include "platform-lib.name" .ctx) .component | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .ctx.Chart.AppVersion }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: agent-platform
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The name of the service account to use. */}}
{{- define "platform-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "platform-lib.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference: [registry/]repository[:tag][@digest]. The registry and tag fall back to
global.imageRegistry / global.imageTag, the tag then to the chart's appVersion.
*/}}
{{- define "platform-lib.image" -}}
{{- $registry := .Values.image.registry | default .Values.global.imageRegistry -}}
{{- $tag := .Values.image.tag | default .Values.global.imageTag | default .Chart.AppVersion | toString -}}
{{- if $registry }}{{ $registry }}/{{ end }}{{ .Values.image.repository }}:{{ $tag }}{{ with .Values.image.digest }}@{{ . }}{{ end }}
{{- end }}

{{/* `imagePullSecrets:` of a pod spec, or nothing. Usage: with (include ...) then nindent. */}}
{{- define "platform-lib.imagePullSecrets" -}}
{{- $secrets := concat (.Values.global.imagePullSecrets | default list) (.Values.imagePullSecrets | default list) | uniq }}
{{- if $secrets -}}
imagePullSecrets:
{{- range $secrets }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Port of a URL ("nats://nats.messaging:4222" → 4222), or the given default when it names none.
Usage: include "platform-lib.urlPort" (dict "url" .Values.global.nats.url "default" 4222)
*/}}
{{- define "platform-lib.urlPort" -}}
{{- $host := (urlParse (.url | default "")).host | default "" -}}
{{- $parts := splitList ":" $host -}}
{{- if and (eq (len $parts) 2) (regexMatch "^[0-9]+$" (last $parts)) }}{{ last $parts }}{{ else }}{{ .default }}{{ end }}
{{- end }}

{{/*
One NetworkPolicy egress rule: a TCP (or UDP+TCP for DNS) port and its `to` peers; no peers = any
destination on that port (stores are external by default).
Usage: include "platform-lib.egressRule" (dict "port" 7687 "to" .Values.networkPolicy.egress.storeTo)
*/}}
{{- define "platform-lib.egressRule" -}}
- ports:
    {{- if .dns }}
    - port: {{ .port }}
      protocol: UDP
    {{- end }}
    - port: {{ .port }}
      protocol: TCP
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
Checks the schema cannot express (values.schema.json covers types, ranges and patterns).
Fails the render with a message naming the values to fix.
*/}}
{{- define "platform-lib.validate" -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%v) must not exceed autoscaling.maxReplicas (%v)" .Values.autoscaling.minReplicas .Values.autoscaling.maxReplicas) }}
{{- end }}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled $pdb.minAvailable }}
{{- $replicas := ternary .Values.autoscaling.minReplicas .Values.replicaCount .Values.autoscaling.enabled | int }}
{{- if and (kindIs "float64" $pdb.minAvailable) (ge (int $pdb.minAvailable) $replicas) }}
{{- fail (printf "podDisruptionBudget.minAvailable (%v) must be below the replica count (%v), or no node could ever be drained" $pdb.minAvailable $replicas) }}
{{- end }}
{{- end }}
{{- $budgetMs := mul (sub (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) 1000 }}
{{- if ge (int .Values.shutdownTimeoutMs) (int $budgetMs) }}
{{- fail (printf "shutdownTimeoutMs (%v) must be below (terminationGracePeriodSeconds - preStopSleepSeconds) * 1000 = %v, or Kubernetes kills the pod before it has drained" .Values.shutdownTimeoutMs $budgetMs) }}
{{- end }}
{{- end }}
