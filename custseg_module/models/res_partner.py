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
from odoo.tools import SQL

from ..tools import compat
from ..tools.context_markers import MERGE_CONTEXT, SYNC_CONTEXT
from ..tools.field_map import FIGURE_TABLE, WRITTEN_FIELDS, fields_in
from ..tools.selections import LIFECYCLE_STAGE_SELECTION, VALUE_TIER_SELECTION
from ..tools.why import customer_figures, why_lines

# Recency operator: (the last purchase date's operator, the comparison itself).
RECENCY_OPERATORS = {
    "<": (">", operator.lt),
    "<=": (">=", operator.le),
    ">": ("<", operator.gt),
    ">=": ("<=", operator.ge),
    "=": ("=", operator.eq),
    "!=": ("!=", operator.ne),
}
# Group rows sort in this order, not alphabetically (_read_group_orderby).
MEANING_ORDERS = {
    "value_tier": [value for value, _label in VALUE_TIER_SELECTION],
    "lifecycle_stage": [value for value, _label in LIFECYCLE_STAGE_SELECTION],
}
MANAGER_GROUP = "custseg_module.group_custseg_manager"
# Who reads the segmentation figures of customers (field groups=).
SEGMENTATION_USER = "custseg_module.group_custseg_user"
# Fields a manager may set by hand; everything else only a run writes.
MANUAL_FIELDS = {"customer_segment_id", "segment_locked", "segment_date"}
# Fields only the module writes: the run's figures, and the day the last
# follow-up was closed (written when an activity is done).
MODULE_FIELDS = {*WRITTEN_FIELDS, "segment_followup_done_date"}


def _figure_search(name):
    """The search method of the figure field ``name`` (one per field, as
    ``fields.search`` names a method)."""

    def search(self, operator, value):
        return self._search_custseg_figure(name, operator, value)

    return search


