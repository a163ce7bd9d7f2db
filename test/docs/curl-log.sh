# Sourced before the shell examples the doc-tests run (test/docs/doc-examples.test.ts): curl as the docs
# use it, logging each answer to $DOC_LOG; an answer is an error unless 2xx or the status the doc shows
# under the command (DOC_EXPECT=<n>:<status>, set by the test before such a command).
set -euo pipefail
curl() {
  local out status body
  out=$(command curl -sS -w '\n%{http_code}' "$@") || return $?
  status=${out##*$'\n'}; body=${out%$'\n'*}
  printf '%s\t%s\t%s\n' "${DOC_EXPECT:-}" "$status" "$(printf '%s' "$body" | base64 -w0)" >> "$DOC_LOG"
  printf '%s\n' "$body"
  local want=${DOC_EXPECT#*:}
  if [ -n "${DOC_EXPECT:-}" ] && [ "$status" = "$want" ]; then return 0; fi
  case $status in 2??) return 0 ;; *) echo "doc-test: curl $* answered $status: $body" >&2; return 22 ;; esac
}
