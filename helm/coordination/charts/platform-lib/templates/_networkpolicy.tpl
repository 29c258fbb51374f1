{{/*
NetworkPolicy: only the calls the architecture draws.
  ingress  the http (tRPC/REST) port only; from networkPolicy.ingress.from (empty: any peer),
           plus this release's `helm test` pods when the peers are restricted;
  egress   DNS, NATS, the identity providers' jwks_uri ports, OTLP when configured, and what the chart adds in "<chart>.egress"
           (its own store; operations → knowledge over tRPC); networkPolicy.egress.extra last.
An empty `to` list means any destination on that port: stores are external by default, so the
port is the restriction; set the *To lists to pin destinations.
*/}}
{{- define "platform-lib.networkpolicy" -}}
{{- if .Values.networkPolicy.enabled }}
{{- $np := .Values.networkPolicy }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "platform-lib.fullname" . }}
  labels:
    {{- include "platform-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "platform-lib.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress:
    - ports:
        - port: http
          protocol: TCP
      {{- with $np.ingress.from }}
      from:
        {{- toYaml . | nindent 8 }}
        - podSelector:
            matchLabels:
              app.kubernetes.io/instance: {{ $.Release.Name }}
              app.kubernetes.io/component: test
      {{- end }}
  egress:
    {{- include "platform-lib.egressRule" (dict "port" 53 "dns" true "to" $np.egress.dnsTo) | nindent 4 }}
    {{- include "platform-lib.egressRule" (dict "port" (include "platform-lib.urlPort" (dict "url" .Values.global.nats.url "default" 4222)) "to" $np.egress.natsTo) | nindent 4 }}
    {{- include (printf "%s.egress" .Chart.Name) . | nindent 4 }}
    {{- /* Public keys fetched from an identity provider (an https:// jwks in global.auth.issuers). */}}
    {{- $jwksPorts := list }}
    {{- range .Values.global.auth.issuers }}
    {{- if and (kindIs "string" .jwks) (hasPrefix "https://" .jwks) }}
    {{- $jwksPorts = append $jwksPorts (include "platform-lib.urlPort" (dict "url" .jwks "default" 443)) }}
    {{- end }}
    {{- end }}
    {{- range ($jwksPorts | uniq) }}
    {{- include "platform-lib.egressRule" (dict "port" . "to" $np.egress.jwksTo) | nindent 4 }}
    {{- end }}
    {{- with .Values.global.otel.endpoint }}
    {{- include "platform-lib.egressRule" (dict "port" (include "platform-lib.urlPort" (dict "url" . "default" 4318)) "to" $np.egress.otelTo) | nindent 4 }}
    {{- end }}
    {{- with $np.egress.extra }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end }}
