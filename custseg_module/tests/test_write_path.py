# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from odoo.sql_db import db_connect
from odoo.tests import tagged
from odoo.tools import SQL

from ..models import custseg_run
from ..tools import vacuum
from ..tools.field_map import FIELD_MAP, FIGURE_TABLE, PARTNER_TABLE, WRITTEN_FIELDS
from .common import AS_OF, CustsegGridCommon


@tagged("post_install", "-at_install")
class TestWritePath(CustsegGridCommon):
    """Issue #20: the daily-moving figures live in custseg.partner.figure and
    a next-day run rewrites only the res_partner rows whose situation changed;
    issue #16: a customer whose row an editor holds is deferred, not fatal."""

    def _partners(self):
        return self.env["res.partner"].concat(*self.grid_customers.values())

    def _rows(self, table, key, ids):
        """{key: (values of WRITTEN_FIELDS or figures, xmin)} straight from
        the database; xmin changes with any UPDATE of the row."""
        self.env.flush_all()
        names = (
            WRITTEN_FIELDS
            if table == PARTNER_TABLE
            else ["purchase_probability", "predicted_clv"]
        )
        self.env.cr.execute(
            SQL(
                "SELECT %s, %s, xmin::text FROM %s WHERE %s IN %s",
                SQL.identifier(key),
                SQL(", ").join(SQL.identifier(name) for name in names),
                SQL.identifier(table),
                SQL.identifier(key),
                tuple(ids),
            )
        )
        return {row[0]: (row[1:-1], row[-1]) for row in self.env.cr.fetchall()}

    def test_next_day_run_rewrites_no_partner_whose_situation_held(self):
        partners = self._partners()
        self._run()
        before = self._rows("res_partner", "id", partners.ids)
        figures_before = self._rows(
            "custseg_partner_figure", "partner_id", partners.ids
        )
        self._run(as_of=AS_OF + timedelta(days=1))
        after = self._rows("res_partner", "id", partners.ids)
        figures_after = self._rows("custseg_partner_figure", "partner_id", partners.ids)
        unchanged = [pid for pid in before if before[pid][0] == after[pid][0]]
        self.assertTrue(unchanged, "some customers kept their situation")
        for pid in unchanged:
            self.assertEqual(after[pid][1], before[pid][1], f"partner {pid} rewritten")
        # The day moved the likelihood of some customers: those figure rows,
        # and only those, were rewritten.
        moved = [
            pid
            for pid in figures_before
            if figures_before[pid][0] != figures_after[pid][0]
        ]
        self.assertTrue(moved, "a day later some likelihood moves")
        for pid, (_values, xmin) in figures_before.items():
            self.assertEqual(xmin != figures_after[pid][1], pid in moved, pid)

    def test_a_run_again_locks_no_figure_row_and_draws_no_id(self):
        self._run()
        cr = self.env.cr
        sequence = "SELECT last_value FROM custseg_partner_figure_id_seq"
        cr.execute(sequence)
        last_id = cr.fetchone()[0]
        run = self._run()
        self.assertEqual(run.changed_count, 0)
        # An upsert would have locked every row (xmax set, a WAL record each)
        # and drawn an id for each.
        cr.execute("SELECT COUNT(*) FROM custseg_partner_figure WHERE xmax <> 0")
        self.assertEqual(cr.fetchone()[0], 0)
        cr.execute(sequence)
        self.assertEqual(cr.fetchone()[0], last_id)

    def test_partner_reads_searches_sorts_and_groups_the_figures(self):
        partners = self._partners()
        self._run()
        Figure = self.env["custseg.partner.figure"]
        figures = {
            f.partner_id.id: f
            for f in Figure.search([("partner_id", "in", partners.ids)])
        }
        self.assertEqual(set(figures), set(partners.ids))
        for partner in partners:
            self.assertEqual(
                partner.purchase_probability, figures[partner.id].purchase_probability
            )
            self.assertEqual(partner.predicted_clv, figures[partner.id].predicted_clv)
        Partner = self.env["res.partner"]
        domain = [("id", "in", partners.ids)]
        threshold = sorted(partners.mapped("purchase_probability"))[12]
        likely = Partner.search(domain + [("purchase_probability", ">", threshold)])
        self.assertEqual(
            likely, partners.filtered(lambda p: p.purchase_probability > threshold)
        )
        ordered = Partner.search(domain, order="purchase_probability desc, id")
        self.assertEqual(
            ordered.mapped("purchase_probability"),
            sorted(partners.mapped("purchase_probability"), reverse=True),
        )
        groups = Partner._read_group(
            domain, ["customer_segment_id"], ["predicted_clv:avg"]
        )
        self.assertTrue(groups)
        for segment, average in groups:
            members = partners.filtered(lambda p, s=segment: p.customer_segment_id == s)
            self.assertAlmostEqual(
                average, sum(members.mapped("predicted_clv")) / len(members), places=2
            )
        # A contact shows its company's figures, as before.
        company = partners[0]
        contact = Partner.create({"name": "Grid Contact", "parent_id": company.id})
        self.assertEqual(contact.purchase_probability, company.purchase_probability)

    def test_stored_figures_follow_the_field_map(self):
        self._run()
        Partner = self.env["res.partner"]
        for figure in FIELD_MAP:
            field = Partner._fields[figure.field]
            self.assertEqual(field.store, figure.table == PARTNER_TABLE, figure.field)

    def _run_while_an_editor_holds(self, held):
        """A run while another connection holds the row of ``held`` (committed
        before this test's transaction began), with a first invoice of it."""
        with db_connect(self.env.cr.dbname).cursor() as editor:
            # The lock a user's save takes on the row (an UPDATE of no key
            # column).
            editor.execute(
                "SELECT id FROM res_partner WHERE id = %s FOR NO KEY UPDATE", [held.id]
            )
            # A stuck statement fails within seconds.
            self.env.cr.execute("SET LOCAL lock_timeout = '10s'")
            # Posting a first invoice raises the customer rank: 18.0 skips a
            # locked partner, 19.0 writes a rank of 0 at once and would wait
            # for the editor. The rank is not what this test is about.
            with patch.object(
                type(self.env["res.partner"]), "_increase_rank", lambda *a, **k: None
            ):
                self._invoices([(held, AS_OF - timedelta(days=3), 500.0)])
            run = self._run()
            editor.rollback()
        return run

    def test_a_customer_held_by_an_editor_is_deferred(self):
        """Another connection holds the row of a customer (committed before
        this test's transaction began) while the run writes: the run
        completes, that customer keeps all of its old values, the others are
        written, and the next run writes it."""
        held = self.env.ref("base.partner_admin").commercial_partner_id
        self.assertFalse(held.customer_segment_id)
        run = self._run_while_an_editor_holds(held)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.deferred_count, 1)
        self.assertFalse(held.customer_segment_id)
        self.assertFalse(held.rfm_monetary)
        self.assertFalse(
            self.env["custseg.partner.figure"].search([("partner_id", "=", held.id)])
        )
        self.assertTrue(all(self._partners().mapped("customer_segment_id")))
        self.assertFalse(
            self.env["custseg.partner.history"].search([("partner_id", "=", held.id)])
        )
        again = self._run()
        self.assertEqual(again.deferred_count, 0)
        self.assertTrue(held.customer_segment_id)
        self.assertAlmostEqual(held.rfm_monetary, 500.0)
        self.assertTrue(held.purchase_probability > 0)

    def test_only_the_batch_of_a_held_row_is_locked_before_writing(self):
        """The write-back writes each batch of customers in one UPDATE; only
        the batch whose UPDATE meets a row an editor holds is locked row by
        row instead: its other customers are written, the held one is
        deferred, every other batch is written without a lock pass."""
        held = self.env.ref("base.partner_admin").commercial_partner_id
        Run = type(self.env["custseg.run"])
        real = Run._lock_free_rows
        locked_batches = []

        def spy(run, customers):
            locked_batches.append(list(customers))
            return real(run, customers)

        with (
            patch.object(Run, "_lock_free_rows", spy),
            patch.object(custseg_run, "LOCK_BATCH", 4),
        ):
            run = self._run_while_an_editor_holds(held)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.deferred_count, 1)
        self.assertEqual(len(locked_batches), 1)
        self.assertIn(held.id, locked_batches[0])
        self.assertLessEqual(len(locked_batches[0]), 4)
        self.assertFalse(held.customer_segment_id)
        # The held customer's batch companions and every other batch.
        self.assertGreater(len(self.grid_customers), 4)
        self.assertTrue(all(self._partners().mapped("customer_segment_id")))
        # The run's short wait for a held row ends with its write-back.
        self.env.cr.execute("SHOW lock_timeout")
        self.assertEqual(self.env.cr.fetchone()[0], "10s")

    def _vacuum_count(self, table):
        """How many times ``table`` was vacuumed, seen from a new connection
        (statistics are not transactional)."""
        with db_connect(self.env.cr.dbname).cursor() as reader:
            reader.execute(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = %s",
                [table],
            )
            return reader.fetchone()[0]

    def test_a_run_vacuums_after_its_commit_what_autovacuum_skips(self):
        """A run leaves one callback for its transaction's commit, however
        many runs the transaction holds; it vacuums the rewritten tables
        that autovacuum skips, on its own connection."""
        postcommit = self.env.cr.postcommit
        postcommit.clear()
        self.addCleanup(postcommit.clear)
        self._run()
        self._run(as_of=AS_OF + timedelta(days=1))
        callbacks = [
            f
            for f in postcommit._funcs
            if getattr(f, "func", None) is vacuum.vacuum_rewritten_tables
        ]
        self.assertEqual(len(callbacks), 1)
        before = self._vacuum_count(FIGURE_TABLE)
        with patch.object(vacuum, "tables_autovacuum_skips", lambda cr: [FIGURE_TABLE]):
            self.assertEqual(callbacks[0](), [FIGURE_TABLE])
        self.assertEqual(self._vacuum_count(FIGURE_TABLE), before + 1)

    def test_tables_autovacuum_skips_follow_the_server_and_the_table(self):
        self.env.cr.execute("SHOW autovacuum")
        server_off = self.env.cr.fetchone()[0] == "off"
        self.env.cr.execute(
            SQL(
                "ALTER TABLE %s SET (autovacuum_enabled = false)",
                SQL.identifier(FIGURE_TABLE),
            )
        )
        expected = list(vacuum.REWRITTEN_TABLES) if server_off else [FIGURE_TABLE]
        self.assertEqual(vacuum.tables_autovacuum_skips(self.env.cr), expected)
        self.env.cr.execute(
            SQL(
                "ALTER TABLE %s RESET (autovacuum_enabled)",
                SQL.identifier(FIGURE_TABLE),
            )
        )
        self.assertEqual(
            vacuum.tables_autovacuum_skips(self.env.cr),
            list(vacuum.REWRITTEN_TABLES) if server_off else [],
        )
        self.assertEqual(
            vacuum.tables_autovacuum_skips(self.env.cr, ["custseg_no_such_table"]), []
        )

    def test_clusters_are_kept_between_refits(self):
        """A next-day run assigns customers to the clusters fitted before, so
        labels do not shuffle nightly; they are fitted anew after
        CLUSTER_REFIT_DAYS, or when the clustering settings change."""
        first = self._run()
        self.assertTrue(first.cluster_model)
        self.assertEqual(first.cluster_fitted_on, AS_OF)
        labels = set(first.cluster_model["labels"])
        self.assertEqual(
            set(self._partners().mapped("customer_cluster")) - {False}, labels
        )

        next_day = self._run(as_of=AS_OF + timedelta(days=1))
        self.assertEqual(next_day.cluster_fitted_on, AS_OF)
        self.assertEqual(next_day.cluster_model, first.cluster_model)

        month_later = self._run(as_of=AS_OF + timedelta(days=30))
        self.assertEqual(month_later.cluster_fitted_on, AS_OF + timedelta(days=30))

        self.env["ir.config_parameter"].set_param("custseg.k_max", "3")
        settings_changed = self._run(as_of=AS_OF + timedelta(days=31))
        self.assertEqual(settings_changed.cluster_fitted_on, AS_OF + timedelta(days=31))
        self.assertLessEqual(len(settings_changed.cluster_model["labels"]), 3)

        self.env["ir.config_parameter"].set_param("custseg.clustering", "False")
        off = self._run(as_of=AS_OF + timedelta(days=32))
        self.assertFalse(off.cluster_model)
        self.assertFalse(off.cluster_fitted_on)


