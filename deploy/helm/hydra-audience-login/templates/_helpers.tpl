{{/* Chart name, truncated to a DNS label. */}}
{{- define "hal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "hal.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hal.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hal.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hydra-audience-login
{{- end -}}

{{- define "hal.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The existing Secret holding the app's secret settings. */}}
{{- define "hal.secretName" -}}
{{- default (include "hal.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The ConfigMap of plain settings (envFrom of the app and the seed Job). */}}
{{- define "hal.envConfigMap" -}}
{{- printf "%s-env" (include "hal.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Settings that are secrets, never accepted in .Values.env (their values would end up in the
release's manifest and history in plain text): DATABASE_URL, SESSION_SECRETS, FACTOR_ENCRYPTION_KEYS,
and every variable read from a Secret (secrets.env entries that are not null, secrets.clientSecrets).
*/}}
{{- define "hal.secretNames" -}}
{{- $names := list "DATABASE_URL" "SESSION_SECRETS" "FACTOR_ENCRYPTION_KEYS" -}}
{{- range $k, $v := .Values.secrets.env }}{{ if not (kindIs "invalid" $v) }}{{ $names = append $names $k }}{{ end }}{{ end -}}
{{- range $k, $_ := .Values.secrets.clientSecrets }}{{ $names = append $names $k }}{{ end -}}
{{- toJson (uniq $names) -}}
{{- end -}}

{{/* Plain settings rendered into the env ConfigMap, checked. */}}
{{- define "hal.plainEnv" -}}
{{- $secretNames := include "hal.secretNames" . | fromJsonArray -}}
{{- $env := dict -}}
{{- range $k, $v := .Values.env -}}
{{- if has $k $secretNames -}}
{{- fail (printf "env.%s is a secret: put it in the Secret %q and name its key under secrets.env or secrets.clientSecrets, never in values" $k (include "hal.secretName" $)) -}}
{{- end -}}
{{- if has $k (list "HOST" "PORT") -}}
{{- fail (printf "env.%s is set by the chart (containerPort)" $k) -}}
{{- end -}}
{{- if not (regexMatch "^[A-Z_][A-Z0-9_]*$" $k) -}}
{{- fail (printf "env.%s: not an environment variable name" $k) -}}
{{- end -}}
{{- if not (kindIs "invalid" $v) -}}
{{- $_ := set $env $k (toString $v) -}}
{{- end -}}
{{- end -}}
{{- if not (hasKey $env "TRUST_PROXY_HOPS") -}}
{{- $_ := set $env "TRUST_PROXY_HOPS" (ternary "1" "0" .Values.ingress.enabled) -}}
{{- end -}}
{{- $_ := set $env "HOST" "0.0.0.0" -}}
{{- $_ := set $env "PORT" (toString .Values.containerPort) -}}
{{- if .Values.nodeOptions -}}
{{- $_ := set $env "NODE_OPTIONS" .Values.nodeOptions -}}
{{- end -}}
{{- if not (kindIs "invalid" .Values.mallocArenaMax) -}}
{{- $_ := set $env "MALLOC_ARENA_MAX" (toString .Values.mallocArenaMax) -}}
{{- end -}}
{{- range $k := list "APP_BASE_URL" "HYDRA_ADMIN_URL" "HYDRA_PUBLIC_URL" -}}
{{- if not (get $env $k) -}}
{{- fail (printf "env.%s is required (see values.yaml)" $k) -}}
{{- end -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
One environment variable from a Secret. Call with (list $ "NAME" spec): spec is a key of
secrets.existingSecret, or a map {name, key}.
*/}}
{{- define "hal.secretEnvVar" -}}
{{- $root := index . 0 -}}
{{- $var := index . 1 -}}
{{- $spec := index . 2 -}}
{{- $name := include "hal.secretName" $root -}}
{{- $key := $spec -}}
{{- if kindIs "map" $spec -}}
{{- $name = default $name $spec.name -}}
{{- $key = required (printf "secrets: %s needs a key" $var) $spec.key -}}
{{- end -}}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $name | quote }}
      key: {{ $key | quote }}
{{- end -}}

{{/* The app's secret settings (secrets.env, null entries left out). */}}
{{- define "hal.secretEnv" -}}
{{- range $k := list "DATABASE_URL" "SESSION_SECRETS" }}
{{- if kindIs "invalid" (get $.Values.secrets.env $k) }}
{{- fail (printf "secrets.env.%s is required: the key of %s in the existing Secret" $k $k) }}
{{- end }}
{{- end }}
{{- range $var, $spec := .Values.secrets.env }}
{{- if not (kindIs "invalid" $spec) }}
{{ include "hal.secretEnvVar" (list $ $var $spec) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The audiences YAML parsed; fails on a YAML error or a client secret-env without a secrets.clientSecrets entry. */}}
{{- define "hal.checkAudiences" -}}
{{- $cfg := .Values.audiences | default "" | fromYaml -}}
{{- if hasKey $cfg "Error" -}}
{{- fail (printf "audiences: not valid YAML: %s" (get $cfg "Error")) -}}
{{- end -}}
{{- range $i, $c := (get $cfg "clients" | default list) -}}
{{- $se := get $c "secret-env" -}}
{{- if and $se (not (hasKey ($.Values.secrets.clientSecrets | default dict) $se)) -}}
{{- fail (printf "audiences: client %q reads its secret from %s: add secrets.clientSecrets.%s (a key of the existing Secret)" (toString (get $c "id")) $se $se) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Volumes every container of the chart mounts: a writable /tmp (the root file system is read-only). */}}
{{- define "hal.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{/* Environment every container of the chart gets: HOME and npm's cache on /tmp, no Prisma telemetry. */}}
{{- define "hal.baseEnv" -}}
- name: HOME
  value: /tmp
- name: NPM_CONFIG_CACHE
  value: /tmp/.npm
- name: NPM_CONFIG_UPDATE_NOTIFIER
  value: "false"
- name: CHECKPOINT_DISABLE
  value: "1"
{{- end -}}

{{- define "hal.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
