#!/usr/bin/env bash
# Deployment checks: the systemd units (systemd-analyze verify/security), the example config,
# install.sh (staged into a DESTDIR, and as root in a private mount namespace), the block zip, the
# reverse-proxy snippets (run live in nginx and Apache in front of `dockchatd demo`), a restart on
# an inherited socket under load (restart.py), the unit's sandbox (strace of the daemon on SQLite,
# MariaDB and PostgreSQL vs. SystemCallFilter= and RestrictAddressFamilies=), and the database
# grants `dockchatd grants` prints (docs/DEPLOY.md).
#
#   bash tests/deploy/run.sh            (DOCKCHATD=path/to/dockchatd to test another build)
#
# Every external command is bounded by `timeout`; all traffic stays on 127.0.0.1. Prints one line
# per check and a closing `deploy checks: N passed, M failed, K skipped`; exits 1 if any failed.
# A check is skipped (never silently) only when the tool it needs cannot run on this machine.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
# The helpers import each other: leave no __pycache__ in the tree.
export PYTHONDONTWRITEBYTECODE=1

work=$(mktemp -d)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
fail() {
  failed=$((failed + 1))
  printf 'FAIL  %s\n' "$1"
  if [ -n "${2:-}" ] && [ -s "$2" ]; then sed 's/^/      | /' "$2" | head -n 40; fi
}
skip() { skipped=$((skipped + 1)); printf 'skip  %s\n' "$1"; }

# check NAME COMMAND...: runs the command (bounded by the caller), passes on exit 0.
check() {
  local name=$1 log
  shift
  log="$work/check.log"
  if "$@" >"$log" 2>&1; then pass "$name"; else fail "$name" "$log"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits (at most 10 s) until something answers HTTP on 127.0.0.1:$1.
wait_http() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  return 1
}

# Value of `Key=` in a unit file (last assignment wins, as in systemd).
unit_value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

# A stand-in executable for the unit checks that only need "some binary at that path".
stub="$work/stub-dockchatd"
printf '#!/bin/sh\nexit 0\n' >"$stub"
chmod 0755 "$stub"

# The real daemon for install and proxy checks: tests/run.sh builds it with `cargo test` first.
# DOCKCHATD=/path/to/dockchatd picks another build (e.g. target/release/dockchatd).
daemon="${DOCKCHATD:-$repo/target/debug/dockchatd}"
if [ ! -x "$daemon" ] && command -v cargo >/dev/null 2>&1; then
  echo "building target/debug/dockchatd (cargo build --bin dockchatd)"
  timeout 1200 cargo build --quiet --bin dockchatd >"$work/build.log" 2>&1 || sed 's/^/  | /' "$work/build.log" | tail -n 20
fi

# The proxy checks run the snippets in real nginx and Apache, the sandbox check needs strace;
# install them on a fresh machine (tests/setup.sh installs the rest of the toolchain).
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v apache2 >/dev/null 2>&1 || need+=(apache2)
command -v strace >/dev/null 2>&1 || need+=(strace)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} for the proxy and sandbox checks"
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >"$work/apt.log" 2>&1 || tail -n 5 "$work/apt.log"
fi

echo "== scripts"
for script in deploy/install.sh deploy/build-block-zip.sh tests/deploy/run.sh; do
  check "bash -n $script" bash -n "$script"
done
check "python3 compiles tests/deploy/*.py" python3 -c \
  'import sys; [compile(open(f, encoding="utf-8").read(), f, "exec") for f in sys.argv[1:]]' \
  tests/deploy/wsprobe.py tests/deploy/exercise.py tests/deploy/restart.py
if command -v shellcheck >/dev/null 2>&1; then
  check "shellcheck deploy/*.sh tests/deploy/run.sh" \
    timeout 120 shellcheck deploy/install.sh deploy/build-block-zip.sh tests/deploy/run.sh
else
  skip "shellcheck: not installed (apt-get install shellcheck)"
fi

echo "== systemd units"
svc=deploy/dockchatd.service
sock=deploy/dockchatd.socket
units_ok() {
  local v
  [ "$(unit_value "$svc" Type)" = notify ] || { echo "Type=notify missing"; return 1; }
  [ "$(unit_value "$svc" NotifyAccess)" = main ] || { echo "NotifyAccess=main missing"; return 1; }
  [ "$(unit_value "$svc" ExecStartPre)" = "/usr/local/bin/dockchatd check --config /etc/dockchat/dockchatd.toml" ] \
    || { echo "ExecStartPre is not 'dockchatd check --config /etc/dockchat/dockchatd.toml'"; return 1; }
  [ "$(unit_value "$svc" ExecStart)" = "/usr/local/bin/dockchatd serve --config /etc/dockchat/dockchatd.toml" ] \
    || { echo "ExecStart is not 'dockchatd serve --config /etc/dockchat/dockchatd.toml'"; return 1; }
  [ "$(unit_value "$svc" Restart)" = on-failure ] || { echo "Restart=on-failure missing"; return 1; }
  [ -n "$(unit_value "$svc" WatchdogSec)" ] || { echo "WatchdogSec missing"; return 1; }
  [ "$(unit_value "$svc" User)" = dockchat ] || { echo "User=dockchat missing"; return 1; }
  [ "$(unit_value "$svc" Group)" = dockchat ] || { echo "Group=dockchat missing"; return 1; }
  v=$(unit_value "$svc" LimitNOFILE)
  [ "${v:-0}" -ge 65536 ] || { echo "LimitNOFILE=$v is too small for tens of thousands of sockets"; return 1; }
  for kv in ProtectSystem=strict ProtectHome=true PrivateTmp=true PrivateDevices=true \
    NoNewPrivileges=true CapabilityBoundingSet= AmbientCapabilities= \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" ProtectKernelTunables=true \
    ProtectKernelModules=true ProtectControlGroups=true RestrictNamespaces=true \
    LockPersonality=true MemoryDenyWriteExecute=true SystemCallArchitectures=native; do
    grep -qxF "$kv" "$svc" || { echo "$svc: missing '$kv'"; return 1; }
  done
  grep -qxF "SystemCallFilter=@system-service" "$svc" || { echo "SystemCallFilter=@system-service missing"; return 1; }
  grep -qxF "Requires=dockchatd.socket" "$svc" || { echo "Requires=dockchatd.socket missing"; return 1; }
  [ "$(unit_value "$sock" ListenStream)" = 127.0.0.1:8765 ] || { echo "ListenStream=127.0.0.1:8765 missing"; return 1; }
  [ "$(unit_value "$sock" Accept)" = no ] || { echo "Accept=no missing"; return 1; }
}
check "units: Type=notify, check before start, watchdog, user, limits, sandboxing, socket" units_ok