class EditAfterSnapshotCommon(CustsegGridCommon):
    """A customer edited by another connection after the test transaction's
    snapshot. That transaction can never write the row again, and every test
    of a class shares it: one test per class."""

    def _edit_committed_after_snapshot(self):
        """A customer (committed before this test's transaction began) whose
        row another connection rewrites and commits now, after this
        transaction's snapshot, as a user saving the form would; with a
        first invoice in this transaction, so the run has figures to write."""
        edited = self.env.ref("base.partner_admin").commercial_partner_id
        self.assertFalse(edited.customer_segment_id)
        with db_connect(self.env.cr.dbname).cursor() as editor:
            editor.execute(
                "UPDATE res_partner SET name = name WHERE id = %s", [edited.id]
            )
            editor.commit()
        # As in test_a_customer_held_by_an_editor_is_deferred: the rank is not
        # what this test is about (and this transaction can no longer write
        # the row).
        with patch.object(
            type(self.env["res.partner"]), "_increase_rank", lambda *a, **k: None
        ):
            self._invoices([(edited, AS_OF - timedelta(days=3), 500.0)])
        return edited

    def _assert_deferred_alone(self, run, edited):
        self.assertEqual(run.state, "done")
        self.assertEqual(run.deferred_count, 1)
        self.assertFalse(edited.customer_segment_id)
        self.assertFalse(edited.rfm_monetary)
        customers = self.env["res.partner"].concat(*self.grid_customers.values())
        self.assertTrue(all(customers.mapped("customer_segment_id")))


