# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Segmentation figures on customers.

The run computes them on the commercial partner and writes the same values on
its contacts in the same UPDATE; they are also commercial fields, so a contact
created later, or a manual change on the company, is synced by Odoo itself.
Plain stored fields, never computed from invoices: installing the module on a
database with a million partners only adds empty columns.
"""

import operator
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.osv import expression

from .custseg_run import WRITTEN_FIELDS

VALUE_TIERS = [
    ("key", "Key"),
    ("important", "Important"),
    ("ordinary", "Ordinary"),
    ("small", "Small"),
    ("negative", "Negative"),
]
LIFECYCLE_STAGES = [
    ("prospect", "Prospect"),
    ("new", "New"),
    ("repeat", "Repeat"),
    ("loyal", "Loyal"),
    ("at_risk", "At Risk"),
    ("churned", "Churned"),
    ("reactivated", "Reactivated"),
]
# Recency operator: (the last purchase date's operator, the comparison itself).
RECENCY_OPERATORS = {
    "<": (">", operator.lt),
    "<=": (">=", operator.le),
    ">": ("<", operator.gt),
    ">=": ("<=", operator.ge),
    "=": ("=", operator.eq),
    "!=": ("!=", operator.ne),
}
MANAGER_GROUP = "custseg_module.group_custseg_manager"
# Who reads the segmentation figures of customers (field groups=).
SEGMENTATION_USER = "custseg_module.group_custseg_user"
# Fields a manager may set by hand; everything else only a run writes.
MANUAL_FIELDS = {"customer_segment_id", "segment_locked", "segment_date"}
# Fields only the module writes: the run's figures, and the day the last
# follow-up was closed (written when an activity is done).
MODULE_FIELDS = {*WRITTEN_FIELDS, "segment_followup_done_date"}


class _ServerMarker:
    """A context value that no RPC call can forge: JSON has no such object, so
    a client passing the same context key gets no bypass."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<custseg {self.name}>"


# Odoo's own copy of commercial fields to contacts (no user edit), and the
# partner merge wizard's write on the surviving partner.
SYNC_CONTEXT = _ServerMarker("sync")
MERGE_CONTEXT = _ServerMarker("merge")