stop_timeout_ok() {
  # TimeoutStopSec must leave the daemon's graceful shutdown (shutdown_timeout_secs) time to finish.
  local stop grace
  stop=$(unit_value "$svc" TimeoutStopSec)
  stop=${stop%s}
  grace=$(sed -n 's/^#\{0,1\}shutdown_timeout_secs *= *\([0-9]*\).*/\1/p' deploy/dockchatd.toml.example | head -n 1)
  echo "TimeoutStopSec=${stop}s, shutdown_timeout_secs=${grace}"
  [ -n "$grace" ] && [ "$stop" -ge $((grace + 5)) ]
}
check "units: TimeoutStopSec exceeds shutdown_timeout_secs by a margin" stop_timeout_ok

analyze_ok=false
if ! command -v systemd-analyze >/dev/null 2>&1; then
  skip "systemd-analyze verify: systemd-analyze is not installed (apt-get install systemd)"
else
  # Can systemd-analyze work here at all? Verify a trivial known-good unit first.
  mkdir -p "$work/units"
  printf '[Service]\nType=oneshot\nExecStart=%s\n' "$stub" >"$work/units/probe.service"
  if ! (cd "$work/units" && timeout 60 systemd-analyze verify ./probe.service) >"$work/probe.log" 2>&1; then
    skip "systemd-analyze verify: cannot run in this sandbox ($(head -n 1 "$work/probe.log"))"
  else
    analyze_ok=true
    sed "s#/usr/local/bin/dockchatd#$stub#g" "$svc" >"$work/units/dockchatd.service"
    cp "$sock" "$work/units/dockchatd.socket"
    verify_units() {
      # Any message (unknown key, bad value, missing binary) counts as a failure.
      (cd "$work/units" && timeout 60 systemd-analyze verify ./dockchatd.socket ./dockchatd.service) >"$work/verify.log" 2>&1
      local rc=$?
      cat "$work/verify.log"
      [ "$rc" -eq 0 ] && [ ! -s "$work/verify.log" ]
    }
    check "systemd-analyze verify dockchatd.socket dockchatd.service" verify_units
    if timeout 60 systemd-analyze security --offline=true "$work/units/dockchatd.service" >"$work/security.log" 2>&1; then
      exposure_ok() {
        local level
        level=$(sed -n 's/.*Overall exposure level for dockchatd.service: \([0-9.]*\).*/\1/p' "$work/security.log")
        echo "exposure level: ${level:-?} (0 = fully sandboxed, 10 = not at all)"
        [ -n "$level" ] && python3 -c "import sys; sys.exit(0 if float('$level') <= 2.5 else 1)"
      }
      check "systemd-analyze security: exposure level at most 2.5" exposure_ok
    else
      skip "systemd-analyze security --offline: not supported here ($(head -n 1 "$work/security.log"))"
    fi
  fi
fi

echo "== example config"
# Every option of the configuration contract (docs: README, CONTRACTS §2), by table.
config_keys_ok() {
  python3 - deploy/dockchatd.toml.example <<'PY'
import re, sys, tomllib
text = open(sys.argv[1], encoding="utf-8").read()
expected = {
    "": {"listen", "site_url", "database_url", "table_prefix", "token_secret", "db_pool_size", "db_write_pipeline",
         "shutdown_timeout_secs", "avatar_theme"},
    "auth": {"audience", "check_sessions", "revalidate_interval_secs", "auth_timeout_secs",
             "token_leeway_secs"},
    "limits": {"max_connections", "max_connections_per_user", "frame_max_bytes", "text_max_chars",
               "history_max", "resume_max", "outbox_frames", "rate_per_sec", "rate_burst",
               "ping_interval_secs"},
    "presence": {"enrolment_refresh_secs", "offline_grace_secs"},
    "cluster": {"redis_url", "node_id", "prefix"},
}
# As shipped it must parse, with the two required keys set.
cfg = tomllib.loads(text)
assert "site_url" in cfg and "database_url" in cfg, "site_url and database_url must be set"
# Uncomment every `#key = value` line (first occurrence per table) and parse again: every documented
# default must be valid TOML, and the key set must be exactly the contract's.
table, seen, lines, prev = "", {}, [], ""
for original in text.splitlines():
    line, prev, previous = original, original, prev
    m = re.match(r"^\[([a-z_]+)\]\s*$", line)
    if m:
        table = m.group(1)
    m = re.match(r"^#?([a-z_]+) = (.*)$", line)
    if m:
        key = m.group(1)
        if key in seen.setdefault(table, set()):
            continue
        seen[table].add(key)
        # the line above an option is its explanation (or a sibling option sharing one)
        assert previous.startswith("#"), "option %s.%s has no comment above it" % (table or "top", key)
        line = line.lstrip("#")
    lines.append(line)
full = tomllib.loads("\n".join(lines))
found = {"": {k for k, v in full.items() if not isinstance(v, dict)}}
for t, v in full.items():
    if isinstance(v, dict):
        found[t] = set(v)
for t in sorted(set(expected) | set(found)):
    missing = expected.get(t, set()) - found.get(t, set())
    extra = found.get(t, set()) - expected.get(t, set())
    assert not missing, "[%s] options missing from the example: %s" % (t or "top", sorted(missing))
    assert not extra, "[%s] options not in the contract: %s" % (t or "top", sorted(extra))
print("%d options documented" % sum(len(v) for v in found.values()))
PY
}
check "dockchatd.toml.example: valid TOML, documents exactly every option" config_keys_ok

