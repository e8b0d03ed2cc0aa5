#!/usr/bin/env bash
# The demo command (make demo): (re)create database custseg_demo with Odoo's demo
# data and the module's demo customers and invoices, run the segmentation (a
# baseline a month ago, then today), then serve Odoo on http://localhost:8069
# (admin / admin). ODOO=19 (make demo ODOO=19) serves it on Odoo 19.0 instead of 18.0.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

DB=${CUSTSEG_DEMO_DB:-custseg_demo}
PORT=${CUSTSEG_DEMO_PORT:-8069}

select_odoo "${ODOO:-18}"
echo "== Odoo $ODOO_VERSION from $ODOO_SRC"
check_postgres
missing=$(missing_python_modules pandas sklearn scipy)
if [ -n "$missing" ]; then
    echo "Installing the module's Python dependencies ($missing)..."
    "$PYTHON" -m pip install -r requirements.txt
fi

echo "== (Re)creating database $DB with demo data (a few minutes)"
drop_database "$DB"
odoo_bin -d "$DB" -i custseg_module "${DEMO_FLAG[@]}" --stop-after-init --log-level=warn \
    --max-cron-threads=0 --http-port="$PORT"

echo "== Running the segmentation: a baseline a month ago, then today"
odoo_bin shell -d "$DB" --log-level=warn --no-http <<'PY'
from datetime import timedelta

from odoo import fields

today = fields.Date.context_today(env.user)
# The first run classifies everyone (no transition, no follow-up); the run of
# today then logs the month's transitions and schedules their follow-ups.
for as_of in (today - timedelta(days=30), today):
    run = env["custseg.run"].run_segmentation(as_of=as_of)
    env.cr.commit()
    print(f"Segmentation run {run.id} as of {as_of}: {run.partner_count} customers, "
          f"{run.changed_count} changed, {run.history_count} transitions, "
          f"{run.activity_created_count} follow-ups, "
          f"{run.control_held_out_count} held out as control group, "
          f"{run.activity_not_assigned_count} not assigned, {run.duration:.1f} s")
for line in run.line_ids:
    print(f"  {line.segment_id.name:<22} {line.customer_count:>4}")
print("Model quality (Runs > latest run > Model quality):")
print("  " + (run.quality_summary or "").replace("\n", "\n  "))
print("Follow-up lift (segment form > Follow-up):")
for segment in env["custseg.followup.entry"].search([]).segment_id:
    print(f"  {segment.name}: {segment.lift_summary}")
PY

cat <<EOF

== custseg demo is ready on http://localhost:$PORT  (login admin / password admin)
   Customer Segmentation > Customers by Segment   kanban of customers by segment (drag to override)
   Customer Segmentation > My Follow-ups          the salesperson's follow-up queue
   Customer Segmentation > Best List              customers ranked by purchase likelihood
   Customer Segmentation > Analysis               pivots: segment x tier, geography, transitions,
                                                  follow-up lift (treated vs control group)
   Customer Segmentation > Runs                   run log, quality metrics, model-quality card,
                                                  Recompute now
   Customer Segmentation > Configuration          segments (R x F grid), settings
   Stop the server with Ctrl+C.
EOF
exec "$PYTHON" "$ODOO_SRC/odoo-bin" --addons-path="$ADDONS_PATH" --db_host= \
    -d "$DB" --db-filter="^$DB\$" --http-port="$PORT" --log-level=warn
