# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue #16 points 3, 5, 7 and 8: no silent overflow, a same-day re-run
writes nothing, failures say what failed, and the lock after a crash."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from unittest.mock import patch

import psycopg2

from odoo.exceptions import UserError, ValidationError
from odoo.sql_db import Savepoint, db_connect
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from ..models import custseg_run
from ..tools.run_lock import (
    CONNECTION_CHECK_INTERVAL,
    CONNECTION_CHECK_SETTING,
    RUN_LOCK_KEY,
    lock_holder,
)
from .common import AS_OF, CustsegGridCommon

RUN_LOGGER = "odoo.addons.custseg_module.models.custseg_run"


@tagged("post_install", "-at_install")
class TestRunHardening(CustsegGridCommon):
    def _last_run(self):
        return self.env["custseg.run"].search([], limit=1)

    def _figures(self, partners):
        self.env.invalidate_all()
        return partners.read(custseg_run.WRITTEN_FIELDS)

    # -------------------------------------------------------------- point 3
    def test_overflowing_figure_fails_the_run_naming_customer_and_figure(self):
        """A revenue beyond what the column stores (here one imported invoice
        of 1e17; 2 decimals in a 64-bit integer hold about 9.2e16) fails the
        run, naming the customer and the figure, and writes nothing."""
        self._run()
        others = self.env["res.partner"].concat(*self.grid_customers.values())
        before = self._figures(others)
        whale = self._customer("Import Error Ltd")
        move = self._invoices([(whale, self._days_ago(3), 1000.0)])
        # As an import writing moves directly would store it (the ORM cannot
        # balance a float amount this large to the cent).
        self.env.cr.execute(
            "UPDATE account_move SET amount_untaxed_signed = %s WHERE id = %s",
            [1e17, move.id],
        )
        self.env.invalidate_all()
        with (
            mute_logger(RUN_LOGGER),
            self.assertRaisesRegex(
                UserError,
                r"Net Revenue is out of range for Import Error Ltd \(1e\+17\)",
            ),
        ):
            self._run()
        failed = self._last_run()
        self.assertEqual(failed.state, "failed")
        self.assertIn("Import Error Ltd", failed.error)
        self.assertEqual(self._figures(others), before)
        self.assertFalse(whale.customer_segment_id)
        self.assertFalse(whale.rfm_monetary)

    # -------------------------------------------------------------- point 5
    def test_same_day_rerun_writes_nothing(self):
        """Recompute now after the nightly run: a reactivated customer stays
        reactivated (until its next purchase), nothing is written, no
        transition is logged."""
        self._run(AS_OF - timedelta(days=30))
        lost = self.grid_customers[1, 1]
        self._invoices([(lost, AS_OF, 100.0)])
        nightly = self._run()
        self.assertEqual(lost.lifecycle_stage, "reactivated")
        self.assertGreater(nightly.changed_count, 0)
        partners = self.env["res.partner"].search(
            [("customer_segment_id", "!=", False)]
        )
        before = self._figures(partners)
        again = self._run()
        self.assertEqual(again.state, "done")
        self.assertEqual(again.changed_count, 0)
        self.assertEqual(again.history_count, 0)
        self.assertEqual(self._figures(partners), before)
        # Days, not runs: still reactivated tomorrow, until it buys again.
        self._run(AS_OF + timedelta(days=1))
        self.assertEqual(lost.lifecycle_stage, "reactivated")
        self._invoices([(lost, AS_OF + timedelta(days=2), 100.0)])
        self._run(AS_OF + timedelta(days=2))
        self.assertNotEqual(lost.lifecycle_stage, "reactivated")

    # -------------------------------------------------------------- point 7
    def test_bad_parameters_are_named_before_any_work(self):
        params = self.env["ir.config_parameter"]
        for key, raw in (
            ("custseg.followup_user_id", "abc"),
            ("custseg.bins", "abc"),
            ("custseg.lookback_days", "365 days"),
            ("custseg.followups_enabled", "yes"),
        ):
            with self.subTest(key=key):
                previous = params.get_param(key)
                params.set_param(key, raw)
                with (
                    mute_logger(RUN_LOGGER),
                    self.assertRaisesRegex(
                        ValidationError, re.escape(f"{key} is '{raw}'")
                    ),
                ):
                    self._run()
                failed = self._last_run()
                self.assertEqual(failed.state, "failed")
                self.assertIn(key, failed.error)
                # Checked before the aggregate: nothing was read.
                self.assertEqual(failed.transaction_count, 0)
                params.set_param(key, previous or "")

    def test_integral_numbers_stored_as_decimals_are_read(self):
        """'3650.0' and '5.0', as a float setting or a script may store them,
        are whole numbers: the run, its follow-ups included, works."""
        params = self.env["ir.config_parameter"]
        params.set_param("custseg.lookback_days", "3650.0")
        params.set_param("custseg.bins", "5.0")
        params.set_param("custseg.followups_on_baseline", "True")
        champions = self.segments["champions"]
        champions.write(
            {
                "followup_enabled": True,
                "followup_activity_type_id": self.env.ref(
                    "mail.mail_activity_data_todo"
                ).id,
            }
        )
        run = self._run()
        self.assertEqual(run.state, "done")
        self.assertGreater(run.activity_created_count, 0)

    def test_bad_bins_do_not_break_the_segment_form(self):
        self.env["ir.config_parameter"].set_param("custseg.bins", "five")
        segment = self.segments["champions"]
        self.env.invalidate_all()
        self.assertIn("custseg.bins", segment.rule_grid_html)
        segment.get_views([(False, "form")])
        segment.web_read({"rule_grid_html": {}, "name": {}})

    def test_failure_records_the_first_error_not_the_rollback_error(self):
        """PostgreSQL ended the connection: the savepoint's rollback then fails
        with "cursor already closed"; the run records (and raises) the cause."""
        real_close = Savepoint._close
        rollbacks = []

        def dying_close(savepoint, rollback):
            real_close(savepoint, rollback)
            if rollback and not rollbacks:
                rollbacks.append(savepoint)
                raise psycopg2.InterfaceError("cursor already closed")

        terminated = psycopg2.OperationalError(
            "terminating connection due to administrator command"
        )
        with (
            patch.object(type(self.env["custseg.run"]), "_phase_history") as phase,
            patch.object(Savepoint, "_close", dying_close),
            mute_logger(RUN_LOGGER),
            self.assertRaisesRegex(psycopg2.OperationalError, "terminating"),
        ):
            phase.side_effect = terminated
            self._run()
        self.assertTrue(rollbacks, "the simulated rollback failure did not happen")
        failed = self._last_run()
        self.assertEqual(failed.state, "failed")
        self.assertIn("terminating connection", failed.error)
        self.assertNotIn("cursor already closed", failed.error)

    # -------------------------------------------------------------- point 8
    def test_refusal_says_a_run_may_still_be_finishing(self):
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute(
                "SELECT pg_advisory_lock(%s), pg_backend_pid()", [RUN_LOCK_KEY]
            )
            pid = other.fetchone()[1]
            with self.assertRaisesRegex(
                UserError,
                rf"already in progress \(database session {pid}, for \d+ s\).*"
                r"may still be finishing its last statement",
            ):
                self._run()
        finally:
            other.execute("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_KEY])
            other.close()

    def test_run_statements_are_bound_to_the_connection(self):
        seen = []
        original = type(self.env["custseg.run"])._phase_history

        def history(run, *args):
            run.env.cr.execute("SELECT current_setting(%s)", [CONNECTION_CHECK_SETTING])
            seen.append(run.env.cr.fetchone()[0])
            return original(run, *args)

        with patch.object(type(self.env["custseg.run"]), "_phase_history", history):
            self._run()
        self.assertEqual(seen, [CONNECTION_CHECK_INTERVAL])


# A session as a run leaves it when Odoo is killed in the middle of a long
# statement: the connection check on, the run lock held, a statement running.
DYING_SESSION = """
import sys, psycopg2
connection = psycopg2.connect(dbname=sys.argv[1])
cr = connection.cursor()
cr.execute("SELECT set_config(%s, %s, false)", (sys.argv[2], sys.argv[3]))
cr.execute("SELECT pg_advisory_lock(%s), pg_sleep(600)", (int(sys.argv[4]),))
"""


@tagged("post_install", "-at_install")
class TestLockAfterCrash(BaseCase):
    def test_killed_client_releases_the_run_lock_within_seconds(self):
        """kill -9 of the client during a statement: with the run's connection
        check, PostgreSQL cancels the statement and frees the lock within
        seconds instead of running it to its end (here 10 minutes)."""
        dbname = get_db_name()
        client = subprocess.Popen(
            [
                sys.executable,
                "-c",
                DYING_SESSION,
                dbname,
                CONNECTION_CHECK_SETTING,
                CONNECTION_CHECK_INTERVAL,
                str(RUN_LOCK_KEY),
            ]
        )
        watcher = db_connect(dbname).cursor()
        try:
            deadline = time.monotonic() + 30
            while not lock_holder(watcher) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertTrue(lock_holder(watcher), "the client never took the lock")
            os.kill(client.pid, signal.SIGKILL)
            client.wait()
            killed = time.monotonic()
            while lock_holder(watcher) and time.monotonic() - killed < 30:
                time.sleep(0.1)
            self.assertIsNone(lock_holder(watcher))
            self.assertLess(time.monotonic() - killed, 5)
        finally:
            if client.poll() is None:
                client.kill()
            watcher.close()