@tagged("post_install", "-at_install")
class TestEditFoundBeforeLocking(EditAfterSnapshotCommon):
    def test_a_customer_edited_after_the_run_began_is_found_before_locking(self):
        """An edit committed after the run's snapshot is found by comparing
        the row's writer with the snapshot, before any lock: the set-based
        lock then meets no conflict, and only that customer is deferred."""
        edited = self._edit_committed_after_snapshot()
        Run = type(self.env["custseg.run"])
        real = Run._edited_since_snapshot
        found = []

        def spy(run):
            found.append(real(run))
            return found[-1]

        with patch.object(Run, "_edited_since_snapshot", spy):
            run = self._run()
        self.assertEqual(found, [[edited.id]])
        self._assert_deferred_alone(run, edited)


@tagged("post_install", "-at_install")
class TestEditFoundAfterAFailedBatch(EditAfterSnapshotCommon):
    def test_an_edit_missed_before_locking_is_found_when_its_batch_fails(self):
        """An edit committed between that check and the lock (here: a first
        check that finds nothing) makes its batch fail; a new check finds the
        edited customer and the batch is locked again without it."""
        edited = self._edit_committed_after_snapshot()
        Run = type(self.env["custseg.run"])
        real = Run._edited_since_snapshot
        found = []

        def late(run):
            found.append(real(run) if found else [])
            return found[-1]

        with (
            patch.object(Run, "_edited_since_snapshot", late),
            patch.object(custseg_run, "LOCK_BATCH", 4),
        ):
            run = self._run()
        self.assertEqual(found, [[], [edited.id]])
        self._assert_deferred_alone(run, edited)


@tagged("post_install", "-at_install")
class TestLockHalving(EditAfterSnapshotCommon):
    def test_a_conflict_no_check_explains_is_halved_down_to_its_customer(self):
        """A batch that fails while no check finds the cause (as a row
        deleted since the snapshot would) is split in halves down to the
        customer, who alone is deferred."""
        edited = self._edit_committed_after_snapshot()
        Run = type(self.env["custseg.run"])
        with (
            patch.object(Run, "_edited_since_snapshot", lambda run: []),
            patch.object(custseg_run, "LOCK_BATCH", 4),
        ):
            run = self._run()
        self._assert_deferred_alone(run, edited)
