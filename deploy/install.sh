#!/usr/bin/env bash
# Installs dockchatd on a systemd host: the `dockchat` system user, the binary, the systemd units,
# the configuration (never overwritten) and the documentation.
#
#   sudo deploy/install.sh                       # build (cargo build --release) and install
#   sudo deploy/install.sh --binary ./dockchatd  # install a binary built elsewhere
#   DESTDIR=/tmp/stage deploy/install.sh --binary ./dockchatd   # stage into a directory (packaging,
#                                                              # tests): no user, no chown, no systemctl
#
# Environment: DESTDIR (staging root, default empty), PREFIX (default /usr/local; the units are
# rewritten to point at $PREFIX/bin/dockchatd). Safe to run again: it upgrades the binary, units and
# docs, and keeps an existing /etc/dockchat/dockchatd.toml untouched.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install.sh [--binary PATH] [--prefix DIR] [--destdir DIR]

  --binary PATH   install this dockchatd binary instead of building one with cargo
  --prefix DIR    installation prefix (default: $PREFIX or /usr/local)
  --destdir DIR   staging root prepended to every path (default: $DESTDIR or none)
  -h, --help      this help
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

binary=""
prefix="${PREFIX:-/usr/local}"
destdir="${DESTDIR:-}"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --binary) [ "$#" -ge 2 ] || die "--binary needs a path"; binary=$2; shift 2 ;;
    --binary=*) binary=${1#--binary=}; shift ;;
    --prefix) [ "$#" -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --destdir) [ "$#" -ge 2 ] || die "--destdir needs a directory"; destdir=$2; shift 2 ;;
    --destdir=*) destdir=${1#--destdir=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) die "PREFIX must be an absolute path (got '$prefix')" ;;
esac
prefix=${prefix%/}
destdir=${destdir%/}

is_root=false
[ "$(id -u)" -eq 0 ] && is_root=true
# A real installation (as opposed to staging into DESTDIR) creates the user, sets ownership and
# tells systemd about the units.
live=false
[ -z "$destdir" ] && $is_root && live=true

bindir="$prefix/bin"
docdir="$prefix/share/doc/dockchat"
confdir=/etc/dockchat
config="$confdir/dockchatd.toml"
unitdir=/etc/systemd/system

# --- the binary ---------------------------------------------------------------------------------
if [ -z "$binary" ]; then
  built="$repo/target/release/dockchatd"
  if command -v cargo >/dev/null 2>&1; then
    say "building dockchatd (cargo build --release --locked), this takes a few minutes the first time"
    (cd "$repo" && cargo build --release --locked --bin dockchatd)
  elif [ -x "$built" ]; then
    # Typical with sudo: cargo is in the builder's PATH, not root's.
    say "cargo not in PATH: installing the existing build $built"
  else
    die "cargo not found: build first (cargo build --release --locked) and pass --binary target/release/dockchatd"
  fi
  binary="$built"
fi
[ -f "$binary" ] || die "binary not found: $binary"
[ -x "$binary" ] || die "binary is not executable: $binary"

# --- the system user ----------------------------------------------------------------------------
if [ -n "$destdir" ]; then
  say "DESTDIR is set: not creating the 'dockchat' system user (create it on the target host)"
elif ! $is_root; then
  say "not root: not creating the 'dockchat' system user (run as root, or create it yourself)"
elif getent passwd dockchat >/dev/null 2>&1; then
  say "system user 'dockchat' already exists"
else
  nologin=/usr/sbin/nologin
  [ -x "$nologin" ] || nologin=/sbin/nologin
  [ -x "$nologin" ] || nologin=/bin/false
  if command -v useradd >/dev/null 2>&1; then
    getent group dockchat >/dev/null 2>&1 || groupadd --system dockchat
    useradd --system --gid dockchat --home-dir /nonexistent --no-create-home \
      --shell "$nologin" --comment "dockchat realtime chat daemon" dockchat
  elif command -v adduser >/dev/null 2>&1; then
    adduser --system --group --no-create-home --home /nonexistent --shell "$nologin" dockchat
  else
    die "neither useradd nor adduser found: create a system user and group 'dockchat' yourself"
  fi
  say "created system user and group 'dockchat'"
fi

# --- files --------------------------------------------------------------------------------------
install -d -m 0755 "$destdir$bindir" "$destdir$unitdir" "$destdir$docdir"
# install(1) replaces the file rather than writing into it, so a running daemon keeps its old binary
# until it is restarted.
install -m 0755 "$binary" "$destdir$bindir/dockchatd"
say "installed $destdir$bindir/dockchatd"

for unit in dockchatd.service dockchatd.socket; do
  tmp=$(mktemp)
  # Point the unit at the installed binary and docs when PREFIX is not /usr/local.
  sed -e "s#/usr/local/bin/dockchatd#$bindir/dockchatd#g" \
    -e "s#/usr/local/share/doc/dockchat#$docdir#g" "$here/$unit" >"$tmp"
  install -m 0644 "$tmp" "$destdir$unitdir/$unit"
  rm -f "$tmp"
  say "installed $destdir$unitdir/$unit"
done

install -m 0644 "$here/dockchatd.toml.example" "$here/nginx.conf" "$here/apache.conf" \
  "$here/nginx-cluster.conf" "$here/haproxy.cfg" "$destdir$docdir/"
if [ -f "$repo/docs/DEPLOY.md" ]; then
  install -m 0644 "$repo/docs/DEPLOY.md" "$destdir$docdir/"
fi
say "installed the example config, proxy snippets and DEPLOY.md in $destdir$docdir"

# The configuration directory and file: readable by the daemon's group only (it holds the database
# password), writable by root only.
chown_dockchat=false
if $live && getent group dockchat >/dev/null 2>&1; then
  chown_dockchat=true
fi
install -d -m 0750 "$destdir$confdir"
$chown_dockchat && chown root:dockchat "$destdir$confdir"
if [ -e "$destdir$config" ]; then
  say "keeping the existing $destdir$config (the current example is $docdir/dockchatd.toml.example)"
else
  install -m 0640 "$here/dockchatd.toml.example" "$destdir$config"
  say "installed $destdir$config from the example: edit it before starting"
fi
if $chown_dockchat; then
  chown root:dockchat "$destdir$config"
  chmod 0640 "$destdir$config"
elif $live; then
  say "warning: group 'dockchat' missing, $config keeps its current owner"
else
  say "staging: set owner root:dockchat on $confdir and $config on the target host"
fi

# --- systemd ------------------------------------------------------------------------------------
was_active=false
if $live && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  say "systemd reloaded its units"
  systemctl is-active --quiet dockchatd.service && was_active=true
fi

cat <<EOF

dockchatd is installed. Next steps:
  1. Install the block in Moodle (deploy/build-block-zip.sh builds block_dockchat.zip).
  2. Edit $config: set site_url (Moodle's \$CFG->wwwroot) and database_url (Moodle's database,
     with a user of dockchatd's own).
  3. Create that user: $bindir/dockchatd grants --config $config
     prints the SQL (DEPLOY.md section 4 says who runs it).
  4. Check it:   $bindir/dockchatd check --config $config
  5. Start it:   systemctl enable --now dockchatd.socket dockchatd.service
  6. Proxy wss://<moodle host>/dockchat/ws to 127.0.0.1:8765: see $docdir/nginx.conf or apache.conf.
Logs: journalctl -u dockchatd -f      Guide: $docdir/DEPLOY.md
EOF
if $was_active; then
  printf '\ndockchatd is running the previous binary: systemctl restart dockchatd.service\n'
  printf '(the socket stays open, so no connection is refused; browsers reconnect by themselves).\n'
fi
