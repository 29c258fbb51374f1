{{/*
Full name of one service of this release, as its chart names it (platform-lib.fullname: the
service's fullnameOverride, else <release>-<nameOverride or chart name>, or the release name alone
when it already contains that name). Usage: include "agent-platform.serviceFullname" (dict "root" $ "svc" "knowledge")
*/}}
{{- define "agent-platform.serviceFullname" -}}
{{- $values := index .root.Values .svc }}
{{- if $values.fullnameOverride }}
{{- $values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .svc $values.nameOverride }}
{{- if contains $name .root.Release.Name }}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .root.Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Checks across the service charts, which cannot see each other's values. The default URL between
two services is derived from the release name (platform-lib.peerFullname); a service renamed with
fullnameOverride or nameOverride would leave its caller pointing at a Service that does not exist,
so the render fails naming the URL to set instead.
*/}}
{{- define "agent-platform.validate" -}}
{{- range $caller, $callee := dict "operations" "knowledge" "coordination" "operations" }}
{{- $calleeValues := index $.Values $callee }}
{{- $url := (index (index $.Values $caller) $callee).url | default "" }}
{{- if and (index $.Values $caller).enabled (or $calleeValues.fullnameOverride $calleeValues.nameOverride) (contains "platform-lib.peerFullname" $url) }}
{{- fail (printf "%s.fullnameOverride/nameOverride renames the %s Service: set %s.%s.url too (e.g. http://%s:%v)" $callee $callee $caller $callee (include "agent-platform.serviceFullname" (dict "root" $ "svc" $callee)) (ternary 4101 4102 (eq $callee "knowledge"))) }}
{{- end }}
{{- end }}
{{- end }}
