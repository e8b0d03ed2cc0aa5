# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The next-best products of a customer, rewritten by each run (issue #18)."""

from odoo import api, fields, models

from ..engine.recommend import recommend_products

TOP_RECOMMENDATIONS = 5

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

    partner_id = fields.Many2one(
        "res.partner", required=True, index=True, ondelete="cascade"
    )
    rank = fields.Integer(required=True, aggregator=False)
    product_id = fields.Many2one(
        "product.product", required=True, index=True, ondelete="cascade"
    )
    score = fields.Float(digits=(16, 4), aggregator="avg")
    reason = fields.Selection(REASONS, required=True)
    reason_product_id = fields.Many2one(
        "product.product", string="Bought With", ondelete="set null"
    )
    reason_segment_id = fields.Many2one(
        "custseg.segment", string="Popular In", ondelete="set null"
    )
    interval_days = fields.Integer(string="Usual Interval (days)", aggregator="avg")
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
        """Recompute every customer's top products and replace the table.

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
        reason_segment = [segment_ids.get(code) for code in result["reason_segment"]]
        reason_product = [
            int(pid) if pid else None for pid in result["reason_product_id"]
        ]
        self.env.cr.execute("DELETE FROM custseg_recommendation")
        self.env.cr.execute(
            """
            INSERT INTO custseg_recommendation
                   (partner_id, rank, product_id, score, reason,
                    reason_product_id, reason_segment_id, interval_days,
                    create_uid, write_uid, create_date, write_date)
            SELECT v.partner_id, v.rank, v.product_id, v.score, v.reason,
                   v.reason_product_id, v.reason_segment_id, v.interval_days,
                   %(uid)s, %(uid)s, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC'
              FROM UNNEST(%(partner)s::integer[], %(rank)s::integer[],
                          %(product)s::integer[], %(score)s::float8[],
                          %(reason)s::varchar[], %(reason_product)s::integer[],
                          %(reason_segment)s::integer[], %(interval)s::integer[])
                   AS v(partner_id, rank, product_id, score, reason,
                        reason_product_id, reason_segment_id, interval_days)
             WHERE EXISTS (SELECT 1 FROM res_partner p WHERE p.id = v.partner_id)
            """,
            {
                "uid": self.env.uid,
                "partner": result["partner_id"].tolist(),
                "rank": result["rank"].tolist(),
                "product": result["product_id"].tolist(),
                "score": result["score"].tolist(),
                "reason": result["reason"].tolist(),
                "reason_product": reason_product,
                "reason_segment": reason_segment,
                "interval": result["interval_days"].tolist(),
            },
        )
        written = self.env.cr.rowcount
        self.invalidate_model()
        self.env["res.partner"].invalidate_model(
            ["recommendation_ids", "next_best_product_id"]
        )
        return written
