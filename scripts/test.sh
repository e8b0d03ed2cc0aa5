#!/usr/bin/env bash
# The test command (make test): lint (scripts/lint.sh: ruff and OCA's), the
# engine's pytest suite, then the module's Odoo tests (browser tours included)
# on Odoo 18.0 and on 19.0, each on a throw-away database that is always dropped.
# Odoo 18.0 from $ODOO_SRC run by $PYTHON, 19.0 from $ODOO19_SRC run by
# $ODOO19_PYTHON; CUSTSEG_ODOO_VERSIONS="18" (or "19") runs one version only.
# Final line: "N passed, M failed"; exit status non-zero on any failure or skip.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

LOG_DIR=${CUSTSEG_LOG_DIR:-$REPO_ROOT/.test-logs}
mkdir -p "$LOG_DIR"

# 1. Prerequisites: fail loudly, naming the cause. Both trees are checked first,
# so a missing one stops the command before anything runs.
VERSIONS=${CUSTSEG_ODOO_VERSIONS:-18 19}
HOST_PYTHON=$PYTHON
for version in $VERSIONS; do
    (select_odoo "$version") || exit 2
    (
        select_odoo "$version"
        missing=$(missing_python_modules websocket pandas sklearn scipy freezegun polib)
        [ -z "$missing" ] ||
            die "Odoo $ODOO_VERSION's Python ($PYTHON) misses: $missing. Install them into it with: $PYTHON -m pip install -r requirements-test.txt (websocket = websocket-client; without it the tours are skipped)."
    ) || exit 2
done
check_postgres
command -v chromium >/dev/null || command -v chromium-browser >/dev/null ||
    command -v google-chrome >/dev/null ||
    die "Chromium is missing: the browser tours would be skipped. Install Debian's 'chromium' (apt-get install chromium)."
missing=$(missing_python_modules websocket)
[ -z "$missing" ] ||
    die "The PyPI package 'websocket-client' is missing: Odoo would silently skip the browser tours. pip install websocket-client"
missing=$(missing_python_modules pandas sklearn scipy pytest hypothesis lifetimes freezegun ruff)
[ -z "$missing" ] ||
    die "Missing Python modules: $missing. Install them with: $PYTHON -m pip install -r requirements-test.txt"
check_lint_tools

passed=0
failed=0

# 2. Lint must be clean: ruff and OCA's lint (scripts/lint.sh, about 25 s).
if ! bash scripts/lint.sh; then
    failed=$((failed + 1))
fi

# 3. The pure engine, no database.
echo "== pytest (engine)"
"$PYTHON" -m pytest tests -q --junitxml="$LOG_DIR/pytest.xml"
pytest_rc=$?
read -r py_run py_bad py_skip < <("$PYTHON" - "$LOG_DIR/pytest.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

try:
    suites = ET.parse(sys.argv[1]).getroot().iter("testsuite")
    totals = [0, 0, 0]
    for s in suites:
        totals[0] += int(s.get("tests", 0))
        totals[1] += int(s.get("failures", 0)) + int(s.get("errors", 0))
        totals[2] += int(s.get("skipped", 0))
    print(*totals)
except (OSError, ET.ParseError):
    print(0, 1, 0)
PY
)
if [ "$py_run" -eq 0 ]; then
    echo "pytest: no test ran"
    py_bad=$((py_bad + 1))
fi
if [ "$py_skip" -gt 0 ]; then
    echo "pytest: $py_skip test(s) skipped, counted as failed"
fi
if [ "$pytest_rc" -ne 0 ] && [ "$py_bad" -eq 0 ]; then
    py_bad=1
fi
passed=$((passed + py_run - py_bad - py_skip))
failed=$((failed + py_bad + py_skip))
echo "pytest: $((py_run - py_bad - py_skip)) passed, $((py_bad + py_skip)) failed"

# 4. The Odoo tests of each version, on a fresh, uniquely named database, dropped
# even on failure.
DATABASES=()
trap 'for db in "${DATABASES[@]}"; do drop_database "$db" >/dev/null 2>&1 || echo "warning: could not drop $db" >&2; done' EXIT
summary=()
for version in $VERSIONS; do
    select_odoo "$version"
    DB="custseg_test_${version}_$(date +%Y%m%d%H%M%S)_$$"
    DATABASES+=("$DB")
    ODOO_LOG="$LOG_DIR/odoo-test-$ODOO_VERSION.log"
    PORT=$(free_port)
    : >"$ODOO_LOG"
    echo "== Odoo $ODOO_VERSION tests on database $DB (log: $ODOO_LOG)"
    timeout --kill-after=30 "${CUSTSEG_TEST_TIMEOUT:-1800}" \
        "$PYTHON" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS_PATH" --db_host= \
        -d "$DB" -i custseg_module "${DEMO_FLAG[@]}" --test-enable --test-tags /custseg_module \
        --stop-after-init --http-port="$PORT" --gevent-port="$(free_port)" \
        --log-level=info --max-cron-threads=0 --logfile="$ODOO_LOG"
    odoo_rc=$?
    grep -E "(ERROR|CRITICAL|FAIL:|odoo\.tests\.result|Chrome headless enable|skipped )" "$ODOO_LOG" | tail -n 60
    report=$("$HOST_PYTHON" scripts/odoo_log_report.py "$ODOO_LOG")
    report_rc=$?
    read -r od_pass od_fail < <("$HOST_PYTHON" -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["passed"], r["failed"])' <<<"$report")
    "$HOST_PYTHON" -c '
import json, sys
report = json.loads(sys.stdin.read())
print("odoo: browser tours ran in Chrome headless" if report["chrome_started"]
      else "odoo: no Chrome headless session in the log")
for problem in report["problems"]:
    print("odoo:", problem)
' <<<"$report"
    # Odoo 19.0 skips a module it finds not installable and exits 0: check.
    state=$(module_state "$DB" 2>&1)
    if [ "$state" != installed ]; then
        echo "odoo $ODOO_VERSION: custseg_module is NOT installed on $DB (state: '${state:-absent}'); see $ODOO_LOG"
        od_fail=$((od_fail + 1))
        od_pass=0
    fi
    if [ "$odoo_rc" -ne 0 ]; then
        echo "odoo $ODOO_VERSION: odoo-bin exited with status $odoo_rc"
        [ "$od_fail" -gt 0 ] || od_fail=1
    elif [ "$report_rc" -ne 0 ] && [ "$od_fail" -eq 0 ]; then
        od_fail=1
    fi
    drop_database "$DB" >/dev/null 2>&1 || true
    passed=$((passed + od_pass))
    failed=$((failed + od_fail))
    summary+=("odoo $ODOO_VERSION: $od_pass passed, $od_fail failed")
    echo "odoo $ODOO_VERSION: $od_pass passed, $od_fail failed"
done
PYTHON=$HOST_PYTHON

echo "== Summary"
echo "pytest (engine, run once: it imports no Odoo): $((py_run - py_bad - py_skip)) passed, $((py_bad + py_skip)) failed"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
