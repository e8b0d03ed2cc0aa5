#!/usr/bin/env bash
# The benchmark command (make bench): builds the benchmark databases that are
# missing, times run_segmentation end to end at each size, the naive ORM job at
# 10k customers and the module install on 1M partners, and prints a markdown
# table. See benchmarks/README.md.
#
#   BENCH_ODOO     18 (default) or 19: the Odoo version (or ODOO, as make bench ODOO=19
#                  passes it); 19.0's tree is $ODOO19_SRC run by $ODOO19_PYTHON, its
#                  databases are named custseg_bench19_* (18.0's custseg_bench_*)
#   BENCH_SIZES    customers:moves,...  (default 10000:100000,100000:1000000,1000000:10000000)
#   BENCH_NAIVE    customers of the size that also runs the naive job (default 10000, 0: skip)
#   BENCH_INSTALL  customers:moves of the install timing (default 1000000:10000000, "": skip)
#   BENCH_JSON     where the raw measurements go (default benchmarks/results/bench_run.json)
#   BENCH_REPEAT   fresh copies each size's first run is timed on (default 1)
#   BENCH_FILLFACTOR  res_partner's fillfactor on those copies (default: Odoo's, 100)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
cd "$REPO_ROOT"

BENCH_ODOO=${BENCH_ODOO:-${ODOO:-18}}
select_odoo "$BENCH_ODOO"
echo "== Odoo $ODOO_VERSION from $ODOO_SRC" >&2
check_postgres
missing=$(missing_python_modules pandas sklearn scipy psycopg2)
[ -z "$missing" ] ||
    die "Missing Python modules: $missing. Install them with: $PYTHON -m pip install -r requirements-test.txt"

SIZES=${BENCH_SIZES:-10000:100000,100000:1000000,1000000:10000000}
NAIVE=${BENCH_NAIVE:-10000}
INSTALL=${BENCH_INSTALL-1000000:10000000}
JSON=${BENCH_JSON:-$REPO_ROOT/benchmarks/results/bench_run.json}
mkdir -p "$(dirname "$JSON")"

args=(--sizes "$SIZES" --naive "$NAIVE" --json "$JSON" --repeat "${BENCH_REPEAT:-1}")
[ -z "$INSTALL" ] || args+=(--install "$INSTALL")
[ -z "${BENCH_FILLFACTOR:-}" ] || args+=(--fillfactor "$BENCH_FILLFACTOR")
# benchmarks/odoo_env.py reads the same variables as select_odoo.
export BENCH_ODOO ODOO_SRC ODOO19_SRC ODOO19_PYTHON
exec "$PYTHON" benchmarks/bench_run.py "${args[@]}"