env_ok() {
  local v
  for v in DOCKCHAT_LISTEN DOCKCHAT_SITE_URL DOCKCHAT_DATABASE_URL DOCKCHAT_TABLE_PREFIX \
    DOCKCHAT_TOKEN_SECRET DOCKCHAT_CHECK_SESSIONS DOCKCHAT_LOG; do
    grep -q "$v" deploy/dockchatd.toml.example || { echo "environment variable $v not documented"; return 1; }
  done
}
check "dockchatd.toml.example: documents every DOCKCHAT_* environment variable" env_ok

echo "== install.sh"
install_binary="$daemon"
if [ ! -x "$install_binary" ]; then
  echo "note: $daemon not built, installing a stand-in binary"
  install_binary="$stub"
fi
dest="$work/destdir"
# Staged unit paths: the unit's own ExecStart/--config paths, looked up under DESTDIR.
staged_paths_ok() {
  local root=$1 unit exec cfg
  unit="$root/etc/systemd/system/dockchatd.service"
  [ -f "$unit" ] || { echo "missing $unit"; return 1; }
  [ -f "$root/etc/systemd/system/dockchatd.socket" ] || { echo "missing dockchatd.socket"; return 1; }
  for line in "$(unit_value "$unit" ExecStart)" "$(unit_value "$unit" ExecStartPre)"; do
    exec=${line%% *}
    cfg=$(printf '%s\n' "$line" | sed -n 's/.*--config \([^ ]*\).*/\1/p')
    [ -x "$root$exec" ] || { echo "ExecStart binary $exec is not an executable under DESTDIR"; return 1; }
    if [ -z "$cfg" ] || [ ! -f "$root$cfg" ]; then
      echo "config '$cfg' of '$line' missing under DESTDIR"
      return 1
    fi
  done
  [ "$(stat -c %a "$root/etc/dockchat/dockchatd.toml")" = 640 ] || { echo "config mode is not 0640"; return 1; }
  [ "$(stat -c %a "$root/etc/dockchat")" = 750 ] || { echo "/etc/dockchat mode is not 0750"; return 1; }
  cmp -s "$root/etc/dockchat/dockchatd.toml" deploy/dockchatd.toml.example || [ "${2:-}" = edited ] \
    || { echo "config is not the example"; return 1; }
  [ -f "$root/usr/local/share/doc/dockchat/nginx.conf" ] || [ "${3:-}" = prefix ] || { echo "docs missing"; return 1; }
  echo "ExecStart=$(unit_value "$unit" ExecStart) present under $root"
}
check "install.sh --binary into DESTDIR" \
  timeout 120 env DESTDIR="$dest" bash deploy/install.sh --binary "$install_binary"
check "install.sh: binary, config and units where the unit expects them" staged_paths_ok "$dest"
no_user_ok() { grep -q "not creating the 'dockchat' system user" "$work/install-again.log"; }
DESTDIR="$dest" timeout 120 bash deploy/install.sh --binary "$install_binary" >"$work/install-again.log" 2>&1 || true
check "install.sh: with DESTDIR, says it skips creating the user" no_user_ok
python3 - "$dest/etc/dockchat/dockchatd.toml" <<'PY'
import sys
p = sys.argv[1]
text = open(p, encoding="utf-8").read().replace('site_url = "https://moodle.example.edu"', 'site_url = "https://edited.example.edu"')
open(p, "w", encoding="utf-8").write(text)
PY
cp "$dest/etc/dockchat/dockchatd.toml" "$work/edited.toml"
check "install.sh: second run succeeds" \
  timeout 120 env DESTDIR="$dest" bash deploy/install.sh --binary "$install_binary"
check "install.sh: second run keeps the edited config" cmp "$work/edited.toml" "$dest/etc/dockchat/dockchatd.toml"
check "install.sh: second run leaves every path in place" staged_paths_ok "$dest" edited

if $analyze_ok && [ -d /lib/systemd/system ]; then
  # systemd-analyze --root resolves ExecStart= inside DESTDIR, so this proves the unit finds the
  # installed binary. It needs systemd's own targets in that root.
  mkdir -p "$dest/usr/lib/systemd"
  cp -a /lib/systemd/system "$dest/usr/lib/systemd/"
  verify_root() {
    timeout 60 systemd-analyze verify --root="$dest" dockchatd.socket dockchatd.service >"$work/vroot.log" 2>&1
    local rc=$?
    cat "$work/vroot.log"
    [ "$rc" -eq 0 ] && [ ! -s "$work/vroot.log" ]
  }
  check "systemd-analyze verify --root=DESTDIR on the installed units" verify_root
else
  skip "systemd-analyze verify --root=DESTDIR: systemd-analyze or /lib/systemd/system unavailable"
fi

