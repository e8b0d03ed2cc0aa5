# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Segment follow-ups are ordinary activities on the commercial partner, marked
with the segment that asked for them.

An open follow-up is an active activity with ``custseg_segment_id`` set. Odoo 18
deletes an activity when it is done, or archives it (``active = False``) when its
type keeps done activities, so "open" is "active". A partial unique index allows
one open follow-up per customer and plan step: a single activity is step 0, so
no customer ever has two open follow-ups from this module, and a launched plan
is one follow-up of several steps.
"""

from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools.context_markers import REPLACE_CONTEXT

OPEN_FOLLOWUP_INDEX = "mail_activity_custseg_open_followup_uniq"
# Stored fields only the module sets (as superuser: runs, the Best List's
# button); read-only in the views, refused here for any other caller.
FOLLOWUP_OWNED_FIELDS = frozenset(
    {
        "custseg_segment_id",
        "custseg_run_id",
        "custseg_partner_id",
        "custseg_step",
        "custseg_reason",
        "custseg_purchase_probability",
    }
)
# What a follow-up is attached to: moving it to another record would leave
# its customer's marks (custseg_partner_id) pointing elsewhere.
FOLLOWUP_TARGET_FIELDS = frozenset({"res_model", "res_model_id", "res_id"})


class MailActivity(models.Model):
    _inherit = "mail.activity"

    custseg_segment_id = fields.Many2one(
        "custseg.segment",
        string="Follow-up Segment",
        index=True,
        readonly=True,
        ondelete="set null",
        help="The segment that scheduled this follow-up.",
    )
    custseg_run_id = fields.Many2one(
        "custseg.run",
        string="Scheduled By Run",
        readonly=True,
        ondelete="set null",
    )
    custseg_partner_id = fields.Many2one(
        "res.partner",
        string="Follow-up Customer",
        index=True,
        readonly=True,
        ondelete="cascade",
        help="The commercial partner the follow-up is about (res_model/res_id as "
        "a real relation, for the queue's columns and sorting).",
    )
    custseg_step = fields.Integer(
        string="Plan Step",
        readonly=True,
        default=0,
        help="Position in the launched activity plan; 0 for a single follow-up.",
    )
    custseg_reason = fields.Selection(
        [
            ("entered", "Entered the segment"),
            ("reminder", "Reminder"),
            ("manual", "Scheduled by hand"),
        ],
        string="Follow-up Reason",
        readonly=True,
    )
    custseg_purchase_probability = fields.Float(
        string="Purchase Likelihood",
        digits=(16, 4),
        readonly=True,
        aggregator="avg",
        help="The customer's purchase likelihood, refreshed by every run; stored "
        "here so that the queue can sort by it.",
    )
    # Shown in the queue; read from the customer, not stored.
    custseg_value_tier = fields.Selection(
        related="custseg_partner_id.value_tier", string="Value Tier"
    )
    custseg_current_segment_id = fields.Many2one(
        related="custseg_partner_id.customer_segment_id", string="Current Segment"
    )
    custseg_last_purchase_date = fields.Date(
        related="custseg_partner_id.last_purchase_date", string="Last Purchase"
    )
    custseg_currency_id = fields.Many2one(related="custseg_partner_id.currency_id")
    custseg_net_revenue = fields.Monetary(
        related="custseg_partner_id.rfm_monetary",
        string="Net Revenue",
        currency_field="custseg_currency_id",
    )
    custseg_predicted_clv = fields.Monetary(
        related="custseg_partner_id.predicted_clv",
        string="Predicted CLV",
        currency_field="custseg_currency_id",
    )
    custseg_phone = fields.Char(related="custseg_partner_id.phone", string="Phone")
    custseg_email = fields.Char(related="custseg_partner_id.email", string="Email")

    def init(self):
        res = super().init()
        # At most one open follow-up per customer (and plan step); done ones are
        # deleted or archived, so they do not count.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS %s
                    ON mail_activity (custseg_partner_id, custseg_step)
                 WHERE custseg_segment_id IS NOT NULL AND active
                """,
                SQL.identifier(OPEN_FOLLOWUP_INDEX),
            )
        )
        return res

    @api.model_create_multi
    def create(self, vals_list):
        self._custseg_check_owned_fields(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._custseg_check_owned_fields([vals])
        if (
            not self.env.su
            and FOLLOWUP_TARGET_FIELDS & set(vals)
            and self.filtered("custseg_segment_id")
        ):
            raise AccessError(
                self.env._(
                    "A segment follow-up stays on its customer: schedule a new "
                    "activity for another one instead of moving this one."
                )
            )
        closing = self.browse()
        if "active" in vals and not vals["active"]:
            closing = self._custseg_open_followups()
        res = super().write(vals)
        closing._custseg_record_closed()
        return res

    def unlink(self):
        # A follow-up replaced by a run is not one the salesperson closed.
        if self.env.context.get("custseg_followup_replace") is not REPLACE_CONTEXT:
            self._custseg_open_followups()._custseg_record_closed()
        return super().unlink()

    def action_done(self):
        """Segment follow-ups ask for an outcome first (the Done dialog)."""
        followups = self._custseg_open_followups()
        if not followups or self.env.context.get("custseg_outcome"):
            return super().action_done()
        return self.action_custseg_done_dialog()

    def action_custseg_done_dialog(self, feedback=False, schedule_next=False):
        """The Done dialog for these follow-ups; the chatter's Mark Done popover
        opens it with the feedback already typed there."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Follow-up Done"),
            "res_model": "custseg.followup.done",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_activity_ids": [Command.set(self.ids)],
                "default_feedback": feedback or False,
                "default_schedule_next": bool(schedule_next) and len(self) == 1,
            },
        }

    def _to_store_defaults(self, *args, **kwargs):
        # Odoo 19 sends only listed fields to the chatter; its Mark Done popover
        # needs to know a follow-up (Odoo 18 sends every field).
        return [*super()._to_store_defaults(*args, **kwargs), "custseg_segment_id"]

    def _action_done(self, feedback=False, attachment_ids=None):
        outcome = self.env.context.get("custseg_outcome")
        segments = {
            activity.custseg_partner_id.id: activity.custseg_segment_id.id
            for activity in self._custseg_open_followups()
        }
        messages, next_activities = super()._action_done(
            feedback=feedback, attachment_ids=attachment_ids
        )
        if segments:
            for segment_id in set(segments.values()):
                done = messages.filtered(
                    lambda message, segment_id=segment_id: (
                        message.model == "res.partner"
                        and segments.get(message.res_id) == segment_id
                    )
                )
                # sudo: the message is Odoo's own post; only its tags are ours.
                done.sudo().write(
                    {"custseg_segment_id": segment_id, "custseg_outcome": outcome}
                )
        return messages, next_activities

    def action_custseg_snooze(self):
        """Snooze 7 days, from the deadline or today if it is overdue (18.0's
        action_snooze, which 19.0 removed)."""
        today = fields.Date.context_today(self)
        for activity in self.filtered("active"):
            deadline = max(activity.date_deadline, today)
            activity.date_deadline = deadline + timedelta(days=7)

    def _custseg_check_owned_fields(self, vals_list):
        if self.env.su:
            return
        touched = {name for vals in vals_list for name in vals}
        touched &= FOLLOWUP_OWNED_FIELDS
        if touched:
            raise AccessError(
                self.env._(
                    "%(fields)s are set by the segment follow-ups and cannot be "
                    "set by hand.",
                    fields=", ".join(sorted(touched)),
                )
            )

    def _custseg_open_followups(self):
        return self.filtered(lambda act: act.active and act.custseg_segment_id)

    def _custseg_record_closed(self):
        """Remember when the customer's last follow-up was done (or cancelled):
        reminders count their interval from that day."""
        partners = self.custseg_partner_id.exists()
        if partners:
            # sudo: a salesperson closes their own activity but may not be
            # allowed to write the customer.
            partners.sudo().write(
                {"segment_followup_done_date": fields.Date.context_today(self)}
            )
