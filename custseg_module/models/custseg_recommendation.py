# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The next-best products of a customer, rewritten by each run (issue #18)."""

import io

import pandas as pd

from odoo import api, fields, models
from odoo.tools import SQL

from ..engine.recommend import recommend_products
from ..tools import compat
from ..tools.copy_codec import write_copy_binary

TOP_RECOMMENDATIONS = 5
SCORE_DIGITS = 4

REASONS = [
    ("due", "Due again"),
    ("bought_with", "Often bought with"),
    ("segment", "Popular in the segment"),
    ("bought_before", "Bought before"),
]


class CustsegRecommendation(models.Model):
    _name = "custseg.recommendation"
    _description = "Recommended Product"
    _order = "partner_id, rank, id"
    _rec_name = "product_id"
    # Rewritten whole by each run: who and when are the run's. Without them
    # the bulk INSERT checks 4 foreign keys per row instead of 6 (-25 %).
    _log_access = False

    # Indexed by _partner_rank_unique, which starts with it.
    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade")
    rank = fields.Integer(required=True, aggregator=False)
    product_id = fields.Many2one(
        "product.product", required=True, index=True, ondelete="cascade"
    )
    score = fields.Float(digits=(16, SCORE_DIGITS), aggregator="avg")
    reason = fields.Selection(REASONS, required=True)
    reason_product_id = fields.Many2one(
        "product.product", string="Bought With", ondelete="set null"
    )
    reason_segment_id = fields.Many2one(
        "custseg.segment", string="Popular In", ondelete="set null"
    )
    interval_days = fields.Integer(string="Usual Interval (days)", aggregator="avg")

    # A run matches each new offer to the old one by customer and rank, and
    # writes only those that differ (_refresh).
    _partner_rank_unique = compat.Constraint(
        "UNIQUE(partner_id, rank)",
        "A customer has one recommended product per rank.",
    )
    reason_text = fields.Char(string="Why", compute="_compute_reason_text")

    @api.depends("reason", "reason_product_id", "reason_segment_id", "interval_days")
    @api.depends_context("lang")
    def _compute_reason_text(self):
        _ = self.env._
        for line in self:
            if line.reason == "due":
                text = _("due: usually every %(days)s days", days=line.interval_days)
            elif line.reason == "bought_with" and line.reason_product_id:
                text = _(
                    "often bought with %(product)s",
                    product=line.reason_product_id.display_name,
                )
            elif line.reason == "segment" and line.reason_segment_id:
                text = _("popular in %(segment)s", segment=line.reason_segment_id.name)
            elif line.reason == "segment":
                text = _("popular with customers like this one")
            else:
                text = _("bought before")
            line.reason_text = text

    # ------------------------------------------------------------------ run phase
    def _allowed_product_ids(self):
        """Products that can be offered: active (variant and template) and
        saleable. A query, not records: there may be many."""
        domain = [("product_tmpl_id.active", "=", True), ("sale_ok", "=", True)]
        # sudo: the run decides for every company's products, not only those
        # the user who started it can read.
        return self.env["product.product"].sudo()._search(domain)

    def _refresh(self, lines, as_of, segments, lookback_days):
        """Recompute every customer's top products and write the rows of the
        table that differ: one row per customer and rank.

        ``lines``: custseg.run._phase_invoice_lines's frame; ``segments``:
        pandas Series partner id -> segment code of this run. Returns the
        number of recommendations written."""
        allowed_query = self._allowed_product_ids()
        self.env.cr.execute(allowed_query.select())
        allowed = [row[0] for row in self.env.cr.fetchall()]
        result = recommend_products(
            lines,
            as_of,
            segments=segments,
            allowed_products=allowed,
            lookback_days=lookback_days or 36500,
            top_n=TOP_RECOMMENDATIONS,
        )
        self.env.cr.execute(
            "SELECT code, id FROM custseg_segment WHERE code = ANY(%s)",
            [sorted(set(result["reason_segment"]) - {""})],
        )
        segment_ids = dict(self.env.cr.fetchall())
        reason_codes = [code for code, _label in REASONS]
        # Every column a fixed-width integer or float (0 = NULL, reasons as
        # 1-based positions in reason_codes): one binary COPY, one INSERT.
        columns = [
            result["partner_id"].to_numpy(">i4"),
            result["rank"].to_numpy(">i4"),
            result["product_id"].to_numpy(">i4"),
            # Rounded as the field shows it: an unchanged offer is not rewritten
            # for a difference in the 10th decimal.
            result["score"].round(SCORE_DIGITS).to_numpy(">f8"),
            (pd.Categorical(result["reason"], reason_codes).codes + 1).astype(">i4"),
            result["reason_product_id"].to_numpy(">i4"),
            result["reason_segment"].map(segment_ids).fillna(0).to_numpy(">i4"),
            result["interval_days"].to_numpy(">i4"),
        ]
        cr = self.env.cr
        cr.execute(
            """
            CREATE TEMP TABLE custseg_recommendation_load (
                partner_id integer, rank integer, product_id integer,
                score float8, reason integer, reason_product_id integer,
                reason_segment_id integer, interval_days integer
            )
            """
        )
        cr.copy_expert(
            "COPY custseg_recommendation_load FROM STDIN WITH (FORMAT binary)",
            io.BytesIO(write_copy_binary(columns)),
        )
        cr.execute("ANALYZE custseg_recommendation_load")
        # Only the rows that differ are written: after a day's invoices 97 %
        # of the offers are the same, and rewriting them all cost 5 s and
        # 300 MB of WAL at 100k customers (docs/recommendations.md).
        new = SQL(
            """v.product_id, v.score,
               (%(reasons)s::varchar[])[v.reason],
               NULLIF(v.reason_product_id, 0), NULLIF(v.reason_segment_id, 0),
               v.interval_days""",
            reasons=reason_codes,
        )
        old = SQL(
            """r.product_id, r.score, r.reason, r.reason_product_id,
               r.reason_segment_id, r.interval_days"""
        )
        same_offer = SQL("r.partner_id = v.partner_id AND r.rank = v.rank")
        cr.execute(
            SQL(
                """DELETE FROM custseg_recommendation r
                    WHERE NOT EXISTS (SELECT 1 FROM custseg_recommendation_load v
                                       WHERE %s)""",
                same_offer,
            )
        )
        written = cr.rowcount
        cr.execute(
            SQL(
                """
                UPDATE custseg_recommendation r
                   SET (product_id, score, reason, reason_product_id,
                        reason_segment_id, interval_days) = (%(new)s)
                  FROM custseg_recommendation_load v
                 WHERE %(same_offer)s AND (%(old)s) IS DISTINCT FROM (%(new)s)
                """,
                new=new,
                old=old,
                same_offer=same_offer,
            )
        )
        written += cr.rowcount
        # What is left to insert: the offers the table lacks. Not an anti-join
        # in the INSERT itself, which PostgreSQL may run as a nested loop over
        # the rows it is inserting (quadratic: over 10 minutes at 100k).
        cr.execute(
            SQL(
                """DELETE FROM custseg_recommendation_load v
                    USING custseg_recommendation r WHERE %s""",
                same_offer,
            )
        )
        cr.execute(
            SQL(
                """
                INSERT INTO custseg_recommendation
                       (partner_id, rank, product_id, score, reason,
                        reason_product_id, reason_segment_id, interval_days)
                SELECT v.partner_id, v.rank, %(new)s
                  FROM custseg_recommendation_load v
                 WHERE EXISTS (SELECT 1 FROM res_partner p WHERE p.id = v.partner_id)
                """,
                new=new,
            )
        )
        written += cr.rowcount
        cr.execute("DROP TABLE custseg_recommendation_load")
        self.invalidate_model()
        self.env["res.partner"].invalidate_model(
            ["recommendation_ids", "next_best_product_id"]
        )
        return written
