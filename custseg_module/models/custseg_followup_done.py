# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools.selections import FOLLOWUP_OUTCOMES


class CustsegFollowupDone(models.TransientModel):
    """The Done dialog of segment follow-ups: an outcome, and Odoo's feedback."""

    _name = "custseg.followup.done"
    _description = "Mark Segment Follow-ups Done"
    _order = "id desc"

    activity_ids = fields.Many2many(
        "mail.activity", string="Follow-ups", required=True, readonly=True
    )
    activity_count = fields.Integer(compute="_compute_activity_count")
    outcome = fields.Selection(FOLLOWUP_OUTCOMES, required=True)
    feedback = fields.Text()
    # Set by the chatter's "Done & Schedule Next": the next activity's form follows.
    schedule_next = fields.Boolean()

    @api.depends("activity_ids")
    def _compute_activity_count(self):
        for wizard in self:
            wizard.activity_count = len(wizard.activity_ids)

    def action_confirm(self):
        self.ensure_one()
        activities = self.activity_ids.filtered("active").with_context(
            custseg_outcome=self.outcome
        )
        if self.schedule_next and len(activities) == 1:
            action = activities.action_feedback_schedule_next(
                feedback=self.feedback or False
            )
            if action:
                action["context"].pop("custseg_outcome", None)
                return action
        else:
            activities.action_feedback(feedback=self.feedback or False)
        return {"type": "ir.actions.act_window_close"}
