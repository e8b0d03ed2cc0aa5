#!/usr/bin/env bash
# The lint (make lint, and the first step of make test): ruff, then OCA's lint of
# the addon: pylint-odoo with OCA's mandatory configuration (.pylintrc-mandatory),
# oca-checks-odoo-module (manifest, XML, CSV) and oca-checks-po (translations).
# The OCA tools run from $LINT_PYTHON's virtualenv (scripts/lib.sh). Every tool
# runs; the exit status is non-zero when any of them reports a finding.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
check_lint_tools
LINT_BIN=$(dirname "$LINT_PYTHON")

failed=()
run() {
    local name=$1
    shift
    echo "== $name"
    if "$@"; then
        echo "$name: clean"
    else
        echo "$name: FAILED"
        failed+=("$name")
    fi
}
run ruff bash -c '"$0" -m ruff check . && "$0" -m ruff format --check .' "$PYTHON"
run pylint-odoo "$LINT_PYTHON" -m pylint --rcfile=.pylintrc-mandatory \
    --output-format=text custseg_module
run oca-checks-odoo-module "$LINT_BIN/oca-checks-odoo-module" custseg_module
run oca-checks-po "$LINT_BIN/oca-checks-po" custseg_module/i18n/*.po custseg_module/i18n/*.pot

if [ "${#failed[@]}" -gt 0 ]; then
    echo "lint: FAILED (${failed[*]})"
    exit 1
fi
echo "lint: clean"
