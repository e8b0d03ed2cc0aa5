# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A done segment follow-up keeps its outcome on the message that Odoo posts
for every done activity (18 and 19 alike: 19 also archives the activity, 18
deletes it, the message stays in both), so reports group done follow-ups by
outcome and segment."""

from odoo import fields, models

from ..tools.selections import FOLLOWUP_OUTCOMES


class MailMessage(models.Model):
    _inherit = "mail.message"

    custseg_outcome = fields.Selection(
        FOLLOWUP_OUTCOMES,
        string="Follow-up Outcome",
        readonly=True,
        index="btree_not_null",
        help="What the salesperson recorded when marking the segment follow-up done.",
    )
    custseg_segment_id = fields.Many2one(
        "custseg.segment",
        string="Follow-up Segment",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The segment whose follow-up this message records as done.",
    )
