#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest hook): makes sure what the tests need is installed and running,
# so the test command works on a fresh machine. Tests fail, never skip, when something is missing.
# Installs with apt-get when run as root; otherwise says what is missing.
set -euo pipefail

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "test prerequisites: missing $*; install them (Debian: sudo apt-get install $*) or run as root" >&2
    exit 1
  fi
  if [ "${apt_updated:-0}" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Redis on 127.0.0.1:6379 (tests start any further instances themselves on other ports).
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then apt_install redis-server; fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping
# The fault suite (test/faults) starts its own Sentinels.
command -v redis-sentinel >/dev/null || apt_install redis-sentinel

# Go's text/template with sprig (Helm's engine; helm itself is not installable): test/helm/render.test.ts renders the chart.
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/Masterminds/sprig ] || [ ! -d /usr/share/gocode/src/github.com/ghodss/yaml ]; then
  apt_install golang-go golang-github-masterminds-sprig-dev golang-github-ghodss-yaml-dev
fi

# promtool and prometheus (alert rules, their unit tests, the metrics exposition, a real server scraping
# a broker: test/observability/prometheus.test.ts) and Chromium (the pages, driven by
# playwright-core) for test/observability; those tests fail, not skip, without them.
command -v promtool >/dev/null && command -v prometheus >/dev/null || apt_install prometheus
# curl and jq: the doc-tests (test/docs) run README's tour and the docs' examples as pasted.
command -v curl >/dev/null || apt_install curl
command -v jq >/dev/null || apt_install jq
command -v chromium >/dev/null || apt_install chromium

