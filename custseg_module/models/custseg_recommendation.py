# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The next-best products of a customer, rewritten by each run (issue #18)."""

import pandas as pd

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import TableKind, table_kind

from ..engine.recommend import recommend_products
from ..tools.copy_codec import COPY_READ_BYTES, CopyBinaryStream
from ..tools.field_map import RECOMMENDATION_TABLE

TOP_RECOMMENDATIONS = 5
SCORE_DIGITS = 4
# A recommendation's id: its customer's id times this, plus its rank.
RANK_STRIDE = TOP_RECOMMENDATIONS + 1
# Room on each page for a night's new row versions: updates stay HOT.
RECOMMENDATION_FILLFACTOR = 90
# 1.3.0 kept one row per recommendation in the model's own table.
LEGACY_TABLE = "custseg_recommendation"

REASONS = [
    ("due", "Due again"),
    ("bought_with", "Often bought with"),
    ("segment", "Popular in the segment"),
    ("bought_before", "Bought before"),
]
REASON_CODES = [code for code, _label in REASONS]
# RECOMMENDATION_TABLE's columns after partner_id, as init() creates them.
STORED_COLUMNS = (
    "segment_id",
    "product_ids",
    "scores",
    "reasons",
    "reason_product_ids",
    "interval_days",
)


