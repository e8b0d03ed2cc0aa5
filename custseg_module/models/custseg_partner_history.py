# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..tools.selections import LIFECYCLE_STAGE_SELECTION, VALUE_TIER_SELECTION


class CustsegPartnerHistory(models.Model):
    """One row per customer and run in which its segment, tier or stage changed,
    and one per manual segment change or unlock (no run; create_uid says who).

    Run rows are inserted in bulk by the run (custseg.run._phase_history),
    never one by one; the pivot of old × new segment is the transition matrix.
    """

    _name = "custseg.partner.history"
    _description = "Customer Segment Transition"
    _order = "date desc, id desc"

    partner_id = fields.Many2one(
        "res.partner", required=True, ondelete="cascade", index=True
    )
    run_id = fields.Many2one("custseg.run", ondelete="cascade", index=True)
    change_kind = fields.Selection(
        [
            ("run", "Segmentation run"),
            ("manual", "Set by hand"),
            ("unlock", "Unlocked"),
        ],
        string="Change",
        default="run",
        help="Who moved the customer: a segmentation run, a manager setting the "
        "segment by hand (which locks it), or a manager unlocking it.",
    )
    company_id = fields.Many2one("res.company", required=True, index=True)
    date = fields.Date(required=True)
    old_segment_id = fields.Many2one("custseg.segment", ondelete="set null")
    new_segment_id = fields.Many2one("custseg.segment", ondelete="set null")
    old_value_tier = fields.Selection(VALUE_TIER_SELECTION)
    new_value_tier = fields.Selection(VALUE_TIER_SELECTION)
    old_lifecycle_stage = fields.Selection(LIFECYCLE_STAGE_SELECTION)
    new_lifecycle_stage = fields.Selection(LIFECYCLE_STAGE_SELECTION)
    r_score = fields.Integer(string="R", aggregator="avg")
    f_score = fields.Integer(string="F", aggregator="avg")
    m_score = fields.Integer(string="M", aggregator="avg")

    def init(self):
        # The run inserts its rows in SQL (custseg.run._phase_history): the
        # column's own default makes them "run" rows without naming it there.
        self.env.cr.execute(
            "ALTER TABLE custseg_partner_history "
            "ALTER COLUMN change_kind SET DEFAULT 'run'"
        )
        self.env.cr.execute(
            "UPDATE custseg_partner_history SET change_kind = 'run' "
            "WHERE change_kind IS NULL"
        )
