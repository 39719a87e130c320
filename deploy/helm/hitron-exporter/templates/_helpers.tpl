{{/* Chart name. */}}
{{- define "hitron-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "hitron-exporter.fullname" -}}
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

{{- define "hitron-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hitron-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hitron-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "hitron-exporter.labels" -}}
helm.sh/chart: {{ include "hitron-exporter.chart" . }}
{{ include "hitron-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "hitron-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hitron-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Fails on an unknown credentials.mode. */}}
{{- define "hitron-exporter.mode" -}}
{{- $mode := .Values.credentials.mode }}
{{- if not (has $mode (list "none" "keytab" "vaultAgentFile" "vaultAgentProxy")) }}
{{- fail (printf "credentials.mode must be none, keytab, vaultAgentFile or vaultAgentProxy, not %q" $mode) }}
{{- end }}
{{- $mode }}
{{- end }}
