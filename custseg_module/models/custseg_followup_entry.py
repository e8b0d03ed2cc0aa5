# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One row per customer entering a segment with follow-ups in a run: treated
(scheduled a follow-up) or held out (the segment's control group), and why.
The lift report compares the two groups' purchases after the entry date."""

from odoo import fields, models


class CustsegFollowupEntry(models.Model):
    _name = "custseg.followup.entry"
    _description = "Follow-up Experiment Entry"
    _order = "entry_date desc, id desc"
    _rec_name = "partner_id"

    run_id = fields.Many2one(
        "custseg.run", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    segment_id = fields.Many2one(
        "custseg.segment", required=True, readonly=True, index=True, ondelete="cascade"
    )
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        readonly=True,
        index=True,
        ondelete="set null",
        help="The customer's salesperson on the entry date.",
    )
    entry_date = fields.Date(required=True, readonly=True, index=True)
    experiment_group = fields.Selection(
        [("treated", "Treated"), ("held_out", "Held out")],
        string="Group",
        required=True,
        readonly=True,
        index=True,
    )
    group_reason = fields.Selection(
        [
            ("drawn_treated", "Drawn for the follow-up"),
            ("drawn_held_out", "Drawn for the control group"),
            ("no_control_share", "The segment has no control share"),
            ("control_off", "Control groups are off in the settings"),
        ],
        string="Why",
        required=True,
        readonly=True,
    )
    likelihood = fields.Float(
        string="Likelihood at Entry", digits=(16, 4), readonly=True, aggregator="avg"
    )
    likelihood_decile = fields.Integer(readonly=True, aggregator=None)
    control_until = fields.Date(
        string="In Control Group Until",
        readonly=True,
        help="Held-out customers get no follow-up of this segment until this day.",
    )
