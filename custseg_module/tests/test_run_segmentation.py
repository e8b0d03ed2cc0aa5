# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import importlib.util
import io
from datetime import date, timedelta
from pathlib import Path
from unittest.mock import patch

import numpy as np

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger
from odoo.tools.sql import column_exists, index_exists, table_exists

from ..hooks import uninstall_hook
from ..models import custseg_run
from ..models.account_move import CUSTOMER_MOVES_INDEX
from ..tools.copy_codec import read_copy_binary, write_copy_binary
from ..tools.field_map import FIELD_MAP, RECOMMENDATION_TABLE
from ..tools.posted_moves import LINE_COST_TABLE
from .common import AS_OF, CustsegCommon, CustsegGridCommon


@tagged("post_install", "-at_install")
class TestRunSegmentation(CustsegGridCommon):
    def test_every_grid_cell_gets_its_segment_scores_and_stage(self):
        run = self._run()
        self.assertEqual(run.state, "done")
        self.assertEqual(run.partner_count, 25)
        for (r_score, f_score), partner in self.grid_customers.items():
            with self.subTest(r=r_score, f=f_score):
                self.assertEqual(
                    partner.customer_segment_id.code,
                    self._expected_segment(r_score, f_score),
                )
                self.assertEqual(partner.rfm_r_score, r_score)
                self.assertEqual(partner.rfm_f_score, f_score)
                self.assertEqual(partner.rfm_frequency, f_score)
                self.assertEqual(partner.rfm_recency_days, self.RECENCY[r_score])
                self.assertAlmostEqual(partner.rfm_monetary, 100.0 * r_score * f_score)
                self.assertEqual(
                    partner.rfm_code, f"{r_score}{f_score}{partner.rfm_m_score}"
                )
                self.assertIn(partner.rfm_m_score, range(1, 6))
                self.assertEqual(partner.segment_date, AS_OF)
                self.assertTrue(0.0 <= partner.purchase_probability <= 1.0)
        stage = {key: p.lifecycle_stage for key, p in self.grid_customers.items()}
        # Bought 10 days ago: new, repeat or loyal by the number of purchase days.
        self.assertEqual(stage[5, 1], "new")
        self.assertEqual(stage[5, 2], "repeat")
        self.assertEqual(stage[5, 3], "repeat")
        self.assertEqual(stage[5, 4], "loyal")
        self.assertEqual(stage[5, 5], "loyal")
        # Usual gap of 7 days, silent for 40 to 150 days: at risk.
        for r_score in (4, 3, 2):
            for f_score in (2, 3, 4, 5):
                self.assertEqual(stage[r_score, f_score], "at_risk")
        # Silent for more than a year: churned.
        for f_score in range(1, 6):
            self.assertEqual(stage[1, f_score], "churned")

    def test_value_tiers_follow_pareto_shares(self):
        self._run()
        partners = self.env["res.partner"].concat(*self.grid_customers.values())
        ranked = partners.sorted("rfm_monetary", reverse=True)
        total = sum(ranked.mapped("rfm_monetary"))
        tier_order = ["key", "important", "ordinary", "small"]
        cumulative = 0.0
        previous_rank = 0
        for partner in ranked:
            rank = tier_order.index(partner.value_tier)
            self.assertGreaterEqual(rank, previous_rank, "tiers follow revenue")
            previous_rank = rank
            if cumulative / total < 0.5:
                self.assertEqual(partner.value_tier, "key")
            cumulative += partner.rfm_monetary
        self.assertEqual(ranked[0].value_tier, "key")
        self.assertEqual(ranked[-1].value_tier, "small")

    def _row_versions(self, partners):
        """Each partner row's physical version: any UPDATE, even one that
        changes no value, gives the row a new (ctid, xmin)."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, ctid::text, xmin::text FROM res_partner WHERE id IN %s",
            [tuple(partners.ids)],
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    def test_second_identical_run_writes_nothing(self):
        self._run()
        partners = self.env["res.partner"].concat(*self.grid_customers.values())
        versions = self._row_versions(partners)
        history_count = self.env["custseg.partner.history"].search_count([])
        again = self._run()
        self.assertEqual(again.state, "done")
        self.assertEqual(again.changed_count, 0)
        self.assertEqual(again.history_count, 0)
        self.assertEqual(
            self.env["custseg.partner.history"].search_count([]), history_count
        )
        self.assertEqual(self._row_versions(partners), versions)

    def test_figures_are_no_edit_of_the_partner(self):
        """Like Odoo's customer_rank, the figures leave write_uid and
        write_date alone: the partner's last editor and edit stay the real
        ones."""
        partners = self.env["res.partner"].concat(*self.grid_customers.values())
        editor = self.env.ref("base.user_admin")
        self.assertNotEqual(self.env.uid, editor.id)
        # Last edited by a person, long ago (an edit in this test would share
        # the run's transaction timestamp).
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET write_uid = %s, write_date = %s WHERE id IN %s",
            [editor.id, "2024-01-02 03:04:05", tuple(partners.ids)],
        )
        self.env.invalidate_all()
        versions = self._row_versions(partners)
        run = self._run(as_of=AS_OF)
        self.assertEqual(run.changed_count, len(partners))
        self.assertTrue(all(p.customer_segment_id for p in partners))
        # The rows were written, but not as an edit.
        self.assertNotEqual(self._row_versions(partners), versions)
        for partner in partners:
            self.assertEqual(partner.write_uid, editor)
            self.assertEqual(str(partner.write_date), "2024-01-02 03:04:05")

    def test_recency_counts_from_the_latest_run_and_is_searchable(self):
        Partner = self.env["res.partner"]
        customers = Partner.concat(*self.grid_customers.values())
        prospect = self._customer("Recency Prospect")
        everyone = customers | prospect
        # Before any run nobody has a recency.
        self.assertEqual(set(everyone.mapped("rfm_recency_days")), {0})
        self.assertEqual(
            Partner.search([("id", "in", everyone.ids), ("rfm_recency_days", "=", 0)]),
            everyone,
        )
        self.assertFalse(
            Partner.search([("id", "in", everyone.ids), ("rfm_recency_days", ">", 0)])
        )
        self._run()
        self.assertEqual(prospect.rfm_recency_days, 0)
        for days in (0, 10, 40, 100, 400):
            for operator, compare in (
                ("<", int.__lt__),
                ("<=", int.__le__),
                (">", int.__gt__),
                (">=", int.__ge__),
                ("=", int.__eq__),
                ("!=", int.__ne__),
            ):
                with self.subTest(operator=operator, days=days):
                    found = Partner.search(
                        [
                            ("id", "in", everyone.ids),
                            ("rfm_recency_days", operator, days),
                        ]
                    )
                    self.assertEqual(
                        found,
                        everyone.filtered(
                            lambda p, o=compare, d=days: o(p.rfm_recency_days, d)
                        ),
                    )
        # A day later every buyer is a day further from its last purchase.
        next_day = self._run(as_of=AS_OF + timedelta(days=1))
        self.assertEqual(next_day.state, "done")
        for (r_score, _f_score), partner in self.grid_customers.items():
            self.assertEqual(partner.rfm_recency_days, self.RECENCY[r_score] + 1)
        self.assertEqual(prospect.rfm_recency_days, 0)
        for operator, value in (("in", ["soon"]), (">", "soon"), ("=", True)):
            with (
                self.subTest(operator=operator, value=value),
                self.assertRaises(UserError),
            ):
                Partner.search([("rfm_recency_days", operator, value)])

    def test_binary_copy_reader_is_exact_and_refuses_what_it_cannot_read(self):
        def copy(query):
            buffer = io.BytesIO()
            self.env.cr.copy_expert(
                "COPY (" + query + ") TO STDOUT WITH (FORMAT binary)", buffer
            )
            return buffer.getvalue()

        data = copy(
            "SELECT * FROM (VALUES (7, 20000, 0.1::float8), "
            "(2147483647, -3, -1e300::float8)) v"
        )
        rows = read_copy_binary(data, custseg_run.AGGREGATE_ROW)
        self.assertEqual(rows["partner_id"].tolist(), [7, 2147483647])
        self.assertEqual(rows["day"].tolist(), [20000, -3])
        self.assertEqual(rows["amount"].tolist(), [0.1, -1e300])
        empty = copy("SELECT 1, 1, 1.0::float8 WHERE false")
        self.assertEqual(len(read_copy_binary(empty, custseg_run.AGGREGATE_ROW)), 0)
        for bad in (
            copy("SELECT 1, 1, NULL::float8"),
            copy("SELECT 1::bigint, 1, 1.0::float8"),
            copy("SELECT 1, 1, 1.0::float8")[:-3],
            b"1,1,1.0\n",
        ):
            with self.assertRaises(ValueError):
                read_copy_binary(bad, custseg_run.AGGREGATE_ROW)

    def test_binary_copy_writer_loads_exactly_what_it_was_given(self):
        self.env.cr.execute(
            "CREATE TEMP TABLE custseg_copy_probe (a integer, b bigint, c float8)"
        )
        columns = [
            np.array([7, -2147483648, 2147483647], dtype=">i4"),
            np.array([10, -12345678925, 2**62], dtype=">i8"),
            np.array([0.1, -1e300, 1234.56], dtype=">f8"),
        ]
        self.env.cr.copy_expert(
            "COPY custseg_copy_probe FROM STDIN WITH (FORMAT binary)",
            io.BytesIO(write_copy_binary(columns)),
        )
        # The write-back turns amounts in cents into decimals the same way.
        self.env.cr.execute("SELECT a, b, c, (b * 0.01)::text FROM custseg_copy_probe")
        self.assertEqual(
            self.env.cr.fetchall(),
            [
                (7, 10, 0.1, "0.10"),
                (-2147483648, -12345678925, -1e300, "-123456789.25"),
                (2147483647, 2**62, 1234.56, "46116860184273879.04"),
            ],
        )
        # No rows is a valid stream too.
        empty = [np.array([], dtype=">i4")]
        self.env.cr.execute("CREATE TEMP TABLE custseg_copy_empty (a integer)")
        self.env.cr.copy_expert(
            "COPY custseg_copy_empty FROM STDIN WITH (FORMAT binary)",
            io.BytesIO(write_copy_binary(empty)),
        )
        self.env.cr.execute("SELECT COUNT(*) FROM custseg_copy_empty")
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_uninstall_drops_the_index_and_the_sql_tables_and_init_restores_them(self):
        def index_present():
            return index_exists(self.env.cr, CUSTOMER_MOVES_INDEX)

        self.assertTrue(index_present())
        # A run creates the table of line costs it keeps; the hook drops it.
        self._run()
        tables = (LINE_COST_TABLE, RECOMMENDATION_TABLE)
        self.assertTrue(all(table_exists(self.env.cr, t) for t in tables))
        uninstall_hook(self.env)
        self.assertFalse(index_present())
        self.assertFalse(any(table_exists(self.env.cr, t) for t in tables))
        uninstall_hook(self.env)  # nothing left to drop: no error
        self.env["account.move"].init()
        self.env["custseg.recommendation"].init()
        self.assertTrue(index_present())
        self.assertTrue(table_exists(self.env.cr, RECOMMENDATION_TABLE))

    def test_migration_to_1_2_drops_what_1_1_left(self):
        """18.0.1.2.0 removed res.partner.segmentation_run_id and replaced the
        aggregate's index: the upgrade drops the column Odoo would keep, with
        its foreign key, and the old index."""
        path = Path(__file__).parents[1] / "migrations/18.0.1.2.0/post-migrate.py"
        spec = importlib.util.spec_from_file_location("custseg_migrate_1_2", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        self.env.cr.execute(
            "ALTER TABLE res_partner ADD COLUMN segmentation_run_id integer "
            "REFERENCES custseg_run (id) ON DELETE SET NULL"
        )
        old_index = "custseg_account_move_customer_day_idx"
        self.env.cr.execute(
            SQL(
                "CREATE INDEX %s ON account_move (commercial_partner_id, invoice_date)",
                SQL.identifier(old_index),
            )
        )
        self.assertTrue(
            column_exists(self.env.cr, "res_partner", "segmentation_run_id")
        )
        migration.migrate(self.env.cr, "18.0.1.1.0")
        self.assertFalse(
            column_exists(self.env.cr, "res_partner", "segmentation_run_id")
        )
        self.assertFalse(index_exists(self.env.cr, old_index))
        self.assertTrue(index_exists(self.env.cr, CUSTOMER_MOVES_INDEX))
        migration.migrate(self.env.cr, "18.0.1.1.0")  # already gone: no error
        self.assertFalse(self._run().error)

    def test_history_records_only_transitions(self):
        first = self._run()
        History = self.env["custseg.partner.history"]
        # A first segment is no transition.
        self.assertTrue(first.baseline)
        self.assertEqual(History.search_count([("run_id", "=", first.id)]), 0)
        # The lost customer buys again today: only it changes.
        lost = self.grid_customers[1, 1]
        self._invoices([(lost, AS_OF, 100.0)])
        second = self._run()
        rows = History.search([("run_id", "=", second.id)])
        self.assertIn(lost, rows.partner_id)
        for row in rows:
            self.assertTrue(
                (row.old_segment_id, row.old_value_tier, row.old_lifecycle_stage)
                != (row.new_segment_id, row.new_value_tier, row.new_lifecycle_stage)
            )
        lost_row = rows.filtered(lambda row: row.partner_id == lost)
        self.assertEqual(lost_row.old_segment_id.code, "lost")
        self.assertEqual(lost_row.new_lifecycle_stage, "reactivated")
        self.assertEqual(second.history_count, len(rows))

    def test_locked_partner_keeps_segment_but_figures_refresh(self):
        self._run()
        partner = self.grid_customers[5, 5]
        partner.with_user(self.manager).write(
            {"customer_segment_id": self.segments["at_risk"].id}
        )
        self.assertTrue(partner.segment_locked)
        self._invoices([(partner, AS_OF, 5000.0)])
        self._run()
        self.assertEqual(partner.customer_segment_id, self.segments["at_risk"])
        self.assertEqual(partner.rfm_frequency, 6)
        self.assertEqual(partner.rfm_recency_days, 0)
        partner.action_unlock_segment()
        self._run()
        self.assertEqual(partner.customer_segment_id, self.segments["champions"])

    @mute_logger("odoo.addons.custseg_module.models.custseg_run")
    def test_engine_failure_leaves_partners_unchanged_and_run_failed(self):
        self._run()
        partner = self.grid_customers[1, 1]
        before = partner.read(custseg_run.WRITTEN_FIELDS)[0]
        self._invoices([(partner, AS_OF, 900.0)])
        with (
            patch.object(
                custseg_run,
                "segment_customers",
                side_effect=RuntimeError("engine exploded"),
            ),
            self.assertRaisesRegex(RuntimeError, "engine exploded"),
        ):
            self._run()
        self.env.invalidate_all()
        self.assertEqual(partner.read(custseg_run.WRITTEN_FIELDS)[0], before)
        failed = self.env["custseg.run"].search([], limit=1)
        self.assertEqual(failed.state, "failed")
        self.assertIn("engine exploded", failed.error)
        self.assertGreater(failed.transaction_count, 0)
        recovered = self._run()
        self.assertEqual(recovered.state, "done")
        self.assertEqual(partner.lifecycle_stage, "reactivated")

    def test_concurrent_run_is_refused(self):
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_advisory_lock(%s)", [custseg_run.RUN_LOCK_KEY])
            with self.assertRaisesRegex(UserError, "already in progress"):
                self._run()
            # The cron skips quietly instead.
            self.env["custseg.run"]._cron_run_segmentation()
            self.assertFalse(self.env["custseg.run"].search([]))
        finally:
            other.execute("SELECT pg_advisory_unlock(%s)", [custseg_run.RUN_LOCK_KEY])
            other.close()
        self.assertEqual(self._run().state, "done")

    def test_non_manager_cannot_run_or_configure(self):
        with self.assertRaises(AccessError):
            self._run(user=self.salesman)
        with self.assertRaises(AccessError):
            self.segments["lost"].with_user(self.salesman).write({"name": "Gone"})
        with self.assertRaises(AccessError):
            self.grid_customers[5, 5].with_user(self.salesman).write(
                {"customer_segment_id": self.segments["lost"].id}
            )
        with self.assertRaises(AccessError):
            self.grid_customers[5, 5].with_user(self.manager).write(
                {"value_tier": "key"}
            )
        # Salespeople read everything.
        self.assertTrue(self.segments["lost"].with_user(self.salesman).name)
        self.assertEqual(self._run(user=self.manager).state, "done")

    def test_invalid_grid_is_rejected_with_the_cells(self):
        with self.assertRaisesRegex(ValidationError, r"R4 F4"):
            self.segments["champions"].r_score_min = 4
        with self.assertRaisesRegex(ValidationError, r"R1 F1"):
            self.segments["lost"].action_archive()


@tagged("post_install", "-at_install")
class TestCommercialPartnerAndAmounts(CustsegCommon):
    def test_contacts_show_the_commercial_partner_values(self):
        company = self._customer("Grid Company", is_company=True)
        contact = self._customer("Grid Contact", parent_id=company.id)
        self._invoices(
            [
                (contact, self._days_ago(5), 300.0),
                (company, self._days_ago(20), 200.0),
            ]
        )
        self._run()
        self.assertEqual(company.rfm_frequency, 2)
        self.assertAlmostEqual(company.rfm_monetary, 500.0)
        for field in [f.field for f in FIELD_MAP] + ["customer_segment_id"]:
            self.assertEqual(contact[field], company[field], field)
        later = self._customer("Late Contact", parent_id=company.id)
        self.assertEqual(later.customer_segment_id, company.customer_segment_id)

    def test_refunds_are_netted(self):
        buyer = self._customer("Refunding Buyer")
        self._invoices(
            [
                (buyer, self._days_ago(30), 500.0),
                (buyer, self._days_ago(20), -200.0),
            ]
        )
        self._run()
        self.assertAlmostEqual(buyer.rfm_monetary, 300.0)
        self.assertEqual(buyer.rfm_frequency, 1, "the refund day is no purchase")

    def test_refunds_larger_than_sales_make_a_negative_tier(self):
        buyer = self._customer("Net Negative")
        other = self._customer("Good Buyer")
        self._invoices(
            [
                (buyer, self._days_ago(30), 100.0),
                (buyer, self._days_ago(20), -250.0),
                (other, self._days_ago(10), 400.0),
            ]
        )
        self._run()
        self.assertEqual(buyer.value_tier, "negative")
        self.assertEqual(other.value_tier, "key")

    def test_another_source_adds_purchases_through_the_aggregate_query(self):
        """_aggregate_query is the override point for another source (e.g.
        Point of Sale): rows it adds count like invoices."""
        invoiced = self._customer("Invoiced Only")
        shop_buyer = self._customer("Shop Buyer")
        self._invoices([(invoiced, self._days_ago(10), 100.0)])
        run_model = type(self.env["custseg.run"])
        invoice_query = run_model._aggregate_query
        shop_day = (self._days_ago(3) - date(1970, 1, 1)).days

        def with_shop_sales(run):
            return SQL(
                "%s UNION ALL SELECT %s::int4, %s::int4, 250.0::float8",
                invoice_query(run),
                shop_buyer.id,
                shop_day,
            )

        with patch.object(run_model, "_aggregate_query", with_shop_sales):
            self._run()
        self.assertEqual(shop_buyer.rfm_frequency, 1)
        self.assertAlmostEqual(shop_buyer.rfm_monetary, 250.0)
        self.assertEqual(shop_buyer.last_purchase_date, self._days_ago(3))
        self.assertAlmostEqual(invoiced.rfm_monetary, 100.0)

    def test_customers_without_invoices_are_prospects(self):
        prospect = self._customer("Just Met")
        self._run()
        self.assertEqual(prospect.customer_segment_id.kind, "prospect")
        self.assertEqual(prospect.lifecycle_stage, "prospect")
        self.assertFalse(prospect.value_tier)

    def test_other_company_invoices_are_converted(self):
        other_company, foreign_currency = self._foreign_company(
            "Segmentation Subsidiary"
        )
        # 1 unit of our currency buys 2 units of theirs.
        self.env["res.currency.rate"].create(
            {
                "currency_id": foreign_currency.id,
                "company_id": self.company.id,
                "name": "2020-01-01",
                "rate": 2.0,
            }
        )
        buyer = self._customer("Cross-border Buyer")
        self._invoices([(buyer, self._days_ago(10), 100.0)])
        self._invoices(
            [(buyer, self._days_ago(5), 300.0)],
            company=other_company,
        )
        self._run()
        self.assertAlmostEqual(buyer.rfm_monetary, 100.0 + 300.0 / 2.0)
        # A manager of this company alone, who cannot see the subsidiary,
        # gets the same figures: the run counts every company's invoices.
        self.assertNotIn(other_company, self.manager.company_ids)
        self.assertNotIn(
            other_company, self.env["res.company"].with_user(self.manager).search([])
        )
        run = self._run(user=self.manager)
        self.assertEqual(run.state, "done")
        self.assertAlmostEqual(buyer.rfm_monetary, 100.0 + 300.0 / 2.0)