class ResPartner(models.Model):
    _inherit = "res.partner"

    customer_segment_id = fields.Many2one(
        "custseg.segment",
        string="Segment",
        help="The customer's cell of the recency × frequency grid, ranked against "
        "all other customers (see the segment's playbook). The lifecycle stage, "
        "by contrast, follows the customer's own buying rhythm.",
        index=True,
        copy=False,
        ondelete="restrict",
        tracking=True,
        group_expand="_read_group_customer_segment_ids",
        groups=SEGMENTATION_USER,
    )
    value_tier = fields.Selection(
        VALUE_TIER_SELECTION,
        copy=False,
        help="Pareto tier of the customer's net revenue: key customers make the "
        "first share of revenue, then important, ordinary and small ones.",
        groups=SEGMENTATION_USER,
    )
    lifecycle_stage = fields.Selection(
        LIFECYCLE_STAGE_SELECTION,
        copy=False,
        help="Where the customer is in its own buying rhythm (first purchase, "
        "repeat, regular, lapsing, churned...), from the time since its last purchase "
        "compared with its usual gap. The segment, by contrast, ranks the "
        "customer's recency and frequency against all other customers.",
        groups=SEGMENTATION_USER,
    )
    # Not stored: a stored day count would change on every customer every day
    # and make each daily run rewrite them all (README, Performance).
    rfm_recency_days = fields.Integer(
        string="Recency (days)",
        compute="_compute_rfm_recency_days",
        search="_search_rfm_recency_days",
        aggregator="avg",
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
    rfm_r_score = fields.Integer(
        string="R Score", copy=False, aggregator="avg", groups=SEGMENTATION_USER
    )
    rfm_f_score = fields.Integer(
        string="F Score", copy=False, aggregator="avg", groups=SEGMENTATION_USER
    )
    rfm_m_score = fields.Integer(
        string="M Score", copy=False, aggregator="avg", groups=SEGMENTATION_USER
    )
    rfm_code = fields.Char(string="RFM Code", copy=False, groups=SEGMENTATION_USER)
    first_purchase_date = fields.Date(copy=False, groups=SEGMENTATION_USER)
    last_purchase_date = fields.Date(copy=False, groups=SEGMENTATION_USER)
    # The daily-moving figures live in custseg.partner.figure (one row per
    # commercial partner); these read them, and _field_to_sql lets searches,
    # orders and pivots use them as if they were columns (README, Reference).
    purchase_probability = fields.Float(
        string="Purchase Likelihood",
        digits=(16, 4),
        compute="_compute_custseg_figures",
        search="_search_purchase_probability",
        aggregator="avg",
        help="Likelihood of at least one purchase within the likelihood horizon.",
        groups=SEGMENTATION_USER,
    )
    predicted_clv = fields.Monetary(
        string="Predicted CLV",
        compute="_compute_custseg_figures",
        search="_search_predicted_clv",
        help="Expected net revenue over the lifetime-value horizon; with the Profit "
        "value basis, expected profit: that revenue times the customer's profit "
        "rate, shrunk toward the typical customer's.",
        groups=SEGMENTATION_USER,
    )
    purchase_gap_days = fields.Float(
        string="Usual Gap (days)",
        digits=(16, 1),
        compute="_compute_custseg_figures",
        search="_search_purchase_gap_days",
        aggregator="avg",
        help="Median days between the customer's purchase days: the gap the "
        "Lapsing rule multiplies. 0 below two purchase days.",
        groups=SEGMENTATION_USER,
    )
    customer_cluster = fields.Char(
        string="Cluster", copy=False, groups=SEGMENTATION_USER
    )
    # Not stored: worded from the stored figures and the latest run's
    # population percentiles, in the reader's language.
    segment_why = fields.Text(
        string="Why",
        compute="_compute_segment_why",
        groups=SEGMENTATION_USER,
        help="The facts that set this customer's segment, stage and likelihood, "
        "from the figures of the latest segmentation run.",
    )
    segment_date = fields.Date(
        string="In Segment Since",
        copy=False,
        help="When the customer entered its current segment.",
        groups=SEGMENTATION_USER,
    )
    segment_locked = fields.Boolean(
        copy=False,
        help="Set by hand: runs keep this segment but still refresh the figures.",
        groups=SEGMENTATION_USER,
    )
    segment_history_ids = fields.One2many(
        "custseg.partner.history",
        "partner_id",
        string="Segment Transitions",
        groups=SEGMENTATION_USER,
    )
    segment_history_count = fields.Integer(
        compute="_compute_segment_history_count", groups=SEGMENTATION_USER
    )
    recommendation_ids = fields.One2many(
        "custseg.recommendation",
        "partner_id",
        string="Recommended Products",
        groups=SEGMENTATION_USER,
    )
    next_best_product_id = fields.Many2one(
        "product.product",
        string="Offer",
        compute="_compute_next_best_product_id",
        help="The first product the last run recommends offering this customer.",
        groups=SEGMENTATION_USER,
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
        groups=SEGMENTATION_USER,
    )

    # The last run's profit figures of the commercial partner, in the figure
    # table too: searchable and sortable (the customers who lose money).
    profit_currency_id = fields.Many2one(
        "res.currency",
        compute="_compute_custseg_figures",
        groups=SEGMENTATION_USER,
    )
    profit_revenue = fields.Monetary(
        compute="_compute_custseg_figures",
        search="_search_profit_revenue",
        currency_field="profit_currency_id",
        string="Window Net Revenue",
        help="Net revenue over the lookback window, refunds deducted, from the "
        "last run.",
        groups=SEGMENTATION_USER,
    )
    profit_cost = fields.Monetary(
        compute="_compute_custseg_figures",
        search="_search_profit_cost",
        currency_field="profit_currency_id",
        string="Cost of Goods",
        groups=SEGMENTATION_USER,
    )
    profit_margin = fields.Monetary(
        compute="_compute_custseg_figures",
        search="_search_profit_margin",
        currency_field="profit_currency_id",
        string="Gross Margin",
        groups=SEGMENTATION_USER,
    )
    profit_cost_to_serve = fields.Monetary(
        compute="_compute_custseg_figures",
        search="_search_profit_cost_to_serve",
        currency_field="profit_currency_id",
        string="Cost to Serve",
        groups=SEGMENTATION_USER,
    )
    profit_amount = fields.Monetary(
        compute="_compute_custseg_figures",
        search="_search_profit_amount",
        currency_field="profit_currency_id",
        string="Profit",
        help="Gross margin minus cost to serve, from the last run.",
        groups=SEGMENTATION_USER,
    )

    def _compute_custseg_figures(self):
        names = fields_in(FIGURE_TABLE)
        # sudo: the figures are the partner's own, behind the fields' groups.
        figures = (
            self.env["custseg.partner.figure"]
            .sudo()
            .search_read(
                [("partner_id", "in", self.commercial_partner_id.ids)],
                ["partner_id", "currency_id", *names],
            )
        )
        by_partner = {row["partner_id"][0]: row for row in figures}
        company_currency = self.env.company.currency_id.id
        for partner in self:
            row = by_partner.get(partner.commercial_partner_id.id, {})
            for name in names:
                partner[name] = row.get(name, 0.0)
            currency = row.get("currency_id")
            partner.profit_currency_id = currency[0] if currency else company_currency

    _search_purchase_probability = _figure_search("purchase_probability")
    _search_predicted_clv = _figure_search("predicted_clv")
    _search_purchase_gap_days = _figure_search("purchase_gap_days")
    _search_profit_revenue = _figure_search("profit_revenue")
    _search_profit_cost = _figure_search("profit_cost")
    _search_profit_margin = _figure_search("profit_margin")
    _search_profit_cost_to_serve = _figure_search("profit_cost_to_serve")
    _search_profit_amount = _figure_search("profit_amount")

    def _check_custseg_figure_access(self, name):
        """The figure fields' groups, which Odoo checks on reads but not in a
        search method or in SQL built by _field_to_sql."""
        field = self._fields[name]
        if not self.env.su and not self.env.user.has_groups(field.groups):
            raise AccessError(
                self.env._("You are not allowed to read %(field)s.", field=field.string)
            )

    def _search_custseg_figure(self, name, operator, value):
        """Partners whose commercial partner's figure row matches."""
        self._check_custseg_figure_access(name)
        # sudo: the caller's read right on the field was checked by the ORM.
        figures = (
            self.env["custseg.partner.figure"].sudo()._search([(name, operator, value)])
        )
        return [("commercial_partner_id", "in", figures.subselect("partner_id"))]

    def _field_to_sql(self, alias, field_expr, query=None, *args, **kwargs):
        """The figure fields as the figure table's column of the commercial
        partner, so that the ORM can filter, sort and aggregate them in SQL
        (the Best List by likelihood, the pivots of average CLV)."""
        if field_expr not in fields_in(FIGURE_TABLE):
            return super()._field_to_sql(alias, field_expr, query, *args, **kwargs)
        self._check_custseg_figure_access(field_expr)
        commercial = super()._field_to_sql(alias, "commercial_partner_id", query)
        return SQL(
            "(SELECT f.%s FROM custseg_partner_figure f WHERE f.partner_id = %s)",
            SQL.identifier(field_expr),
            commercial,
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

    @api.depends(
        "last_purchase_date",
        "first_purchase_date",
        "rfm_frequency",
        "rfm_monetary",
        "lifecycle_stage",
        "purchase_probability",
        "purchase_gap_days",
    )
    def _compute_segment_why(self):
        # sudo: as in _custseg_recency_date; only the population percentiles
        # and the currency of the run are read.
        run = self.env["custseg.run"].sudo().search([("state", "=", "done")], limit=1)
        profile = run.population_profile
        for partner in self:
            if not profile:
                partner.segment_why = False
                continue
            figures = customer_figures(
                partner.rfm_recency_days,
                partner.rfm_frequency,
                partner.rfm_monetary,
                partner.lifecycle_stage,
                partner.purchase_probability,
                partner.purchase_gap_days,
            )
            partner.segment_why = "\n".join(
                why_lines(self.env, figures, profile, run.currency_id)
            )

    @api.depends("last_purchase_date")
    def _compute_rfm_recency_days(self):
        as_of = self._custseg_recency_date()
        for partner in self:
            last = partner.last_purchase_date
            partner.rfm_recency_days = (as_of - last).days if as_of and last else 0

    def _search_rfm_recency_days(self, operator, value):
        """Recency compares the other way round as the last purchase date;
        customers without purchases have a recency of 0."""
        # 19.0 rewrites "=" and "!=" to "in" and "not in" before calling this.
        if operator in ("in", "not in") and isinstance(value, (list, tuple, set)):
            single = "=" if operator == "in" else "!="
            domains = [self._search_rfm_recency_days(single, days) for days in value]
            if not domains:
                return compat.FALSE_DOMAIN if operator == "in" else compat.TRUE_DOMAIN
            joiner = "|" if operator == "in" else "&"
            return [joiner] * (len(domains) - 1) + [leaf for d in domains for leaf in d]
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
            return compat.TRUE_DOMAIN if zero_matches else compat.FALSE_DOMAIN
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
    def _read_group_orderby(self, order, groupby_terms, query):
        """Tiers and stages in their meaning's order (key → negative, prospect
        → reactivated) wherever customers are grouped by them, not
        alphabetically."""
        parts = order.split(",") if order else list(groupby_terms)
        if not any(part.split()[0] in MEANING_ORDERS for part in parts if part.split()):
            return super()._read_group_orderby(order, groupby_terms, query)
        terms = []
        for part in parts:
            words = part.split()
            term = words[0] if words else ""
            if term in MEANING_ORDERS and term in groupby_terms:
                direction = (
                    "DESC" if len(words) > 1 and words[1].upper() == "DESC" else "ASC"
                )
                terms.append(
                    SQL(
                        "array_position(%s::varchar[], %s) %s",
                        MEANING_ORDERS[term],
                        groupby_terms[term],
                        SQL(direction),
                    )
                )
            elif order:
                terms.append(super()._read_group_orderby(part, groupby_terms, query))
            else:
                terms.append(
                    super()._read_group_orderby("", {term: groupby_terms[term]}, query)
                )
        return SQL(", ").join(term for term in terms if term)

    @api.model
    def _read_group_customer_segment_ids(self, segments, domain):
        """Every active segment is a kanban column, even when empty."""
        return segments.search([], order=segments._order)

    def _compute_next_best_product_id(self):
        # sudo: whoever sees the customer sees its offer, also a user without
        # the Segmentation group (the Best List column, an invoice's partner).
        firsts = (
            self.env["custseg.recommendation"]
            .sudo()
            .search_read(
                [
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("rank", "=", 1),
                ],
                ["partner_id", "product_id"],
            )
        )
        first_of = {row["partner_id"][0]: row["product_id"][0] for row in firsts}
        for partner in self:
            partner.next_best_product_id = first_of.get(
                partner.commercial_partner_id.id, False
            )

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
        manual_moves = None
        if self.env.context.get("custseg_sync") is not SYNC_CONTEXT:
            self._check_segmentation_write(vals)
            if vals.get("customer_segment_id") and "segment_locked" not in vals:
                # A segment set by hand (kanban drag, form) is a manual override.
                vals = {
                    **vals,
                    "segment_locked": True,
                    "segment_date": fields.Date.context_today(self),
                }
            manual_moves = self._custseg_manual_moves(vals)
        previous_salespeople = (
            {partner.id: partner.user_id for partner in self}
            if "user_id" in vals
            else None
        )
        # Odoo then syncs commercial fields to the contacts: no user edit either.
        res = super(ResPartner, self.with_context(custseg_sync=SYNC_CONTEXT)).write(
            vals
        )
        if manual_moves:
            # sudo: history rows are the module's audit trail, written for the
            # manager whose change they record (create_uid); nobody edits them.
            self.env["custseg.partner.history"].sudo().create(manual_moves)
        if previous_salespeople is not None:
            self._custseg_move_followups(previous_salespeople)
        return res

    def _custseg_manual_moves(self, vals):
        """History rows of a manual segment change or unlock of these
        customers (values before the write); refuses moving a customer with
        purchases into the prospect segment."""
        moved = "customer_segment_id" in vals
        unlocked = "segment_locked" in vals and not vals["segment_locked"]
        if not (moved or unlocked):
            return []
        customers = self.filtered(
            lambda partner: partner == partner.commercial_partner_id
        )
        new_segment = self.env["custseg.segment"].browse(
            vals.get("customer_segment_id")
        )
        if moved and new_segment.kind == "prospect":
            buyers = customers.filtered(
                lambda partner: partner.rfm_frequency or partner.last_purchase_date
            )
            if buyers:
                raise UserError(
                    self.env._(
                        "%(customers)s cannot go to %(segment)s: that segment "
                        "holds customers without a purchase, and they have "
                        "bought. Choose another segment.",
                        customers=", ".join(buyers.mapped("display_name")),
                        segment=new_segment.name,
                    )
                )
        today = fields.Date.context_today(self)
        rows = []
        for partner in customers:
            old_segment = partner.customer_segment_id
            if moved and new_segment != old_segment:
                kind, target = "manual", new_segment
            elif unlocked and partner.segment_locked:
                kind, target = "unlock", old_segment
            else:
                continue
            rows.append(
                {
                    "partner_id": partner.id,
                    "company_id": (partner.company_id or self.env.company).id,
                    "date": today,
                    "change_kind": kind,
                    "old_segment_id": old_segment.id,
                    "new_segment_id": target.id,
                    "old_value_tier": partner.value_tier,
                    "new_value_tier": partner.value_tier,
                    "old_lifecycle_stage": partner.lifecycle_stage,
                    "new_lifecycle_stage": partner.lifecycle_stage,
                    "r_score": partner.rfm_r_score,
                    "f_score": partner.rfm_f_score,
                    "m_score": partner.rfm_m_score,
                }
            )
        return rows

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
