#!/usr/bin/env bash
# Structural checks of the Moodle block (moodle-block/) and the lang packs (lang/), runnable without
# a Moodle site: php -l, version.php, lang keys used vs defined in every language, install.xml as
# XMLDB, capabilities, external functions, hooks, AMD build, and the token issuer (standalone).
# Prints every check and a summary line `block checks: N passed, M failed`; exits 1 on any failure.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1

if ! command -v php >/dev/null 2>&1; then
    echo "# php not found: installing php-cli (Debian)"
    if [ "$(id -u)" = 0 ]; then
        timeout 600 apt-get install -y -qq php-cli >/dev/null 2>&1 \
            || { timeout 300 apt-get update -qq >/dev/null 2>&1 && timeout 600 apt-get install -y -qq php-cli >/dev/null 2>&1; }
    else
        timeout 600 sudo -n apt-get install -y -qq php-cli >/dev/null 2>&1 || true
    fi
fi
if ! command -v php >/dev/null 2>&1; then
    echo "not ok - php is available"
    echo "block checks: 0 passed, 1 failed"
    exit 1
fi
PYTHON="$(command -v python3 || command -v python || true)"

OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT

# 1. php -l on every PHP file of the plugin, its tests and the lang packs.
while IFS= read -r -d '' f; do
    if msg="$(php -l "$f" 2>&1)"; then
        echo "ok - php -l ${f#./}" >>"$OUT"
    else
        echo "not ok - php -l ${f#./}: $(echo "$msg" | head -n 2 | tr '\n' ' ')" >>"$OUT"
    fi
done < <(find ./moodle-block ./lang ./tests/block -name '*.php' -not -path '*/node_modules/*' -print0 | sort -z)

# 2. Plugin structure, strings, capabilities, services, hooks, AMD build.
timeout 120 php tests/block/check_plugin.php "$ROOT" >>"$OUT" 2>&1 || true

# 3. install.xml is valid XMLDB.
if [ -n "$PYTHON" ]; then
    timeout 60 "$PYTHON" tests/block/check_xmldb.py moodle-block/db/install.xml >>"$OUT" 2>&1 || true
else
    echo "not ok - python3 is available for the XMLDB check" >>"$OUT"
fi

# 3b. Every class loads against stand-ins of the Moodle classes it extends (signature compatibility).
timeout 60 php tests/block/load_classes.php >>"$OUT" 2>&1 || true

# 4. Token issuer outside Moodle, verified with an independent HS256 check.
timeout 60 php tests/block/token_issuer_standalone.php >>"$OUT" 2>&1 || true

# 4b. The launcher's server side outside Moodle: who gets it, one init per page, no database call.
timeout 60 php tests/block/launcher_standalone.php >>"$OUT" 2>&1 || true

# 4c. The page's templates element outside Moodle: once per page with the dock, escaping, strings, no database call.
timeout 60 php tests/block/page_templates_standalone.php >>"$OUT" 2>&1 || true

# 5. PHPUnit tests exist for the token issuer, the privacy provider and the external function.
for t in moodle-block/tests/token_issuer_test.php moodle-block/tests/privacy/provider_test.php \
         moodle-block/tests/external/get_token_test.php; do
    if [ -f "$t" ] && grep -q 'extends \\advanced_testcase\|extends \\core_privacy\\tests\\provider_testcase\|extends \\externallib_advanced_testcase' "$t"; then
        echo "ok - $t is a Moodle PHPUnit test" >>"$OUT"
    else
        echo "not ok - $t is a Moodle PHPUnit test" >>"$OUT"
    fi
done

grep -v '^ok - ' "$OUT" | grep -v '^# ' || true
passed=$(grep -c '^ok - ' "$OUT" || true)
failed=$(grep -c '^not ok - ' "$OUT" || true)
# Anything that is neither ok nor not ok nor a comment is an unexpected error of a checker.
other=$(grep -vc -e '^ok - ' -e '^not ok - ' -e '^# ' "$OUT" || true)
if [ "$other" -gt 0 ]; then
    failed=$((failed + 1))
fi
if [ "${VERBOSE:-0}" = 1 ]; then
    cat "$OUT"
fi
echo "block checks: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
