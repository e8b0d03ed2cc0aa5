# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Smoke test of the benchmark builder (benchmarks/build_db.py) at 1k customers.

The builder lives in the repository's benchmarks/, next to this addon: the
test loads it by path and fails, rather than skips, when it is missing.
"""

import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged

from .common import AS_OF

BUILDER = Path(__file__).resolve().parents[2] / "benchmarks" / "build_db.py"


def load_builder():
    if not BUILDER.is_file():
        raise AssertionError(
            f"{BUILDER} is missing: the benchmark builder ships with the "
            "repository, next to custseg_module/."
        )
    spec = importlib.util.spec_from_file_location("custseg_bench_build_db", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestBenchmarkBuilder(TransactionCase):
    def test_builder_feeds_a_run_at_1k_customers(self):
        builder = load_builder()
        cr = self.env.cr
        self.env.flush_all()
        counts = builder.populate(cr, 1_000, 10_000, as_of=AS_OF)
        self.env.invalidate_all()
        self.assertEqual(counts["partners"], 1_100)
        self.assertEqual(counts["moves"], 10_000)

        # What the aggregate reads is there and signed as Odoo signs it.
        cr.execute(
            """
            SELECT move_type, state,
                   COUNT(*), BOOL_AND(amount_untaxed_signed > 0),
                   BOOL_AND(amount_untaxed_signed < 0),
                   BOOL_AND(commercial_partner_id IS NOT NULL
                            AND invoice_date <= %s)
              FROM account_move
             WHERE id > (SELECT MAX(id) FROM account_move) - 10000
             GROUP BY move_type, state
            """,
            (AS_OF,),
        )
        stats = {(row[0], row[1]): row[2:] for row in cr.fetchall()}
        posted_invoices = stats[("out_invoice", "posted")]
        posted_refunds = stats[("out_refund", "posted")]
        self.assertGreater(posted_invoices[0], 7_000)
        self.assertTrue(posted_invoices[1], "invoices are positive")
        self.assertGreater(posted_refunds[0], 400)
        self.assertTrue(posted_refunds[2], "refunds are negative")
        self.assertTrue(all(row[3] for row in stats.values()))
        for excluded in (("in_invoice", "posted"), ("out_invoice", "draft")):
            self.assertIn(excluded, stats, "rows the aggregate must skip exist")

        # Products with a cost, 3 to 5 product lines per customer move.
        self.assertEqual(counts["products"], 5_000)
        cr.execute(
            """
            SELECT MIN(n), MAX(n), COUNT(*) FROM (
                SELECT COUNT(l.id) AS n
                  FROM account_move m
                  LEFT JOIN account_move_line l
                    ON l.move_id = m.id AND l.display_type = 'product'
                 WHERE m.id > (SELECT MAX(id) FROM account_move) - 10000
                   AND m.move_type IN ('out_invoice', 'out_refund')
                 GROUP BY m.id) per_move
            """
        )
        fewest, most, customer_moves = cr.fetchone()
        self.assertEqual((fewest, most), (3, 5))
        self.assertGreaterEqual(counts["lines"], 3 * customer_moves)
        products = self.env["product.product"].search(
            [("name", "=like", "Bench Product %")]
        )
        self.assertEqual(len(products), 5_000)
        margins = [p.standard_price / p.lst_price for p in products[:500]]
        self.assertTrue(all(0.39 <= m <= 1.31 for m in margins))
        self.assertTrue(
            any(
                m > 1 for m in products.mapped(lambda p: p.standard_price / p.lst_price)
            ),
            "a few loss-makers",
        )
        self.assertGreater(customer_moves, 8_000)

        run = self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.assertEqual(run.state, "done")
        offers = self.env["custseg.recommendation"].search_count([])
        self.assertGreater(offers, 4 * 900, "about five offers per buyer")
        cr.execute(
            """
            SELECT COUNT(*) FROM res_partner p
             WHERE p.active AND p.id = p.commercial_partner_id
               AND (p.customer_rank > 0 OR p.customer_segment_id IS NOT NULL)
            """
        )
        self.assertEqual(run.partner_count, cr.fetchone()[0])
        self.assertGreaterEqual(run.partner_count, 990, "1 % archived")
        built = self.env["res.partner"].search(
            [("ref", "=like", "BENCH-%"), ("customer_rank", ">", 0)]
        )
        self.assertEqual(len(built), 990)
        segmented = built.filtered("customer_segment_id")
        self.assertEqual(len(segmented), 990)
        buyers = built.filtered("rfm_frequency")
        self.assertGreater(len(buyers), 900)
        self.assertGreater(len(set(buyers.mapped("customer_segment_id.code"))), 3)
        # Contacts carry their company's figures (same UPDATE).
        contact = self.env["res.partner"].search(
            [("parent_id", "in", built.ids)], limit=1
        )
        self.assertEqual(
            contact.customer_segment_id,
            contact.commercial_partner_id.customer_segment_id,
        )
