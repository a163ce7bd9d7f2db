#!/usr/bin/env bash
# Lints and renders the chart the way an operator's pipeline would, with every example values file.
# Needs helm 3 (not installable on the project's own machines, where `npm test` runs the static
# checks in test/helm/ instead); uses kubeconform too when it is on PATH.
#
#   helm/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
chart=helm/telework-broker
command -v helm >/dev/null || { echo "helm/check.sh: helm 3 is needed" >&2; exit 2; }

# Examples without a capacity model of their own get the sample pools file, as the docs show.
model_args() { grep -q '^config:' "$1" || printf -- '--set-file\nconfigFile=config/broker.yaml\n'; }

for values in "$chart"/examples/*.yaml; do
  echo "== $values"
  mapfile -t extra < <(model_args "$values")
  helm lint --strict "$chart" -f "$values" "${extra[@]}"
  out=$(mktemp)
  helm template check "$chart" --namespace telework -f "$values" "${extra[@]}" >"$out"
  if command -v kubeconform >/dev/null; then
    kubeconform -strict -summary -ignore-missing-schemas "$out"
  fi
  rm -f "$out"
done

# Without any Redis the chart must refuse to render, naming what to set.
if msg=$(helm template check "$chart" --set-file configFile=config/broker.yaml 2>&1); then
  echo "helm/check.sh: the chart rendered without a Redis" >&2
  exit 1
fi
grep -q 'Redis is required' <<<"$msg" || { echo "$msg" >&2; exit 1; }
echo "chart checks passed"
