# Shared checks for the demo and test commands. Sourced, not executed.
# They never download or build Odoo: Odoo 18.0 is a prerequisite found at $ODOO_SRC
# (run with $PYTHON), Odoo 19.0 at $ODOO19_SRC (run with $ODOO19_PYTHON).

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-/opt/odoo}
PYTHON=${PYTHON:-python3}
ODOO19_SRC=${ODOO19_SRC:-/opt/odoo19}
ODOO19_PYTHON=${ODOO19_PYTHON:-/opt/odoo19-venv/bin/python}

die() {
    printf '\nERROR: %s\n' "$*" >&2
    exit 2
}

# select_odoo 18|19: point ODOO_SRC, PYTHON and ADDONS_PATH at that version's
# tree (ODOO_SRC/PYTHON for 18.0, ODOO19_SRC/ODOO19_PYTHON for 19.0) and check it.
select_odoo() {
    case "${1:-18}" in
        18 | 18.0) ODOO_VERSION=18.0 ;;
        19 | 19.0)
            ODOO_VERSION=19.0
            ODOO_SRC=$ODOO19_SRC
            PYTHON=$ODOO19_PYTHON
            ;;
        *) die "Unknown Odoo version '$1': use 18 or 19." ;;
    esac
    check_odoo
}

check_odoo() {
    local version_var=ODOO_SRC python_var=PYTHON
    if [ "${ODOO_VERSION:-18.0}" = 19.0 ]; then
        version_var=ODOO19_SRC
        python_var=ODOO19_PYTHON
    fi
    [ -f "$ODOO_SRC/odoo-bin" ] && [ -d "$ODOO_SRC/addons" ] ||
        die "$version_var=$ODOO_SRC holds no Odoo source tree (no odoo-bin or addons/). Put an Odoo ${ODOO_VERSION:-18.0} Community tree there or set $version_var (README, Prerequisites)."
    command -v "$PYTHON" >/dev/null ||
        die "$python_var=$PYTHON: no such Python for Odoo ${ODOO_VERSION:-18.0} (README, Prerequisites)."
    local version
    version=$("$PYTHON" "$ODOO_SRC/odoo-bin" --version 2>&1) ||
        die "$version_var=$ODOO_SRC: '$PYTHON odoo-bin --version' failed (are Odoo's requirements installed in $python_var?): $version"
    case "$version" in
        *"Odoo Server ${ODOO_VERSION:-18.0}"*) ;;
        *) die "$version_var=$ODOO_SRC is not Odoo ${ODOO_VERSION:-18.0} (it says: $version)." ;;
    esac
    ADDONS_PATH="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$REPO_ROOT"
    # 19.0 installs demo data only when asked; 18.0 does by default.
    DEMO_FLAG=()
    [ "${ODOO_VERSION:-18.0}" = 19.0 ] && DEMO_FLAG=(--with-demo)
    return 0
}

check_postgres() {
    local out
    out=$("$PYTHON" - 2>&1 <<'PY'
import psycopg2
conn = psycopg2.connect(dbname="postgres")
cur = conn.cursor()
cur.execute("SHOW server_version_num")
print(cur.fetchone()[0])
PY
) || die "PostgreSQL cannot be reached as user '$(id -un)' on the local socket: $out"
    [ "${out##*$'\n'}" -ge 130000 ] 2>/dev/null ||
        die "PostgreSQL >= 13 is required (server_version_num=$out)."
}

# Prints the names of the given importable modules that are missing.
missing_python_modules() {
    "$PYTHON" - "$@" <<'PY'
import importlib.util
import sys

print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))
PY
}

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

drop_database() {
    "$PYTHON" - "$1" <<'PY'
import sys

import psycopg2
from psycopg2 import sql

conn = psycopg2.connect(dbname="postgres")
conn.autocommit = True
drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(sys.argv[1]))
conn.cursor().execute(drop)
PY
}

# odoo_bin [shell] ARGS...: odoo-bin with this repository on the addons path.
odoo_bin() {
    local command=()
    if [ "${1:-}" = shell ]; then
        command=(shell)
        shift
    fi
    "$PYTHON" "$ODOO_SRC/odoo-bin" "${command[@]}" --addons-path="$ADDONS_PATH" --db_host= "$@"
}

# module_state DB: the state of custseg_module in ir_module_module ("" if absent).
module_state() {
    "$PYTHON" - "$1" <<'PY'
import sys

import psycopg2

with psycopg2.connect(dbname=sys.argv[1]) as conn, conn.cursor() as cur:
    cur.execute("SELECT state FROM ir_module_module WHERE name = 'custseg_module'")
    row = cur.fetchone()
print(row[0] if row else "")
PY
}

# OCA's lint tools live in a virtualenv of their own ($LINT_PYTHON, default
# /opt/lint-venv/bin/python): their pylint and astroid pins never meet Odoo's.
LINT_PYTHON=${LINT_PYTHON:-/opt/lint-venv/bin/python}
check_lint_tools() {
    local bin_dir tool
    bin_dir=$(dirname "$LINT_PYTHON")
    [ -x "$LINT_PYTHON" ] ||
        die "LINT_PYTHON=$LINT_PYTHON: no such Python for OCA's lint. Create it with: python3 -m venv ${LINT_PYTHON%/bin/python} && $LINT_PYTHON -m pip install -r requirements-lint.txt (or set LINT_PYTHON)."
    "$LINT_PYTHON" -c 'import pylint_odoo' 2>/dev/null ||
        die "pylint-odoo is missing from LINT_PYTHON=$LINT_PYTHON. Install it with: $LINT_PYTHON -m pip install -r requirements-lint.txt"
    for tool in oca-checks-odoo-module oca-checks-po; do
        [ -x "$bin_dir/$tool" ] ||
            die "$tool (PyPI oca-odoo-pre-commit-hooks) is missing from $bin_dir. Install it with: $LINT_PYTHON -m pip install -r requirements-lint.txt"
    done
}