if [ "$install_binary" = "$daemon" ]; then
  help_ok() {
    "$dest/usr/local/bin/dockchatd" --help >"$work/help.log" 2>&1 || return 1
    cat "$work/help.log"
    grep -qw serve "$work/help.log" && grep -qw check "$work/help.log" && grep -qw demo "$work/help.log"
  }
  check "installed dockchatd --help lists serve, check and demo" help_ok
  # What ExecStartPre runs on a fresh install: the example config parses, and the check refuses
  # to start with a diagnosis (the example's database credentials are placeholders).
  precheck_ok() {
    local rc=0
    timeout 60 "$dest/usr/local/bin/dockchatd" check --config "$dest/etc/dockchat/dockchatd.toml" \
      >"$work/precheck.log" 2>&1 || rc=$?
    cat "$work/precheck.log"
    echo "exit status $rc"
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] \
      && grep -q '^FAIL *database: ' "$work/precheck.log" \
      && ! grep -qi 'invalid configuration\|loading configuration' "$work/precheck.log"
  }
  check "ExecStartPre on the example config: parses, then refuses with a database diagnosis" precheck_ok
else
  skip "installed binary checks: no dockchatd build"
fi

# The real thing, as root without DESTDIR: user creation, ownership, systemd files. Run in a private
# mount namespace over copies of /etc and /usr/local, so this machine is left untouched.
if [ "$(id -u)" -ne 0 ]; then
  skip "install.sh as root on a live system: not root"
elif ! timeout 20 unshare --mount --fork true >/dev/null 2>&1; then
  skip "install.sh as root on a live system: cannot create a private mount namespace (unshare --mount)"
else
  mkdir -p "$work/live/etc" "$work/live/usr-local"
  timeout 300 unshare --mount --fork bash -s "$repo" "$install_binary" "$work/live" \
    >"$work/live.log" 2>&1 <<'EOS' || true
set -u
repo=$1 bin=$2 base=$3
result() { printf '%s|%s\n' "$1" "$2"; }
cp -a /etc/. "$base/etc/" && mount --bind "$base/etc" /etc && mount --bind "$base/usr-local" /usr/local \
  || { result FAIL "private copies of /etc and /usr/local"; exit 0; }
getent passwd dockchat >/dev/null 2>&1 && userdel dockchat >/dev/null 2>&1
getent group dockchat >/dev/null 2>&1 && groupdel dockchat >/dev/null 2>&1
if bash "$repo/deploy/install.sh" --binary "$bin" >"$base/run1.log" 2>&1 \
  && grep -q "created system user and group 'dockchat'" "$base/run1.log"; then
  result ok "live install.sh: runs as root, creates the dockchat system user"
else
  result FAIL "live install.sh: runs as root, creates the dockchat system user"; cat "$base/run1.log"
fi
entry=$(getent passwd dockchat || true)
uid=$(printf '%s' "$entry" | cut -d: -f3)
shell=$(printf '%s' "$entry" | cut -d: -f7)
if [ -n "$uid" ] && [ "$uid" -lt 1000 ] && case "$shell" in */nologin | */false) true ;; *) false ;; esac; then
  result ok "live install.sh: dockchat is a system account without a login shell ($entry)"
else
  result FAIL "live install.sh: dockchat is a system account without a login shell ($entry)"
fi
owners="$(stat -c '%a %U:%G' /etc/dockchat) / $(stat -c '%a %U:%G' /etc/dockchat/dockchatd.toml)"
if [ "$owners" = "750 root:dockchat / 640 root:dockchat" ]; then
  result ok "live install.sh: /etc/dockchat 0750 and dockchatd.toml 0640, root:dockchat"
else
  result FAIL "live install.sh: /etc/dockchat 0750 and dockchatd.toml 0640, root:dockchat (got $owners)"
fi
if [ -x /usr/local/bin/dockchatd ] && [ -f /etc/systemd/system/dockchatd.service ] \
  && [ -f /etc/systemd/system/dockchatd.socket ] && [ -f /usr/local/share/doc/dockchat/DEPLOY.md ]; then
  result ok "live install.sh: binary, units and docs in place"
else
  result FAIL "live install.sh: binary, units and docs in place"
fi
if command -v runuser >/dev/null 2>&1; then
  if runuser -u nobody -- cat /etc/dockchat/dockchatd.toml >/dev/null 2>&1; then
    result FAIL "live install.sh: other users cannot read the config (nobody could)"
  else
    result ok "live install.sh: other users cannot read the config"
  fi
  runuser -u dockchat -- /usr/local/bin/dockchatd check --config /etc/dockchat/dockchatd.toml \
    >"$base/check.log" 2>&1
  if grep -q '^FAIL *database: ' "$base/check.log" && ! grep -qi 'loading configuration' "$base/check.log"; then
    result ok "live install.sh: the dockchat user can read the config (dockchatd check gets to the database)"
  else
    result FAIL "live install.sh: the dockchat user can read the config"; cat "$base/check.log"
  fi
fi
sed -i 's#^site_url = .*#site_url = "https://edited.example.edu"#' /etc/dockchat/dockchatd.toml
if bash "$repo/deploy/install.sh" --binary "$bin" >"$base/run2.log" 2>&1 \
  && grep -q "already exists" "$base/run2.log" \
  && grep -q '^site_url = "https://edited.example.edu"' /etc/dockchat/dockchatd.toml \
  && [ "$(stat -c '%a %U:%G' /etc/dockchat/dockchatd.toml)" = "640 root:dockchat" ]; then
  result ok "live install.sh: second run keeps the user and the edited config"
else
  result FAIL "live install.sh: second run keeps the user and the edited config"; cat "$base/run2.log"
fi
EOS
  if grep -q '^ok|\|^FAIL|' "$work/live.log"; then
    while IFS='|' read -r status name; do
      case "$status" in
        ok) pass "$name" ;;
        FAIL) failed=$((failed + 1)); printf 'FAIL  %s\n' "$name" ;;
        *) printf '      | %s\n' "$status${name:+|$name}" ;;
      esac
    done <"$work/live.log"
  else
    fail "install.sh as root on a live system (private mount namespace)" "$work/live.log"
  fi
fi

