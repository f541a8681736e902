#!/usr/bin/env bash
# Builds block_dockchat.zip for Moodle's plugin installer (Site administration > Plugins > Install
# plugins), or to unzip into <moodle>/blocks/ (5.1: <moodle>/public/blocks/).
#
#   deploy/build-block-zip.sh [OUTPUT]      default OUTPUT: target/block_dockchat.zip
#
# The archive holds one top folder, `dockchat/` (the block's directory name), with the block's files
# from moodle-block/: the language files copied in as real files (moodle-block/lang is a symlink to
# the repository's lang/), the built JavaScript (amd/build) next to its sources, and no tests or
# development files. File dates are fixed to the last commit's date, so the same sources give the
# same archive.
set -euo pipefail

say() { printf 'build-block-zip.sh: %s\n' "$*"; }
die() { printf 'build-block-zip.sh: error: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
src="$repo/moodle-block"

case "${1:-}" in
  -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
out=${1:-"$repo/target/block_dockchat.zip"}
case "$out" in
  /*) ;;
  *) out="$PWD/$out" ;;
esac

# What Moodle needs to install and run the block; refuse to build a broken package.
for f in version.php block_dockchat.php db/install.xml db/access.php lang/en/block_dockchat.php; do
  [ -f "$src/$f" ] || die "moodle-block/$f is missing"
done
if [ ! -d "$src/amd/build" ] || [ -z "$(ls -A "$src/amd/build")" ]; then
  die "moodle-block/amd/build is empty: run 'npm ci && npm run build:amd' first"
fi
for js in "$src"/amd/src/*.js; do
  [ -e "$js" ] || continue
  name=$(basename "$js" .js)
  [ -f "$src/amd/build/$name.min.js" ] \
    || die "amd/build/$name.min.js is missing for amd/src/$name.js: run 'npm run build:amd'"
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/dockchat"

# Copy with every symlink dereferenced (lang/ becomes real files), leaving out tests and the
# files only developers use.
tar -C "$src" -cf - --dereference \
  --exclude='./tests' \
  --exclude='.git*' \
  --exclude='node_modules' \
  --exclude='.DS_Store' \
  --exclude='*~' \
  --exclude='*.swp' \
  --exclude='*.orig' \
  --exclude='*.rej' \
  --exclude='.eslintrc*' \
  --exclude='.stylelintrc*' \
  --exclude='Gruntfile.js' \
  --exclude='package.json' \
  --exclude='package-lock.json' \
  --exclude='composer.json' \
  --exclude='composer.lock' \
  --exclude='phpunit.xml*' \
  --exclude='.travis.yml' \
  --exclude='.github' \
  . | tar -C "$stage/dockchat" -xf -

if find "$stage/dockchat" -type l | grep -q .; then
  die "a symlink survived dereferencing: $(find "$stage/dockchat" -type l | head -n1)"
fi

# Plain permissions (the web server only reads these files) and reproducible dates.
find "$stage/dockchat" -type d -exec chmod 0755 {} +
find "$stage/dockchat" -type f -exec chmod 0644 {} +
epoch=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || true)
[ -n "$epoch" ] || epoch=${SOURCE_DATE_EPOCH:-315532800}
find "$stage/dockchat" -exec touch -h -d "@$epoch" {} +

mkdir -p "$(dirname "$out")"
rm -f "$out"
if command -v zip >/dev/null 2>&1; then
  # Sorted entries, no extra attributes (uid/gid, atime): same input, same archive.
  (cd "$stage" && find dockchat -print | LC_ALL=C sort | zip -q -X -@ "$out")
else
  command -v python3 >/dev/null 2>&1 || die "neither zip nor python3 found (apt-get install zip)"
  python3 - "$stage" "$out" <<'PY'
import os, sys, zipfile
stage, out = sys.argv[1], sys.argv[2]
paths = []
for root, dirs, files in os.walk(os.path.join(stage, "dockchat")):
    rel = os.path.relpath(root, stage)
    paths.append(rel + "/")
    paths.extend(os.path.join(rel, f) for f in files)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
    for p in sorted(paths):
        zf.write(os.path.join(stage, p), p)
PY
fi

count=$(cd "$stage" && find dockchat -type f | wc -l)
say "wrote $out ($count files, top folder dockchat/)"
