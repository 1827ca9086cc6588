{{/*
Names, labels and derived values shared by the templates. Everything that more than
one template needs, or that needs a rule (slashes, defaults, secrets), lives here.
*/}}

{{- define "grader-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, unless the release name already contains the chart name. */}}
{{- define "grader-service.fullname" -}}
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

{{- define "grader-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "grader-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: service
{{- end }}

{{- define "grader-service.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "grader-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "grader-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "grader-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "grader-service.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "grader-service.gradingImage" -}}
{{- $image := .Values.grading.kubernetes.image }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}

{{/* "services/grader" -> "/services/grader/": routes and probe paths are joined blindly. */}}
{{- define "grader-service.baseUrl" -}}
{{- $inner := trimAll "/" .Values.baseUrl }}
{{- if $inner }}{{ printf "/%s/" $inner }}{{ else }}/{{ end }}
{{- end }}

{{- define "grader-service.claimName" -}}
{{- default (printf "%s-data" (include "grader-service.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* The Secret holding the hub token (ours unless hub.existingSecret names another). */}}
{{- define "grader-service.hubSecretName" -}}
{{- default (include "grader-service.fullname" .) .Values.hub.existingSecret }}
{{- end }}

{{- define "grader-service.hubSecretKey" -}}
{{- if .Values.hub.existingSecret }}{{ .Values.hub.existingSecretKey }}{{ else }}hub-api-token{{ end }}
{{- end }}

{{- define "grader-service.dbSecretName" -}}
{{- default (include "grader-service.fullname" .) .Values.database.existingSecret }}
{{- end }}

{{- define "grader-service.dbSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}db-url{{ end }}
{{- end }}

{{/*
The hub token stored in our Secret: the value given, else the one stored by an earlier
install (so upgrades do not break the hub's copy), else a new random one.
*/}}
{{- define "grader-service.hubApiToken" -}}
{{- if .Values.hub.apiToken }}
{{- .Values.hub.apiToken }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "grader-service.fullname" .) }}
{{- if and $existing (index $existing.data "hub-api-token") }}
{{- index $existing.data "hub-api-token" | b64dec }}
{{- else }}
{{- randAlphaNum 64 }}
{{- end }}
{{- end }}
{{- end }}

{{- define "grader-service.isKubernetesExecutor" -}}
{{- if eq .Values.grading.executor "kubernetes" }}true{{ end }}
{{- end }}

{{/* The local executor's privileged mode runs the container as root (see values.yaml). */}}
{{- define "grader-service.privilegedLocal" -}}
{{- if and (eq .Values.grading.executor "local") .Values.grading.local.privileged }}true{{ end }}
{{- end }}

{{/* A Python literal of any value: JSON decoded at load time (JSON true/null are not Python). */}}
{{- define "grader-service.pyJson" -}}
json.loads({{ toJson . | toJson }})
{{- end }}

{{- define "grader-service.pyBool" -}}
{{- ternary "True" "False" . }}
{{- end }}

{{/*
Rules that span several values (values.schema.json checks each value on its own). Every
template that depends on them includes this, so `helm template` fails with the reason.
*/}}
{{- define "grader-service.validate" -}}
{{- $v := .Values }}
{{- if and (gt (int $v.replicas) 1) (ne $v.database.dialect "postgresql") }}
{{- fail (printf "replicas=%d needs database.dialect=postgresql: SQLite is a single file that only one service process may write. Set replicas: 1 or use PostgreSQL (database.url or database.existingSecret)." (int $v.replicas)) }}
{{- end }}
{{- if and (ne $v.persistence.accessMode "ReadWriteMany") (or (gt (int $v.replicas) 1) (eq $v.grading.executor "kubernetes")) }}
{{- fail "persistence.accessMode must be ReadWriteMany when replicas > 1 or grading.executor=kubernetes: every replica and every grading pod mounts the data volume." }}
{{- end }}
{{- if ge (float64 $v.shutdownTimeout) (float64 $v.terminationGracePeriodSeconds) }}
{{- fail "shutdownTimeout must be shorter than terminationGracePeriodSeconds, or Kubernetes kills the service while requests are still finishing." }}
{{- end }}
{{- if and $v.ingress.enabled (not $v.ingress.host) }}
{{- fail "ingress.enabled needs ingress.host." }}
{{- end }}
{{- end }}

{{/*
What the service container and its upgrade-db init container share: environment
(secrets as variables), mounts, resources and the security context. Called with
(dict "root" $ "grades" bool): only the container that grades (local executor) may
need privileges; the migration never does.
*/}}
{{- define "grader-service.containerCommon" -}}
{{- $grades := .grades }}
{{- with .root }}
env:
  # git and Jupyter write their small state files under $HOME; the root is read-only.
  - name: HOME
    value: /tmp
  - name: JUPYTERHUB_API_TOKEN
    valueFrom:
      secretKeyRef:
        name: {{ include "grader-service.hubSecretName" . }}
        key: {{ include "grader-service.hubSecretKey" . }}
  {{- if eq .Values.database.dialect "postgresql" }}
  - name: GRADER_DB_URL
    valueFrom:
      secretKeyRef:
        name: {{ include "grader-service.dbSecretName" . }}
        key: {{ include "grader-service.dbSecretKey" . }}
  {{- end }}
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
volumeMounts:
  - name: config
    mountPath: /etc/grader-service
    readOnly: true
  - name: data
    mountPath: /var/lib/grader-service
  - name: tmp
    mountPath: /tmp
  {{- if eq .Values.grading.executor "local" }}
  - name: sandboxes
    mountPath: /srv/grading
  {{- end }}
resources:
  {{- toYaml .Values.resources | nindent 2 }}
securityContext:
  readOnlyRootFilesystem: true
  {{- if and $grades (include "grader-service.privilegedLocal" .) }}
  privileged: true
  allowPrivilegeEscalation: true
  {{- else }}
  privileged: false
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
  {{- end }}
{{- end }}
{{- end }}
