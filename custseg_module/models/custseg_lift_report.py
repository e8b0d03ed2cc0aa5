# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The lift of follow-ups: what the treated customers bought after entering a
segment, against the held-out ones (custseg.followup.entry), over 30, 60 and
90 days. One row per entry and window, read in SQL at query time; the pivot
averages the 0/1 purchase flag into a purchase rate. A window counts only once
it is complete (entry date + window reached), so young entries never dilute a
rate."""

from collections import Counter

import numpy as np

from odoo import api, fields, models
from odoo.tools import SQL

from ..engine.experiment import LIFT_WINDOWS, MIN_GROUP, lift
from ..tools.selections import FOLLOWUP_OUTCOMES


class CustsegLiftReport(models.Model):
    _name = "custseg.lift.report"
    _description = "Follow-up Lift Report"
    _auto = False
    _order = "entry_date desc, id desc"
    _rec_name = "partner_id"

    entry_id = fields.Many2one("custseg.followup.entry", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    segment_id = fields.Many2one("custseg.segment", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    entry_date = fields.Date(readonly=True)
    experiment_group = fields.Selection(
        [("treated", "Treated"), ("held_out", "Held out")],
        string="Group",
        readonly=True,
    )
    window = fields.Selection(
        [(str(days), f"{days} days") for days in LIFT_WINDOWS],
        readonly=True,
        help="Days after the entry into the segment over which purchases count.",
    )
    complete = fields.Boolean(
        string="Window Complete",
        readonly=True,
        help="The window has fully elapsed: its figures are final.",
    )
    customer_count = fields.Integer(string="Customers", readonly=True)
    purchase_rate = fields.Float(
        readonly=True,
        aggregator="avg",
        digits=(16, 4),
        help="Share of the customers who bought within the window.",
    )
    revenue = fields.Monetary(
        string="Revenue per Customer",
        readonly=True,
        aggregator="avg",
        currency_field="currency_id",
        help="Net invoiced revenue (invoices minus refunds, untaxed) within the "
        "window, averaged over the customers.",
    )
    followup_done = fields.Float(
        string="Follow-ups Done",
        readonly=True,
        aggregator="avg",
        digits=(16, 4),
        help="Share of the customers whose segment follow-up was marked done "
        "within the window.",
    )
    outcome = fields.Selection(
        FOLLOWUP_OUTCOMES,
        readonly=True,
        help="The outcome recorded on the follow-up marked done within the window.",
    )

    @property
    def _table_query(self):
        windows = SQL(", ").join(SQL("(%s)", days) for days in LIFT_WINDOWS)
        return SQL(
            """
            SELECT e.id * %(stride)s + w.days AS id,
                   e.id AS entry_id, e.partner_id, e.segment_id, e.user_id,
                   e.company_id, c.currency_id, e.entry_date, e.experiment_group,
                   w.days::varchar AS "window",
                   e.entry_date + w.days <= CURRENT_DATE AS complete,
                   1 AS customer_count,
                   CASE WHEN s.bought THEN 1.0 ELSE 0.0 END AS purchase_rate,
                   COALESCE(s.revenue, 0) AS revenue,
                   CASE WHEN d.done_date IS NOT NULL THEN 1.0 ELSE 0.0 END
                       AS followup_done,
                   d.outcome
              FROM custseg_followup_entry e
              JOIN res_company c ON c.id = e.company_id
             CROSS JOIN (VALUES %(windows)s) AS w(days)
              LEFT JOIN LATERAL (
                   SELECT BOOL_OR(m.move_type = 'out_invoice') AS bought,
                          SUM(m.amount_untaxed_signed) AS revenue
                     FROM account_move m
                    WHERE m.commercial_partner_id = e.partner_id
                      AND m.company_id = e.company_id
                      AND m.state = 'posted'
                      AND m.move_type IN ('out_invoice', 'out_refund')
                      AND m.invoice_date > e.entry_date
                      AND m.invoice_date <= e.entry_date + w.days
              ) s ON TRUE
              LEFT JOIN LATERAL (
                   SELECT msg.date AS done_date, msg.custseg_outcome AS outcome
                     FROM mail_message msg
                    WHERE msg.model = 'res.partner'
                      AND msg.res_id = e.partner_id
                      AND msg.custseg_segment_id = e.segment_id
                      AND msg.date >= e.entry_date
                      AND msg.date < e.entry_date + w.days + 1
                    ORDER BY msg.date DESC, msg.id DESC
                    LIMIT 1
              ) d ON TRUE
            """,
            stride=1000,
            windows=windows,
        )

    # ------------------------------------------------------------------ summary
    @api.model
    def _segment_summary(self, segment):
        """Plain-words lines on the lift of ``segment``'s follow-ups, one per
        window: counts, purchase rates with the difference and its 95 %
        interval, revenue per customer, follow-ups done and their outcomes; or
        why no conclusion can be drawn yet."""
        # The report is a SQL view over other models' tables: their pending
        # ORM writes must reach the database before it is read.
        self.env.flush_all()
        rows = self.search_read(
            [("segment_id", "=", segment.id), ("complete", "=", True)],
            [
                "window",
                "experiment_group",
                "purchase_rate",
                "revenue",
                "outcome",
                "followup_done",
            ],
        )
        currency = self.env.company.currency_id
        lines = []
        for days in LIFT_WINDOWS:
            window = [row for row in rows if row["window"] == str(days)]
            treated = [row for row in window if row["experiment_group"] == "treated"]
            held = [row for row in window if row["experiment_group"] == "held_out"]
            if not window:
                lines.append(
                    self.env._(
                        "%(days)s days: no customer has been followed that long yet.",
                        days=days,
                    )
                )
                continue
            result = lift(
                np.array([row["purchase_rate"] for row in treated]),
                np.array([row["purchase_rate"] for row in held]),
                np.array([row["revenue"] for row in treated]),
                np.array([row["revenue"] for row in held]),
            )
            if not result["conclusive"]:
                lines.append(
                    self.env._(
                        "%(days)s days: %(treated)s followed up, %(held)s held out: "
                        "too small to conclude yet (at least %(minimum)s customers "
                        "in each group, and some purchases, are needed).",
                        days=days,
                        treated=result["treated"],
                        held=result["held_out"],
                        minimum=MIN_GROUP,
                    )
                )
            else:
                points = {
                    key: format(result[key] * 100, fmt)
                    for key, fmt in (
                        ("rate_treated", ".1f"),
                        ("rate_held_out", ".1f"),
                        ("rate_diff", "+.1f"),
                        ("rate_low", "+.1f"),
                        ("rate_high", "+.1f"),
                    )
                }
                lines.append(
                    self.env._(
                        "%(days)s days: %(treated)s followed up, %(held)s held out; "
                        "purchase rate %(rate1)s %% vs %(rate0)s %% (%(diff)s pts, "
                        "95 %% CI %(low)s to %(high)s); revenue per customer "
                        "%(rev1)s vs %(rev0)s.",
                        days=days,
                        treated=result["treated"],
                        held=result["held_out"],
                        rate1=points["rate_treated"],
                        rate0=points["rate_held_out"],
                        diff=points["rate_diff"],
                        low=points["rate_low"],
                        high=points["rate_high"],
                        rev1=currency.format(result["revenue_treated"]),
                        rev0=currency.format(result["revenue_held_out"]),
                    )
                )
            if treated:
                done = sum(row["followup_done"] for row in treated) / len(treated)
                outcomes = Counter(row["outcome"] for row in treated if row["outcome"])
                labels = dict(self._fields["outcome"]._description_selection(self.env))
                listed = ", ".join(
                    f"{labels[key]}: {count}" for key, count in outcomes.most_common()
                )
                done_percent = round(done * 100)
                line = self.env._("Follow-ups done: %(done)s %%", done=done_percent)
                lines.append(f"{line} ({listed})" if listed else line)
        return "\n".join(lines)