class ResPartner(models.Model):
    _inherit = "res.partner"

    customer_segment_id = fields.Many2one(
        "custseg.segment",
        string="Segment",
        index=True,
        copy=False,
        ondelete="restrict",
        tracking=True,
        group_expand="_read_group_customer_segment_ids",
        groups=SEGMENTATION_USER,
    )
    value_tier = fields.Selection(VALUE_TIERS, copy=False, groups=SEGMENTATION_USER)
    lifecycle_stage = fields.Selection(
        LIFECYCLE_STAGES, copy=False, groups=SEGMENTATION_USER
    )
    # Not stored: a stored day count would change on every customer every day
    # and make each daily run rewrite them all (README, Performance).
    rfm_recency_days = fields.Integer(
        string="Recency (days)",
        compute="_compute_rfm_recency_days",
        search="_search_rfm_recency_days",
        help="Days from the last purchase to the as-of date of the latest "
        "segmentation run, the date the R score was computed at.",
        groups=SEGMENTATION_USER,
    )
    rfm_frequency = fields.Integer(
        string="Frequency",
        copy=False,
        help="Distinct purchase days with a positive net amount.",
        groups=SEGMENTATION_USER,
    )
    rfm_monetary = fields.Monetary(
        string="Net Revenue",
        copy=False,
        help="Untaxed invoices minus refunds, in the currency of the company "
        "that ran the segmentation.",
        groups=SEGMENTATION_USER,
    )
    rfm_r_score = fields.Integer(string="R Score", copy=False, groups=SEGMENTATION_USER)
    rfm_f_score = fields.Integer(string="F Score", copy=False, groups=SEGMENTATION_USER)
    rfm_m_score = fields.Integer(string="M Score", copy=False, groups=SEGMENTATION_USER)
    rfm_code = fields.Char(string="RFM Code", copy=False, groups=SEGMENTATION_USER)
    first_purchase_date = fields.Date(copy=False, groups=SEGMENTATION_USER)
    last_purchase_date = fields.Date(copy=False, groups=SEGMENTATION_USER)
    purchase_probability = fields.Float(
        string="Purchase Likelihood",
        digits=(16, 4),
        copy=False,
        help="Probability of at least one purchase within the likelihood horizon.",
        groups=SEGMENTATION_USER,
    )
    predicted_clv = fields.Monetary(
        string="Predicted CLV",
        copy=False,
        help="Expected net revenue over the lifetime-value horizon.",
        groups=SEGMENTATION_USER,
    )
    customer_cluster = fields.Char(
        string="Cluster", copy=False, groups=SEGMENTATION_USER
    )
    segment_date = fields.Date(
        string="In Segment Since",
        copy=False,
        help="When the customer entered its current segment.",
        groups=SEGMENTATION_USER,
    )
    segment_locked = fields.Boolean(
        string="Segment Locked",
        copy=False,
        help="Set by hand: runs keep this segment but still refresh the figures.",
        groups=SEGMENTATION_USER,
    )
    segment_history_ids = fields.One2many(
        "custseg.partner.history",
        "partner_id",
        string="Segment History",
        groups=SEGMENTATION_USER,
    )
    segment_history_count = fields.Integer(
        compute="_compute_segment_history_count", groups=SEGMENTATION_USER
    )
    segment_followup_done_date = fields.Date(
        string="Last Follow-up Done",
        copy=False,
        readonly=True,
        help="When the customer's last segment follow-up was done or cancelled; "
        "reminders count their interval from this day.",
        groups=SEGMENTATION_USER,
    )
    custseg_control_until = fields.Date(
        string="In Control Group Until",
        compute="_compute_custseg_control_until",
        help="The customer was held out of its segment's follow-up as part of the "
        "control group that measures the follow-ups' lift: no follow-up until "
        "this day, on purpose.",
    )

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + WRITTEN_FIELDS + ["segment_locked"]

    def _custseg_sync_values(self, method, field_names):
        """Odoo's ``method`` (the values of commercial fields to copy to
        contacts), reading the segmentation fields as superuser: a user who
        may not read them still creates contacts of a segmented company, and
        the contact still gets the company's figures."""
        ours = [name for name in field_names if name in self._custseg_synced_fields()]

        def convert(partners, names):
            # Odoo's method on another recordset than self (ruff misreads it).
            return getattr(super(ResPartner, partners), method)(names)  # noqa: UP008

        if not ours or self.env.su:
            return convert(self, field_names)
        values = convert(self, [name for name in field_names if name not in ours])
        # sudo: copying the company's figures to its contact is no user read.
        values.update(convert(self.sudo(), ours))
        return values

    @api.model
    def _custseg_synced_fields(self):
        return {*WRITTEN_FIELDS, "segment_locked"}

    def _update_fields_values(self, fields):
        # Odoo 18's name.
        return self._custseg_sync_values("_update_fields_values", fields)

    def _convert_fields_to_values(self, field_names):
        # Odoo 19's name.
        return self._custseg_sync_values("_convert_fields_to_values", field_names)

    @api.model
    def _custseg_recency_date(self):
        """The as-of date of the latest completed run, or None."""
        # sudo: runs are readable by segmentation users only; the date is not
        # secret and recency is shown to whoever reads the partner.
        run = self.env["custseg.run"].sudo().search([("state", "=", "done")], limit=1)
        return run.as_of or None

    @api.depends("last_purchase_date")
    def _compute_rfm_recency_days(self):
        as_of = self._custseg_recency_date()
        for partner in self:
            last = partner.last_purchase_date
            partner.rfm_recency_days = (as_of - last).days if as_of and last else 0

    def _search_rfm_recency_days(self, operator, value):
        """Recency compares the other way round as the last purchase date;
        customers without purchases have a recency of 0."""
        try:
            if operator not in RECENCY_OPERATORS or isinstance(value, bool):
                raise ValueError(operator)
            days = int(value)
        except (TypeError, ValueError) as error:
            raise UserError(
                self.env._(
                    "Recency can only be compared with a number of days, not "
                    "with %(operator)s %(value)s.",
                    operator=operator,
                    value=value,
                )
            ) from error
        zero_matches = RECENCY_OPERATORS[operator][1](0, days)
        as_of = self._custseg_recency_date()
        if not as_of:
            return expression.TRUE_DOMAIN if zero_matches else expression.FALSE_DOMAIN
        with_purchase = [
            "&",
            ("last_purchase_date", "!=", False),
            (
                "last_purchase_date",
                RECENCY_OPERATORS[operator][0],
                as_of - timedelta(days=days),
            ),
        ]
        if zero_matches:
            return ["|", ("last_purchase_date", "=", False), *with_purchase]
        return with_purchase

    @api.model
    def _read_group_customer_segment_ids(self, segments, domain):
        """Every active segment is a kanban column, even when empty."""
        return segments.search([], order=segments._order)

    def _compute_segment_history_count(self):
        counts = dict(
            self.env["custseg.partner.history"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.segment_history_count = counts.get(partner.commercial_partner_id, 0)

    def _compute_custseg_control_until(self):
        today = fields.Date.context_today(self)
        commercial = self.commercial_partner_id
        in_control = self.env["custseg.followup"]._in_control(commercial, today)
        for partner in self:
            partner.custseg_control_until = in_control.get(
                partner.commercial_partner_id, False
            )

    @api.model_create_multi
    def create(self, vals_list):
        if self.env.context.get("custseg_sync") is not SYNC_CONTEXT:
            for vals in vals_list:
                self._check_segmentation_write(vals)
        # Odoo copies the commercial fields to new contacts: that is no user edit.
        partners = super(
            ResPartner, self.with_context(custseg_sync=SYNC_CONTEXT)
        ).create(vals_list)
        return partners.with_env(self.env)

    def write(self, vals):
        if self.env.context.get("custseg_merge") is MERGE_CONTEXT:
            # The merge wizard fills the survivor's empty fields with the
            # duplicates' values: for the segmentation that would mix two
            # customers' figures. The survivor keeps its own until the next run.
            owned = MODULE_FIELDS | MANUAL_FIELDS
            return self.with_context(custseg_merge=None).write(
                {name: value for name, value in vals.items() if name not in owned}
            )
        if self.env.context.get("custseg_sync") is not SYNC_CONTEXT:
            self._check_segmentation_write(vals)
            if vals.get("customer_segment_id") and "segment_locked" not in vals:
                # A segment set by hand (kanban drag, form) is a manual override.
                vals = {
                    **vals,
                    "segment_locked": True,
                    "segment_date": fields.Date.context_today(self),
                }
        previous_salespeople = (
            {partner.id: partner.user_id for partner in self}
            if "user_id" in vals
            else None
        )
        # Odoo then syncs commercial fields to the contacts: no user edit either.
        res = super(ResPartner, self.with_context(custseg_sync=SYNC_CONTEXT)).write(
            vals
        )
        if previous_salespeople is not None:
            self._custseg_move_followups(previous_salespeople)
        return res

    def _custseg_move_followups(self, previous_salespeople):
        """The customers' open segment follow-ups follow their new salesperson:
        those assigned to the previous salesperson, and those that went to the
        segment owner or default user for want of one. One search, one write."""
        new_salesperson = self.user_id[:1]
        if not (
            new_salesperson
            and new_salesperson.active
            and new_salesperson._is_internal()
        ):
            return
        customers = self.filtered(
            lambda partner: partner.commercial_partner_id == partner
        )
        if not customers:
            return
        # sudo: the follow-ups may belong to other users.
        open_followups = (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("custseg_partner_id", "in", customers.ids),
                    ("custseg_segment_id", "!=", False),
                    ("user_id", "!=", new_salesperson.id),
                ]
            )
        )

        def follows(activity):
            previous = previous_salespeople[activity.custseg_partner_id.id]
            return (
                not previous
                or activity.user_id == previous
                or not (previous.active and previous._is_internal())
            )

        moving = open_followups.filtered(follows)
        if moving:
            moving.with_context(mail_activity_quick_update=True).write(
                {"user_id": new_salesperson.id}
            )

    def _check_segmentation_write(self, vals):
        """Segmentation figures are the run's; only managers override segments."""
        touched = set(vals) & (MODULE_FIELDS | MANUAL_FIELDS)
        if not touched or self.env.su:
            return
        computed = touched - MANUAL_FIELDS
        if computed:
            raise AccessError(
                self.env._(
                    "%(fields)s are computed by the segmentation run and cannot be "
                    "set by hand.",
                    fields=", ".join(sorted(computed)),
                )
            )
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._(
                    "Only segmentation managers can change a customer's segment."
                )
            )

    def action_unlock_segment(self):
        self.commercial_partner_id.write({"segment_locked": False})

    def action_lock_segment(self):
        self.commercial_partner_id.write({"segment_locked": True})

    def action_schedule_followup(self):
        """Best List button: schedule the segment's follow-up of these customers
        now. A customer keeps an open follow-up of its segment; one of another
        segment is replaced (see custseg.followup). Segmentation users only."""
        if not self.env.su and not self.env.user.has_group(SEGMENTATION_USER):
            raise AccessError(
                self.env._("Only segmentation users can schedule segment follow-ups.")
            )
        self.check_access("read")
        # sudo: replacing a follow-up assigned to someone else and subscribing
        # the salesperson need more than a salesperson has; the segmentation
        # group and the read access checked above are the gate.
        result = self.env["custseg.followup"].sudo()._schedule_now(self)
        if result["in_control"] and not result["created"]:
            message = self.env._(
                "In a control group: no follow-up until the end of the measurement "
                "(see the customer's Segmentation page)."
            )
            kind = "warning"
        elif result["created"]:
            message = (
                self.env._("1 follow-up scheduled")
                if result["created"] == 1
                else self.env._(
                    "%(count)s follow-ups scheduled", count=result["created"]
                )
            )
            kind = "success"
        else:
            message = self.env._("The customer already has an open follow-up.")
            kind = "info"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": kind,
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_view_segment_history(self):
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "custseg_module.custseg_partner_history_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {}
        return action
