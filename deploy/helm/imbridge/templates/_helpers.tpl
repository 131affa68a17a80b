{{/* The chart's name. */}}
{{- define "imbridge.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the release name when it contains the chart's (a release
named imbridge gives the base's names: imbridge, imbridge-headless), else RELEASE-imbridge. */}}
{{- define "imbridge.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* What selects imbridge's pods (and nothing else: the topic Job's pods have a name of their own). */}}
{{- define "imbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "imbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "imbridge.labels" -}}
{{ include "imbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "imbridge.topicsSelectorLabels" -}}
app.kubernetes.io/name: {{ include "imbridge.name" . }}-topics
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "imbridge.topicsLabels" -}}
{{ include "imbridge.topicsSelectorLabels" . }}
app.kubernetes.io/part-of: {{ include "imbridge.name" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "imbridge.secretName" -}}
{{- if .Values.secret.create -}}
{{- include "imbridge.fullname" . -}}
{{- else -}}
{{- default (include "imbridge.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "imbridge.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag latest would change what runs under a restart: pin a version or a digest" -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The egress every pod of the chart needs: the cluster's DNS and the brokers' ports. */}}
{{- define "imbridge.egress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
- ports:
    {{- range .Values.networkPolicy.kafkaPorts }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
  {{- with .Values.networkPolicy.kafkaPeers }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
