#!/usr/bin/env bash
# Prepares a machine for the test suite: Debian packages, npm packages and the two database servers.
# Safe to run again: every step checks first and only installs or starts what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: chromium (browser tests), php (block checks), zip/unzip (block package),
# systemd (systemd-socket-activate, systemd-analyze), shellcheck (deploy scripts), nginx and Apache,
# and the MariaDB and PostgreSQL clients.
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v php >/dev/null || need+=(php-cli)
php -m 2>/dev/null | grep -qi '^xml$' || need+=(php-xml)
php -m 2>/dev/null | grep -qi '^mbstring$' || need+=(php-mbstring)
command -v zip >/dev/null || need+=(zip)
command -v unzip >/dev/null || need+=(unzip)
command -v systemd-socket-activate >/dev/null || need+=(systemd)
command -v shellcheck >/dev/null || need+=(shellcheck)
# nginx and Apache: the deploy checks run the shipped reverse-proxy snippets for real.
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v apache2 >/dev/null || [ -x /usr/sbin/apache2 ] || need+=(apache2)
command -v node >/dev/null || need+=(nodejs npm)
# The databases' own clients: setup pings the servers with them, and the grants test feeds
# `dockchatd grants` output to them exactly as an administrator would.
command -v mysql >/dev/null && command -v mysqladmin >/dev/null || need+=(mariadb-client)
command -v psql >/dev/null && command -v pg_isready >/dev/null || need+=(postgresql-client)
# Redis: the cluster tests use the one on 6379 and start one of their own (redis-server) on another
# port to stop it; redis-cli pings it here. HAProxy: the deploy checks run the cluster snippet.
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || need+=(redis-server redis-tools)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm packages (playwright-core, babel, terser), exactly as locked; never downloads a browser.
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  fi
fi

# Database servers and Redis: start them if they are down (commands from the machine's documentation).
if ! mysqladmin -h 127.0.0.1 -u root --connect-timeout=2 ping >/dev/null 2>&1; then
  log "starting MariaDB"
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -t 2 >/dev/null 2>&1; then
  log "starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
if ! redis_up; then
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
for _ in $(seq 1 60); do
  if mysqladmin -h 127.0.0.1 -u root --connect-timeout=2 ping >/dev/null 2>&1 \
     && pg_isready -h 127.0.0.1 -p 5432 -t 2 >/dev/null 2>&1 && redis_up; then
    log "MariaDB, PostgreSQL and Redis are up"
    exit 0
  fi
  sleep 1
done
log "MariaDB, PostgreSQL or Redis did not come up"
exit 1
