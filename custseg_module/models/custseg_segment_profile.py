# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What a segment's customers have in common, recomputed by each run (#18)."""

import pandas as pd

from odoo import fields, models

from ..engine.recommend import grouped_pairs, segment_profiles

PROFILE_KINDS = [
    ("product", "Product"),
    ("category", "Product Category"),
    ("country", "Country"),
    ("state", "State"),
    ("salesperson", "Salesperson"),
]


class CustsegSegmentProfile(models.Model):
    _name = "custseg.segment.profile"
    _description = "Segment Profile Line"
    _order = "segment_id, kind, rank, id"

    segment_id = fields.Many2one(
        "custseg.segment", required=True, index=True, ondelete="cascade"
    )
    kind = fields.Selection(PROFILE_KINDS, required=True)
    rank = fields.Integer(required=True, aggregator=False)
    name = fields.Char(required=True)
    share = fields.Float(
        string="Share of Customers",
        digits=(16, 4),
        aggregator="avg",
        help="Share of the segment's customers buying this product or category, "
        "or living in this country or state, or owned by this salesperson.",
    )
    lift = fields.Float(
        digits=(16, 2),
        aggregator="avg",
        help="How much more often the segment's customers buy it than all "
        "customers do: 2 means twice as often.",
    )

    def _refresh(self, purchases, result, top=5):
        """Replace every segment's profile. ``purchases``: the engine's
        PurchasePairs of the run's invoice lines
        (custseg.run._phase_recommendations), or None when no invoice changed
        since the last run: the products and categories are then kept, the
        rest follows the customers' segments of today; ``result``: the
        engine's frame (average order value, frequency, purchase dates per
        partner)."""
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT p.id, p.customer_segment_id, p.country_id, p.state_id, p.user_id
              FROM res_partner p
             WHERE p.active AND p.id = p.commercial_partner_id
               AND p.customer_segment_id IS NOT NULL
            """
        )
        partners = pd.DataFrame(
            self.env.cr.fetchall(),
            columns=["partner_id", "segment_id", "country_id", "state_id", "user_id"],
        ).set_index("partner_id")
        segment_of = partners["segment_id"]
        rows = []
        kinds = ["country", "state", "salesperson"]
        if purchases is not None:
            kinds += ["product", "category"]
            # A customer bought a category when they bought one of its
            # products: derived from the products' pairs, not the lines.
            categories = grouped_pairs(
                purchases, self._product_categories(purchases.products)
            )
            for kind, pairs, model in (
                ("product", purchases, "product.product"),
                ("category", categories, "product.category"),
            ):
                # Already windowed: no date for the engine.
                table = segment_profiles(pairs, None, segment_of, top_n=top)
                names = self._names(model, table["key"])
                rows += [
                    (
                        int(r.segment),
                        kind,
                        int(r.rank),
                        names[int(r.key)],
                        float(r.share),
                        float(r.lift),
                    )
                    for r in table.itertuples()
                ]
        sizes = segment_of.value_counts()
        for kind, column, model in (
            ("country", "country_id", "res.country"),
            ("state", "state_id", "res.country.state"),
            ("salesperson", "user_id", "res.users"),
        ):
            counts = (
                partners.dropna(subset=[column])
                .groupby(["segment_id", column])
                .size()
                .rename("count")
                .reset_index()
                .sort_values(
                    ["segment_id", "count", column], ascending=[True, False, True]
                )
            )
            counts["rank"] = counts.groupby("segment_id").cumcount() + 1
            counts = counts[counts["rank"] <= top]
            names = self._names(model, counts[column])
            # Lift against all segmented customers, as for products.
            overall = partners[column].value_counts() / len(partners)
            rows += [
                (
                    int(r.segment_id),
                    kind,
                    int(r.rank),
                    names[int(getattr(r, column))],
                    float(r.count / sizes[r.segment_id]),
                    float(r.count / sizes[r.segment_id] / overall[getattr(r, column)]),
                )
                for r in counts.itertuples()
            ]
        self.env.cr.execute(
            "DELETE FROM custseg_segment_profile WHERE kind = ANY(%s)", [kinds]
        )
        if rows:
            self.env.cr.execute(
                """
                INSERT INTO custseg_segment_profile
                       (segment_id, kind, rank, name, share, lift,
                        create_uid, write_uid, create_date, write_date)
                SELECT v.*, %(uid)s, %(uid)s,
                       NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC'
                  FROM UNNEST(%(segment)s::integer[], %(kind)s::varchar[],
                              %(rank)s::integer[], %(name)s::varchar[],
                              %(share)s::float8[], %(lift)s::float8[]) AS v
                """,
                {
                    "uid": self.env.uid,
                    **dict(
                        zip(
                            ("segment", "kind", "rank", "name", "share", "lift"),
                            (list(column) for column in zip(*rows, strict=True)),
                            strict=True,
                        )
                    ),
                },
            )
        self._refresh_figures(result, segment_of)
        self.invalidate_model()
        self.env["custseg.segment"].invalidate_model(
            ["profile_ids", "profile_order_value", "profile_purchase_interval"]
        )

    def _product_categories(self, product_ids):
        """Product id -> its category id (a few thousand rows, not one per
        line); NaN for a product without one (19.0 allows it)."""
        self.env.cr.execute(
            """
            SELECT pp.id, pt.categ_id
              FROM product_product pp
              JOIN product_template pt ON pt.id = pp.product_tmpl_id
             WHERE pp.id = ANY(%s)
            """,
            [[int(product_id) for product_id in product_ids]],
        )
        return pd.Series(dict(self.env.cr.fetchall()), dtype=float)

    def _refresh_figures(self, result, segment_of):
        """Average order value and purchase interval per segment."""
        frame = result[["avg_order_value", "frequency"]].copy()
        frame["segment_id"] = segment_of.reindex(result.index).to_numpy()
        frame = frame[(frame["frequency"] > 0) & frame["segment_id"].notna()]
        span = (result["last_purchase"] - result["first_purchase"]).dt.days
        frame["interval"] = span.reindex(frame.index) / (frame["frequency"] - 1)
        repeat = frame[frame["frequency"] > 1]
        order_value = frame.groupby("segment_id")["avg_order_value"].mean()
        interval = repeat.groupby("segment_id")["interval"].mean()
        segment_ids = sorted(int(s) for s in order_value.index)
        self.env.cr.execute(
            """
            UPDATE custseg_segment s
               SET profile_order_value = v.order_value,
                   profile_purchase_interval = v.purchase_interval
              FROM (SELECT s2.id,
                           COALESCE(u.order_value, 0) AS order_value,
                           COALESCE(u.purchase_interval, 0) AS purchase_interval
                      FROM custseg_segment s2
                      LEFT JOIN UNNEST(%s::integer[], %s::float8[], %s::float8[])
                           AS u(id, order_value, purchase_interval)
                        ON u.id = s2.id) v
             WHERE v.id = s.id
               AND (s.profile_order_value, s.profile_purchase_interval)
                   IS DISTINCT FROM (v.order_value, v.purchase_interval)
            """,
            [
                segment_ids,
                [float(order_value[s]) for s in segment_ids],
                [float(interval.get(s, 0.0)) for s in segment_ids],
            ],
        )

    def _names(self, model, ids):
        # sudo: the profile names every product, country and salesperson,
        # also those the user who started the run cannot read.
        records = self.env[model].sudo().with_context(active_test=False)
        ids = sorted({int(i) for i in ids})
        return {record.id: record.display_name for record in records.browse(ids)}