dest2="$work/destdir-prefix"
check "install.sh with PREFIX=/opt/dockchat" \
  timeout 120 env DESTDIR="$dest2" PREFIX=/opt/dockchat bash deploy/install.sh --binary "$install_binary"
prefix_ok() {
  grep -qx "ExecStart=/opt/dockchat/bin/dockchatd serve --config /etc/dockchat/dockchatd.toml" \
    "$dest2/etc/systemd/system/dockchatd.service" || { echo "ExecStart not rewritten to PREFIX"; return 1; }
  grep -qx "Documentation=file:///opt/dockchat/share/doc/dockchat/DEPLOY.md" \
    "$dest2/etc/systemd/system/dockchatd.socket" || { echo "Documentation= not rewritten to PREFIX"; return 1; }
  [ -f "$dest2/opt/dockchat/share/doc/dockchat/DEPLOY.md" ] || { echo "DEPLOY.md not under PREFIX"; return 1; }
  staged_paths_ok "$dest2" "" prefix
}
check "install.sh: units point at \$PREFIX/bin/dockchatd, which exists" prefix_ok
check "install.sh: rejects an unknown option" bash -c '! bash deploy/install.sh --bogus >/dev/null 2>&1'

echo "== block zip"
zip1="$work/zip1/block_dockchat.zip"
zip2="$work/zip2/block_dockchat.zip"
if timeout 120 bash deploy/build-block-zip.sh "$zip1" >"$work/check.log" 2>&1; then
  pass "build-block-zip.sh builds $(basename "$zip1")"
  zip_ok() {
    local list entry code
    list=$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$zip1")
    if printf '%s\n' "$list" | grep -v '^dockchat/' | grep -q .; then
      echo "entries outside the top folder dockchat/:"; printf '%s\n' "$list" | grep -v '^dockchat/' | head; return 1
    fi
    for entry in dockchat/version.php dockchat/block_dockchat.php dockchat/db/install.xml dockchat/db/access.php; do
      printf '%s\n' "$list" | grep -qx "$entry" || { echo "missing $entry"; return 1; }
    done
    printf '%s\n' "$list" | grep -q '^dockchat/amd/build/.*\.min\.js$' || { echo "no amd/build/*.min.js"; return 1; }
    for code in en pt es fr de; do
      printf '%s\n' "$list" | grep -qx "dockchat/lang/$code/block_dockchat.php" \
        || { echo "missing dockchat/lang/$code/block_dockchat.php"; return 1; }
    done
    if printf '%s\n' "$list" | grep -qE '^dockchat/tests/|node_modules|\.git/|(^|/)package(-lock)?\.json$'; then
      echo "tests or development files in the zip:"
      printf '%s\n' "$list" | grep -E '^dockchat/tests/|node_modules|\.git/|package' | head; return 1
    fi
    # The demo page's vendored mustache package is not the block's: Moodle pages use core/templates.
    if printf '%s\n' "$list" | grep -qiE 'mustache[^/]*\.m?js$'; then
      echo "a Mustache engine in the zip:"; printf '%s\n' "$list" | grep -iE 'mustache[^/]*\.m?js$'; return 1
    fi
    echo "$(printf '%s\n' "$list" | wc -l) entries, all under dockchat/"
  }
  check "block zip: top folder dockchat/, version.php, install.xml, amd/build, lang en pt es fr de" zip_ok
  no_symlinks_ok() {
    # Unix mode in the upper 16 bits of external_attr: 0o120000 is a symlink.
    python3 - "$zip1" <<'PY'
import sys, zipfile
links = [i.filename for i in zipfile.ZipFile(sys.argv[1]).infolist() if (i.external_attr >> 16) & 0o170000 == 0o120000]
assert not links, "symlinks in the zip: %s" % links
PY
  }
  check "block zip: language files are real files, not symlinks" no_symlinks_ok
  lang_same_ok() {
    local code
    mkdir -p "$work/unzipped"
    (cd "$work/unzipped" && python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall()' "$zip1")
    for code in "$work"/unzipped/dockchat/lang/*/; do
      code=$(basename "$code")
      cmp "lang/$code/block_dockchat.php" "$work/unzipped/dockchat/lang/$code/block_dockchat.php" || return 1
    done
    if command -v php >/dev/null 2>&1; then
      find "$work/unzipped/dockchat" -name '*.php' -print0 | xargs -0 -n1 php -l >/dev/null || return 1
    fi
  }
  check "block zip: lang files identical to lang/, every PHP file passes php -l" lang_same_ok
  timeout 120 bash deploy/build-block-zip.sh "$zip2" >/dev/null 2>&1 || true
  check "block zip: rebuilding gives the same bytes (reproducible)" cmp "$zip1" "$zip2"
else
  fail "build-block-zip.sh builds a zip" "$work/check.log"
fi

echo "== reverse-proxy snippets (live, in front of dockchatd demo)"
demo_url=""
if [ -x "$daemon" ]; then
  "$daemon" demo --listen 127.0.0.1:0 >"$work/demo.out" 2>"$work/demo.err" &
  pids+=("$!")
  for _ in $(seq 1 300); do
    demo_url=$(sed -n 's#^dockchat demo: open \(http://[0-9.:]*\)/.*#\1#p' "$work/demo.out" | head -n 1)
    [ -n "$demo_url" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$demo_url" ]; then
    printf 'demo stdout:\n%s\ndemo stderr:\n%s\n' "$(cat "$work/demo.out")" "$(tail -n 20 "$work/demo.err")" >"$work/demo.log"
    fail "dockchatd demo prints 'dockchat demo: open http://...' within 30 s" "$work/demo.log"
  fi
fi
if [ -z "$demo_url" ]; then
  skip "nginx/Apache live proxy checks: no running dockchatd demo to proxy to"
else
  upstream=${demo_url#http://}
  echo "dockchatd demo on $upstream"

  if command -v nginx >/dev/null 2>&1; then
    np=$(free_port)
    mkdir -p "$work/nginx/tmp"
    sed -e "s#listen 443 ssl;#listen 127.0.0.1:$np;#" -e "s#127.0.0.1:8765#$upstream#g" \
      deploy/nginx.conf >"$work/nginx/site.conf"
    cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    include $work/nginx/site.conf;
}
EOF
    check "nginx -t accepts deploy/nginx.conf" timeout 30 nginx -t -p "$work/nginx" -c "$work/nginx/nginx.conf"
    nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' >"$work/nginx/stdout.log" 2>&1 &
    pids+=("$!")
    wait_http "$np" || true
    check "nginx: GET /dockchat/healthz reaches the daemon (200)" \
      bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:$np/dockchat/healthz)\" = 200 ]"
    check "nginx: WebSocket upgrade at /dockchat/ws, frames both ways" \
      timeout 30 python3 tests/deploy/wsprobe.py 127.0.0.1 "$np" /dockchat/ws "$demo_url"
  else
    skip "nginx snippet: nginx not installed (apt-get install nginx-light)"
  fi

  # The cluster snippets: every node line pointed at the demo (one node stands for all).
  if command -v nginx >/dev/null 2>&1; then
    nc=$(free_port)
    mkdir -p "$work/nginx-cluster/tmp"
    sed -e "s#listen 443 ssl;#listen 127.0.0.1:$nc;#" -e "s#10\.0\.0\.1[0-9]:8765#$upstream#g" \
      deploy/nginx-cluster.conf >"$work/nginx-cluster/site.conf"
    sed -e "s#$work/nginx/#$work/nginx-cluster/#g" "$work/nginx/nginx.conf" >"$work/nginx-cluster/nginx.conf"
    check "nginx -t accepts deploy/nginx-cluster.conf" timeout 30 nginx -t -p "$work/nginx-cluster" -c "$work/nginx-cluster/nginx.conf"
    nginx -p "$work/nginx-cluster" -c "$work/nginx-cluster/nginx.conf" -g 'daemon off;' >"$work/nginx-cluster/stdout.log" 2>&1 &
    pids+=("$!")
    wait_http "$nc" || true
    check "nginx cluster: WebSocket upgrade at /dockchat/ws through the upstream, frames both ways" \
      timeout 30 python3 tests/deploy/wsprobe.py 127.0.0.1 "$nc" /dockchat/ws "$demo_url"
  fi
  if command -v haproxy >/dev/null 2>&1; then
    hp=$(free_port)
    mkdir -p "$work/haproxy"
    # maxconn as a test process may hold descriptors (20,000 here), not as a site's front end.
    sed -e "s#bind :80#bind 127.0.0.1:$hp#" -e "s#10\.0\.0\.[0-9]*:[0-9]*#$upstream#g" -e "s#maxconn 100000#maxconn 2000#" \
      deploy/haproxy.cfg >"$work/haproxy/haproxy.cfg"
    check "haproxy -c accepts deploy/haproxy.cfg" timeout 30 haproxy -c -q -f "$work/haproxy/haproxy.cfg"
    haproxy -db -f "$work/haproxy/haproxy.cfg" >"$work/haproxy/stdout.log" 2>&1 &
    pids+=("$!")
    wait_http "$hp" || true
    check "haproxy: WebSocket upgrade at /dockchat/ws to a node, frames both ways" \
      timeout 30 python3 tests/deploy/wsprobe.py 127.0.0.1 "$hp" /dockchat/ws "$demo_url"
  else
    skip "haproxy snippet: haproxy not installed (apt-get install haproxy)"
  fi

  if command -v apache2 >/dev/null 2>&1 && [ -d /usr/lib/apache2/modules ]; then
    ap=$(free_port)
    ap80=$(free_port)
    mods=/usr/lib/apache2/modules
    mkdir -p "$work/apache"
    # Both variants: the HTTPS one (TLS left out here) and the plain-HTTP one, each on a port.
    sed -e "s#<VirtualHost \*:443>#<VirtualHost 127.0.0.1:$ap>#" -e "s#<VirtualHost \*:80>#<VirtualHost 127.0.0.1:$ap80>#" \
      -e "s#127.0.0.1:8765#$upstream#g" deploy/apache.conf >"$work/apache/site.conf"
    {
      echo "ServerRoot $work/apache"
      echo "ServerName 127.0.0.1"
      echo "Listen 127.0.0.1:$ap"
      echo "Listen 127.0.0.1:$ap80"
      echo "PidFile $work/apache/httpd.pid"
      echo "ErrorLog $work/apache/error.log"
      echo "DefaultRuntimeDir $work/apache"
      echo "Mutex file:$work/apache default"
      echo "LogLevel warn"
      for m in mpm_event authz_core authz_host headers proxy proxy_http proxy_wstunnel; do
        echo "LoadModule ${m}_module $mods/mod_$m.so"
      done
      if [ "$(id -u)" -eq 0 ]; then
        echo "User nobody"
        echo "Group nogroup"
      fi
      echo "Include $work/apache/site.conf"
    } >"$work/apache/httpd.conf"
    check "apache2 -t accepts deploy/apache.conf" timeout 30 apache2 -t -f "$work/apache/httpd.conf"
    apache2 -f "$work/apache/httpd.conf" -DFOREGROUND >"$work/apache/stdout.log" 2>&1 &
    pids+=("$!")
    wait_http "$ap" || true
    check "Apache: GET /dockchat/healthz reaches the daemon (200)" \
      bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:$ap/dockchat/healthz)\" = 200 ]"
    check "Apache: WebSocket upgrade at /dockchat/ws, frames both ways" \
      timeout 30 python3 tests/deploy/wsprobe.py 127.0.0.1 "$ap" /dockchat/ws "$demo_url"
    check "Apache (plain-HTTP variant): GET /dockchat/healthz reaches the daemon (200)" \
      bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:$ap80/dockchat/healthz)\" = 200 ]"
    check "Apache (plain-HTTP variant): WebSocket upgrade at /dockchat/ws, frames both ways" \
      timeout 30 python3 tests/deploy/wsprobe.py 127.0.0.1 "$ap80" /dockchat/ws "$demo_url"
  else
    skip "Apache snippet: apache2 not installed (apt-get install apache2)"
  fi
fi

echo "== restart under socket activation"
if [ -x "$daemon" ]; then
  # restart.py holds the listening socket like dockchatd.socket and restarts the daemon under load.
  check "restart on the inherited socket: no request refused or lost, WebSocket gets 1012, reconnects and resumes" \
    timeout 240 python3 tests/deploy/restart.py "$daemon"
  grep '^ok: [0-9]* requests' "$work/check.log" | sed 's/^ok: /      /' || true
else
  skip "restart under socket activation: no dockchatd build"
fi

echo "== sandbox: what dockchatd does vs. SystemCallFilter= and RestrictAddressFamilies="
# Runs the demo (as an unprivileged user, like the unit) under strace while exercise.py logs in and
# sends a message, on SQLite and, when they answer, on MariaDB and PostgreSQL (the production
# drivers), then checks that every system call made is allowed by the unit's filter and every
# socket uses an allowed address family. A call outside the filter would fail with EPERM in
# production.
if ! $analyze_ok; then
  skip "sandbox check: systemd-analyze cannot run here"
elif ! command -v strace >/dev/null 2>&1; then
  skip "sandbox check: strace not installed (apt-get install strace)"
elif [ ! -x "$daemon" ]; then
  skip "sandbox check: no dockchatd build"
else
  python3 - "$svc" >"$work/allowed.txt" <<'PY'
import subprocess, sys
def expand(name, seen=set()):
    if not name.startswith("@"):
        return {name}
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                         timeout=60).stdout.splitlines()[1:]
    names = set()
    for line in out:
        line = line.strip()
        if line and not line.startswith("#"):
            names |= expand(line)
    return names
allowed = None
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.startswith("SystemCallFilter="):
        continue
    value = line.split("=", 1)[1].strip()
    deny = value.startswith("~")
    names = set().union(*(expand(n) for n in value.lstrip("~").split()))
    if deny:
        allowed = (allowed if allowed is not None else set()) - names
    else:
        allowed = (allowed or set()) | names
print("\n".join(sorted(allowed or [])))
PY
  families=$(unit_value "$svc" RestrictAddressFamilies)
  runas=()
  if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null 2>&1 && getent passwd nobody >/dev/null; then
    runas=(runuser -u nobody --)
  fi
  chmod 0755 "$work"
  # traced NAME [DATABASE_URL]
  traced() {
    local name=$1 dburl=${2:-} dir="$work/trace-$1" url="" dpid="" wrapper used bad fams
    mkdir -p "$dir"
    chmod 0777 "$dir"
    local args=(demo --listen 127.0.0.1:0)
    [ -n "$dburl" ] && args+=(--database-url "$dburl")
    "${runas[@]}" timeout 120 strace -f -qq -o "$dir/trace" "$daemon" "${args[@]}" >"$dir/out" 2>"$dir/err" &
    wrapper=$!
    pids+=("$wrapper")
    for _ in $(seq 1 600); do
      url=$(sed -n 's#^dockchat demo: open \(http://[0-9.:]*\)/.*#\1#p' "$dir/out" 2>/dev/null | head -n 1)
      [ -n "$url" ] && break
      kill -0 "$wrapper" 2>/dev/null || break
      sleep 0.1
    done
    if [ -z "$url" ]; then
      { echo "the traced demo did not start"; tail -n 20 "$dir/err"; } >"$dir/why"
      fail "sandbox ($name): traced dockchatd demo starts" "$dir/why"
      return 0
    fi
    timeout 60 python3 tests/deploy/exercise.py "$url" >"$dir/exercise.log" 2>&1 \
      || { fail "sandbox ($name): log in and send a message through the traced daemon" "$dir/exercise.log"; }
    dpid=$(awk 'NR == 1 { print $1 }' "$dir/trace")
    [ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null
    for _ in $(seq 1 200); do
      kill -0 "$wrapper" 2>/dev/null || break
      sleep 0.1
    done
    used="$dir/used.txt"
    awk '{ s = $2; if (s ~ /^[a-z_0-9]+\(/) { sub(/\(.*/, "", s); print s } }' "$dir/trace" | sort -u >"$used"
    bad=$(LC_ALL=C comm -23 "$used" <(LC_ALL=C sort "$work/allowed.txt") | tr '\n' ' ')
    if [ -z "$bad" ]; then
      pass "sandbox ($name): all $(wc -l <"$used") system calls dockchatd made are allowed by SystemCallFilter="
    else
      echo "outside the filter: $bad" >"$dir/why"
      fail "sandbox ($name): system calls outside SystemCallFilter=" "$dir/why"
    fi
    fams=$(grep -o 'socket(AF_[A-Z0-9]*' "$dir/trace" | sed 's/socket(//' | sort -u | tr '\n' ' ')
    bad=""
    for f in $fams; do
      case " $families " in *" $f "*) ;; *) bad="$bad $f" ;; esac
    done
    if [ -z "$bad" ]; then
      pass "sandbox ($name): sockets only of RestrictAddressFamilies= ($fams)"
    else
      echo "families used: $fams; not allowed:$bad" >"$dir/why"
      fail "sandbox ($name): socket address families outside RestrictAddressFamilies=" "$dir/why"
    fi
  }
  if ! "${runas[@]}" timeout 20 strace -f -qq -o /dev/null true >"$work/strace-probe.log" 2>&1; then
    skip "sandbox check: strace cannot trace here ($(head -n 1 "$work/strace-probe.log"))"
  else
    traced sqlite
    db="dockchat_deploy_$$"
    if command -v mysql >/dev/null 2>&1 \
      && timeout 10 mysql -h 127.0.0.1 -u root -e "CREATE DATABASE $db" >/dev/null 2>&1; then
      traced mariadb "mysql://root@127.0.0.1:3306/$db"
      timeout 30 mysql -h 127.0.0.1 -u root -e "DROP DATABASE $db" >/dev/null 2>&1 || true
    else
      skip "sandbox (mariadb): MariaDB not reachable on 127.0.0.1:3306"
    fi
    if command -v psql >/dev/null 2>&1 \
      && timeout 10 psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" >/dev/null 2>&1; then
      traced postgres "postgres://postgres@127.0.0.1:5432/$db"
      timeout 30 psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db" >/dev/null 2>&1 || true
    else
      skip "sandbox (postgres): PostgreSQL not reachable on 127.0.0.1:5432"
    fi
  fi
