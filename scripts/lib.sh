# Shared checks for the demo and test commands. Sourced, not executed.
# They never download or build Odoo: Odoo 18.0 is a prerequisite found at $ODOO_SRC.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-/opt/odoo}
PYTHON=${PYTHON:-python3}

die() {
    printf '\nERROR: %s\n' "$*" >&2
    exit 2
}

check_odoo() {
    [ -f "$ODOO_SRC/odoo-bin" ] && [ -d "$ODOO_SRC/addons" ] ||
        die "ODOO_SRC=$ODOO_SRC holds no Odoo source tree (no odoo-bin or addons/). Put an Odoo 18.0 Community tree there or set ODOO_SRC."
    local version
    version=$("$PYTHON" "$ODOO_SRC/odoo-bin" --version 2>&1) ||
        die "ODOO_SRC=$ODOO_SRC: '$PYTHON odoo-bin --version' failed (are Odoo's requirements installed?): $version"
    case "$version" in
        *"Odoo Server 18.0"*) ;;
        *) die "ODOO_SRC=$ODOO_SRC is not Odoo 18.0 (it says: $version)." ;;
    esac
    ADDONS_PATH="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$REPO_ROOT"
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