class CustsegRecommendation(models.Model):
    """One recommended product of a customer, read from RECOMMENDATION_TABLE:
    one row per customer holding their products, scores and reasons as
    arrays. A first run writes one row per customer, not one per product:
    five times fewer rows and foreign-key checks (docs/recommendations.md)."""

    _name = "custseg.recommendation"
    _description = "Recommended Product"
    _auto = False
    _order = "partner_id, rank"
    _rec_name = "product_id"

    partner_id = fields.Many2one("res.partner", readonly=True)
    rank = fields.Integer(readonly=True, aggregator=False)
    product_id = fields.Many2one("product.product", readonly=True)
    score = fields.Float(digits=(16, SCORE_DIGITS), aggregator="avg", readonly=True)
    reason = fields.Selection(REASONS, readonly=True)
    reason_product_id = fields.Many2one(
        "product.product", string="Bought With", readonly=True
    )
    reason_segment_id = fields.Many2one(
        "custseg.segment", string="Popular In", readonly=True
    )
    interval_days = fields.Integer(
        string="Usual Interval (days)", aggregator="avg", readonly=True
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

    @property
    def _table_query(self):
        # The products and the segment joined: a row never names a record
        # deleted since the run (a product leaves its invoice lines first).
        return SQL(
            """
            SELECT o.partner_id * %(stride)s + r.rank AS id,
                   o.partner_id, r.rank::integer AS rank,
                   p.id AS product_id,
                   o.scores[r.rank] AS score,
                   (%(reasons)s::varchar[])[o.reasons[r.rank]] AS reason,
                   bought_with.id AS reason_product_id,
                   CASE WHEN o.reasons[r.rank] = %(segment_reason)s
                        THEN s.id END AS reason_segment_id,
                   o.interval_days[r.rank] AS interval_days
              FROM %(table)s o
             CROSS JOIN LATERAL generate_series(1, cardinality(o.product_ids)) r(rank)
              JOIN product_product p ON p.id = o.product_ids[r.rank]
              LEFT JOIN product_product bought_with
                ON bought_with.id = o.reason_product_ids[r.rank]
              LEFT JOIN custseg_segment s ON s.id = o.segment_id
            """,
            stride=RANK_STRIDE,
            reasons=REASON_CODES,
            segment_reason=REASON_CODES.index("segment") + 1,
            table=SQL.identifier(RECOMMENDATION_TABLE),
        )

    def init(self):
        """The table the recommendations live in, one row per customer;
        reasons as 1-based positions in REASON_CODES, 0 for no reason product
        or interval. No foreign key but the customer's (the five products'
        checks were most of a first run's write): _table_query joins the
        products and the segment instead."""
        self.env.cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %(table)s (
                    partner_id integer PRIMARY KEY
                        REFERENCES res_partner (id) ON DELETE CASCADE,
                    segment_id integer,
                    product_ids integer[] NOT NULL,
                    scores float8[] NOT NULL,
                    reasons smallint[] NOT NULL,
                    reason_product_ids integer[] NOT NULL,
                    interval_days integer[] NOT NULL
                ) WITH (fillfactor = %(fillfactor)s)
                """,
                table=SQL.identifier(RECOMMENDATION_TABLE),
                fillfactor=RECOMMENDATION_FILLFACTOR,
            )
        )
        self._adopt_legacy_rows()

    def _adopt_legacy_rows(self):
        """A database updated from 1.3.0 has a row per recommendation in
        LEGACY_TABLE: they move to RECOMMENDATION_TABLE (a run may keep them
        for days) and the old table goes."""
        cr = self.env.cr
        if table_kind(cr, LEGACY_TABLE) != TableKind.Regular:
            return
        cr.execute(
            SQL(
                """
                INSERT INTO %(table)s
                SELECT partner_id, MAX(reason_segment_id),
                       array_agg(product_id ORDER BY rank),
                       array_agg(score ORDER BY rank),
                       array_agg(array_position(%(reasons)s::varchar[], reason)
                                 ::smallint ORDER BY rank),
                       array_agg(COALESCE(reason_product_id, 0) ORDER BY rank),
                       array_agg(COALESCE(interval_days, 0) ORDER BY rank)
                  FROM %(legacy)s
                 GROUP BY partner_id
                    ON CONFLICT (partner_id) DO NOTHING
                """,
                table=SQL.identifier(RECOMMENDATION_TABLE),
                legacy=SQL.identifier(LEGACY_TABLE),
                reasons=REASON_CODES,
            )
        )
        cr.execute(SQL("DROP TABLE %s CASCADE", SQL.identifier(LEGACY_TABLE)))

    # ------------------------------------------------------------------ run phase
    def _allowed_product_ids(self):
        """Products that can be offered: active (variant and template) and
        saleable. A query, not records: there may be many."""
        domain = [("product_tmpl_id.active", "=", True), ("sale_ok", "=", True)]
        # sudo: the run decides for every company's products, not only those
        # the user who started it can read.
        return self.env["product.product"].sudo()._search(domain)

    def _refresh(self, purchases, as_of, segments):
        """Recompute every customer's top products and write the customers
        whose recommendations differ: one row per customer.

        ``purchases``: the engine's PurchasePairs of the run's invoice lines
        (custseg.run._phase_recommendations); ``segments``: pandas Series
        partner id -> segment code of this run. Returns the number of
        customers whose recommendations were written."""
        allowed_query = self._allowed_product_ids()
        self.env.cr.execute(allowed_query.select())
        allowed = [row[0] for row in self.env.cr.fetchall()]
        result = recommend_products(
            purchases,
            as_of,
            segments=segments,
            allowed_products=allowed,
            top_n=TOP_RECOMMENDATIONS,
        )
        self.env.cr.execute(
            "SELECT code, id FROM custseg_segment WHERE code = ANY(%s)",
            [sorted(set(result["reason_segment"]) - {""})],
        )
        segment_ids = dict(self.env.cr.fetchall())
        # Every column a fixed-width integer or float (0 = none, reasons as
        # 1-based positions in REASON_CODES): one binary COPY of the engine's
        # rows, gathered into one row per customer in SQL. Each column leaves
        # the engine's frame as it is converted (5M rows at 1M customers).
        columns = [
            result.pop("partner_id").to_numpy(">i4"),
            result.pop("rank").to_numpy(">i4"),
            result.pop("product_id").to_numpy(">i4"),
            # Rounded as the field shows it: an unchanged offer is not rewritten
            # for a difference in the 10th decimal.
            result.pop("score").round(SCORE_DIGITS).to_numpy(">f8"),
            (pd.Categorical(result.pop("reason"), REASON_CODES).codes + 1).astype(
                ">i4"
            ),
            result.pop("reason_product_id").to_numpy(">i4"),
            result.pop("reason_segment").map(segment_ids).fillna(0).to_numpy(">i4"),
            result.pop("interval_days").to_numpy(">i4"),
        ]
        del result
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
            CopyBinaryStream(columns),
            size=COPY_READ_BYTES,
        )
        del columns
        cr.execute(
            """
            CREATE TEMP TABLE custseg_recommendation_new AS
            SELECT partner_id, NULLIF(MAX(reason_segment_id), 0) AS segment_id,
                   array_agg(product_id ORDER BY rank) AS product_ids,
                   array_agg(score ORDER BY rank) AS scores,
                   array_agg(reason::smallint ORDER BY rank) AS reasons,
                   array_agg(reason_product_id ORDER BY rank) AS reason_product_ids,
                   array_agg(interval_days ORDER BY rank) AS interval_days
              FROM custseg_recommendation_load
             GROUP BY partner_id
            """
        )
        cr.execute("DROP TABLE custseg_recommendation_load")
        cr.execute("ANALYZE custseg_recommendation_new")
        written = self._write_differing(cr)
        cr.execute("DROP TABLE custseg_recommendation_new")
        self.env["res.partner"].invalidate_model(
            ["recommendation_ids", "next_best_product_id"]
        )
        return written

    def _write_differing(self, cr):
        """Bring RECOMMENDATION_TABLE to custseg_recommendation_new, writing
        only the customers whose recommendations differ: after a day's
        invoices 97 % are the same (docs/recommendations.md)."""

        def columns(alias=None):
            return SQL(", ").join(
                SQL.identifier(alias, name) if alias else SQL.identifier(name)
                for name in STORED_COLUMNS
            )

        values = columns()
        table = SQL.identifier(RECOMMENDATION_TABLE)
        cr.execute(
            SQL(
                """DELETE FROM %s o
                    WHERE NOT EXISTS (SELECT 1 FROM custseg_recommendation_new n
                                       WHERE n.partner_id = o.partner_id)""",
                table,
            )
        )
        written = cr.rowcount
        cr.execute(
            SQL(
                """
                UPDATE %(table)s o SET (%(values)s) = (%(new)s)
                  FROM custseg_recommendation_new n
                 WHERE n.partner_id = o.partner_id
                   AND (%(old)s) IS DISTINCT FROM (%(new)s)
                """,
                table=table,
                values=values,
                new=columns("n"),
                old=columns("o"),
            )
        )
        written += cr.rowcount
        # What is left to insert: the customers the table lacks. Not an
        # anti-join in the INSERT itself, which PostgreSQL may run as a nested
        # loop over the rows it is inserting (quadratic).
        cr.execute(
            SQL(
                """DELETE FROM custseg_recommendation_new n
                    USING %s o WHERE o.partner_id = n.partner_id""",
                table,
            )
        )
        cr.execute(
            SQL(
                """
                INSERT INTO %(table)s (partner_id, %(values)s)
                SELECT n.partner_id, %(values)s
                  FROM custseg_recommendation_new n
                 WHERE EXISTS (SELECT 1 FROM res_partner p WHERE p.id = n.partner_id)
                """,
                table=table,
                values=values,
            )
        )
        return written + cr.rowcount