fi

echo "== database grants of docs/DEPLOY.md"
# The guide's one-step command, `dockchatd grants --config FILE | mysql` (or `| psql`), run as the
# server's administrator: with exactly the printed grants, `dockchatd check` passes and a user logs in
# and sends a message. (tests/check.rs runs them as the least-privileged roles, with another prefix.)
# grant_sql NAME DATABASE_URL: what `dockchatd grants` prints for a config with that URL.
grant_sql() {
  printf 'site_url = "http://127.0.0.1:9"\ndatabase_url = "%s"\n' "$2" >"$work/grants-$1-admin.toml"
  timeout 30 "$daemon" grants --config "$work/grants-$1-admin.toml"
}
# seed_demo_db URL: lets the demo create and fill a Moodle-shaped database (as a privileged user).
seed_demo_db() {
  local out="$work/seed.out" pid url=""
  "$daemon" demo --listen 127.0.0.1:0 --database-url "$1" >"$out" 2>"$work/seed.err" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    url=$(sed -n 's#^dockchat demo: open \(http://[0-9.:]*\)/.*#\1#p' "$out" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -n "$url" ]
}
# grants_check NAME LIMITED_URL: check + login and send with the limited user.
grants_check() {
  local name=$1 url=$2 out="$work/grants-$1.out" pid demo=""
  printf 'site_url = "http://127.0.0.1:9"\ndatabase_url = "%s"\n' "$url" >"$work/grants-$name.toml"
  check "grants ($name): dockchatd check passes with exactly the printed grants" \
    timeout 60 "$daemon" check --config "$work/grants-$name.toml"
  "$daemon" demo --listen 127.0.0.1:0 --database-url "$url" >"$out" 2>"$work/grants-$name.err" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 600); do
    demo=$(sed -n 's#^dockchat demo: open \(http://[0-9.:]*\)/.*#\1#p' "$out" | head -n 1)
    [ -n "$demo" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$demo" ]; then
    fail "grants ($name): the daemon starts with the printed grants" "$work/grants-$name.err"
  else
    check "grants ($name): a user logs in and sends a message with the printed grants" \
      timeout 60 python3 tests/deploy/exercise.py "$demo"
  fi
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
gdb="dockchat_grants_$$"
guser="dockchat_t$$"
gpass="pw$$"
if [ ! -x "$daemon" ]; then
  skip "grants: no dockchatd build"
else
  if command -v mysql >/dev/null 2>&1 && timeout 10 mysql -h 127.0.0.1 -u root -e "CREATE DATABASE $gdb" >/dev/null 2>&1; then
    if seed_demo_db "mysql://root@127.0.0.1:3306/$gdb" \
      && grant_sql mariadb "mysql://$guser:$gpass@127.0.0.1:3306/$gdb" >"$work/grant.sql" \
      && timeout 30 mysql -h 127.0.0.1 -u root <"$work/grant.sql" >"$work/grant.log" 2>&1; then
      grants_check mariadb "mysql://$guser:$gpass@127.0.0.1:3306/$gdb"
    else
      cat "$work/grant.sql" >>"$work/grant.log" 2>/dev/null || true
      fail "grants (mariadb): seed a Moodle-shaped database and run the printed grants" "$work/grant.log"
    fi
    timeout 30 mysql -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $gdb; DROP USER IF EXISTS '$guser'@'127.0.0.1'" >/dev/null 2>&1 || true
  else
    skip "grants (mariadb): MariaDB not reachable on 127.0.0.1:3306 as root"
  fi
  if command -v psql >/dev/null 2>&1 && timeout 10 psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $gdb" >/dev/null 2>&1; then
    if seed_demo_db "postgres://postgres@127.0.0.1:5432/$gdb" \
      && grant_sql postgres "postgres://$guser:$gpass@127.0.0.1:5432/$gdb" >"$work/grant.sql" \
      && timeout 30 psql -h 127.0.0.1 -U postgres -d "$gdb" -v ON_ERROR_STOP=1 -q <"$work/grant.sql" >"$work/grant.log" 2>&1; then
      grants_check postgres "postgres://$guser:$gpass@127.0.0.1:5432/$gdb"
    else
      cat "$work/grant.sql" >>"$work/grant.log" 2>/dev/null || true
      fail "grants (postgres): seed a Moodle-shaped database and run the printed grants" "$work/grant.log"
    fi
    timeout 30 psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $gdb" >/dev/null 2>&1 || true
    timeout 30 psql -h 127.0.0.1 -U postgres -qc "DROP ROLE IF EXISTS $guser" >/dev/null 2>&1 || true
  else
    skip "grants (postgres): PostgreSQL not reachable on 127.0.0.1:5432 as postgres"
  fi
fi

echo
echo "deploy checks: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
