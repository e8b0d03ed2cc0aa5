# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How far a background run has come, for the run form while it works.

A run writes its results in one transaction, which nobody sees before it
commits; it cannot commit half-way (19.0's ``ir.cron._commit_progress`` would),
and it cannot update its own run record from another transaction either: its
final write of that row would then fail with a serialization error. So each
phase adds one row here through a short separate transaction, and the run form
reads the latest one.
"""

from odoo import fields, models
from odoo.tools import SQL

from ..tools.selections import RUN_PHASES

PHASES = RUN_PHASES


class CustsegRunProgress(models.Model):
    _name = "custseg.run.progress"
    _description = "Segmentation Run Progress"
    _order = "id desc"
    _log_access = False

    run_id = fields.Many2one(
        "custseg.run", required=True, ondelete="cascade", index=True, readonly=True
    )
    phase = fields.Selection(PHASES, required=True, readonly=True)
    done_count = fields.Integer(string="Phases Done", readonly=True)
    phase_count = fields.Integer(string="Phases", readonly=True)

    def _report(self, run, phase, done_count, phase_count):
        """Record in a separate transaction, committed at once, that ``run``
        finished ``phase``. Only for a run whose record is already committed."""
        with self.env.registry.cursor() as cr:
            cr.execute(
                SQL(
                    "INSERT INTO custseg_run_progress (run_id, phase, done_count, "
                    "phase_count) VALUES (%s, %s, %s, %s)",
                    run.id,
                    phase,
                    done_count,
                    phase_count,
                )
            )
