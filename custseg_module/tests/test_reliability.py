# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Reliability of a segmentation run (issue #8): crash safety at every phase,
concurrency, bad input and cron failures.

A run is one savepoint in the caller's transaction; a failure rolls the
savepoint back and records a failed run through a separate cursor. In test mode
that cursor shares the test transaction, so the failed run is visible here.
"""

import logging
import math
from contextlib import contextmanager
from datetime import date
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError, ValidationError
from odoo.service.model import retrying
from odoo.sql_db import db_connect
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL, mute_logger

from ..engine import grid_problems
from ..models import custseg_run
from .common import AS_OF, CustsegCommon, CustsegGridCommon, run_cron_callback

RUN_LOGGER = "odoo.addons.custseg_module.models.custseg_run"
SERIALIZATION_MESSAGE = "could not serialize access due to concurrent update"


def raise_serialization_failure(cr):
    """Make PostgreSQL itself raise a SerializationFailure (SQLSTATE 40001), as
    a concurrent update of the same row under REPEATABLE READ does."""
    cr.execute(
        "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = 'serialization_failure', "
        "MESSAGE = %s; END $$",
        [SERIALIZATION_MESSAGE],
    )


class ReliabilityMixin:
    @property
    def Run(self):
        """The registry class of custseg.run, whose phases the tests patch."""
        return type(self.env["custseg.run"])

    def _partner_state(self, fields=None):
        """Every partner's segmentation columns (archived ones too) and its
        daily figures (custseg_partner_figure), straight from the database."""
        fields = fields or custseg_run.WRITTEN_FIELDS
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, %s, f.purchase_probability, f.predicted_clv
                  FROM res_partner p
                  LEFT JOIN custseg_partner_figure f ON f.partner_id = p.id
                 ORDER BY p.id
                """,
                SQL(", ").join(SQL.identifier("p", name) for name in fields),
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    def setUp(self):
        super().setUp()
        self.env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM custseg_run")
        self.max_run_before = self.env.cr.fetchone()[0]

    def _new_runs(self, domain=()):
        """The runs recorded since the test started, newest first."""
        return self.env["custseg.run"].search(
            [("id", ">", self.max_run_before), *domain]
        )

    def _last_failed_run(self):
        return self.env["custseg.run"].search([("state", "=", "failed")], limit=1)

    def _assert_nothing_left_by_failed_runs(self):
        """No run is left running, and no history row, run line or follow-up
        points to a run that did not complete (the partners' own figures are
        compared by the callers)."""
        Runs = self.env["custseg.run"]
        self.assertFalse(Runs.search([("state", "=", "running")]))
        unfinished = Runs.search([("state", "!=", "done")])
        self.assertFalse(
            self.env["custseg.partner.history"].search(
                ["|", ("run_id", "in", unfinished.ids), ("run_id.state", "!=", "done")]
            )
        )
        self.assertFalse(
            self.env["custseg.run.line"].search([("run_id", "in", unfinished.ids)])
        )
        Activity = self.env["mail.activity"].with_context(active_test=False)
        if "custseg_run_id" in Activity._fields:
            self.assertFalse(
                Activity.search([("custseg_run_id", "in", unfinished.ids)])
            )


@tagged("post_install", "-at_install")
class TestCrashSafety(ReliabilityMixin, CustsegGridCommon):
    """Item 1: make the run fail at each phase in turn. Every partner keeps all
    of its old figures, nothing of the failed run is left, the failure is
    recorded with its error, and the next run completes as if nothing happened.
    """

    def setUp(self):
        super().setUp()
        self.first = self._run()
        # Purchases that move many customers: the lost ones buy again today,
        # one customer in the middle buys big.
        self._invoices(
            [(self.grid_customers[1, f], AS_OF, 50.0 * f) for f in range(1, 6)]
            + [(self.grid_customers[3, 3], self._days_ago(2), 5000.0)]
        )
        self.old_state = self._partner_state()
        self.history_count = self.env["custseg.partner.history"].search_count([])
        self.activity_count = self._activity_count()
        # What a clean second run writes, computed and then rolled back.
        savepoint = self.env.cr.savepoint()
        clean = self._run()
        self.clean_state = self._partner_state()
        self.clean_history = self.env["custseg.partner.history"].search_count(
            [("run_id", "=", clean.id)]
        )
        self.clean_run = self._counts(clean)
        savepoint.close(rollback=True)
        self.env.invalidate_all()
        self.assertNotEqual(self.clean_state, self.old_state, "the run changes things")

    @staticmethod
    def _counts(run):
        return {"partner_count": run.partner_count, "changed_count": run.changed_count}

    def _activity_count(self):
        return (
            self.env["mail.activity"]
            .with_context(active_test=False)
            .search_count([("res_model", "=", "res.partner")])
        )

    def _crash(self, error_pattern, *patchers, **phases):
        """Run with the given phases of custseg.run (and other patchers) patched;
        the run must fail, leave every partner as the first run left it and
        record itself failed; the next run, unpatched, must then write exactly
        what a clean run writes."""
        patchers = [
            *patchers,
            *(patch.object(self.Run, name, new) for name, new in phases.items()),
        ]
        for patcher in patchers:
            patcher.start()
        try:
            with (
                mute_logger(RUN_LOGGER),
                self.assertRaisesRegex(Exception, error_pattern),
            ):
                self._run()
        finally:
            for patcher in reversed(patchers):
                patcher.stop()
        self.env.invalidate_all()

        # Each partner's figures are all from the first run.
        self.assertEqual(self._partner_state(), self.old_state)
        self.assertEqual(
            self.env["custseg.partner.history"].search_count([]), self.history_count
        )
        self.assertEqual(self._activity_count(), self.activity_count)
        failed = self._last_failed_run()
        self.assertTrue(failed, "the failed run is recorded")
        self.assertRegex(failed.error, error_pattern)
        self.assertTrue(failed.end_datetime)
        self._assert_nothing_left_by_failed_runs()

        # The next run completes normally and writes what a clean run writes.
        recovered = self._run()
        self.assertEqual(recovered.state, "done")
        self.assertEqual(self._counts(recovered), self.clean_run)
        self.assertEqual(
            self.env["custseg.partner.history"].search_count(
                [("run_id", "=", recovered.id)]
            ),
            self.clean_history,
        )
        self.assertEqual(self._partner_state(), self.clean_state)
        self._assert_nothing_left_by_failed_runs()
        return failed

    def test_crash_after_the_aggregate(self):
        real = self.Run._phase_aggregate

        def aggregate_then_crash(run):
            real(run)
            raise RuntimeError("crashed after the aggregate")

        failed = self._crash(
            "crashed after the aggregate", _phase_aggregate=aggregate_then_crash
        )
        self.assertFalse(failed.partner_count)

    def test_crash_inside_the_engine(self):
        real = custseg_run.segment_customers

        def engine_on_corrupt_amounts(transactions, *args, **kwargs):
            transactions = transactions.copy()
            transactions.loc[transactions.index[0], "amount"] = math.nan
            return real(transactions, *args, **kwargs)

        failed = self._crash(
            r"amount: contains NaN",
            patch.object(custseg_run, "segment_customers", engine_on_corrupt_amounts),
        )
        self.assertGreater(failed.transaction_count, 0, "progress is recorded")

    def test_crash_midway_through_the_write_back(self):
        real = self.Run._phase_write_back
        written = []

        def write_half_then_crash(run, result):
            real(run, result.iloc[: len(result) // 2])
            state = self._partner_state()
            written.append(
                sum(state[key] != old for key, old in self.old_state.items())
            )
            raise RuntimeError("crashed midway through the write-back")

        failed = self._crash(
            "crashed midway through the write-back",
            _phase_write_back=write_half_then_crash,
        )
        self.assertGreater(written[0], 0, "part of the UPDATE had happened")
        self.assertEqual(failed.partner_count, self.clean_run["partner_count"])

    def test_crash_during_history(self):
        real = self.Run._phase_history
        inserted = []

        def insert_then_crash(run, *args):
            inserted.append(real(run, *args))
            raise RuntimeError("crashed during the history")

        self._crash("crashed during the history", _phase_history=insert_then_crash)
        self.assertGreater(inserted[0], 0, "history rows had been inserted")

    def test_crash_during_activities(self):
        self.assertTrue(
            hasattr(self.Run, "_phase_activities"), "the run schedules follow-ups"
        )
        real = self.Run._phase_activities

        def schedule_then_crash(run, *args):
            real(run, *args)
            raise RuntimeError("crashed during the activities")

        self._crash(
            "crashed during the activities", _phase_activities=schedule_then_crash
        )

    def test_crash_while_closing_the_run(self):
        def crash(run, *args):
            raise RuntimeError("crashed writing the run's lines")

        self._crash("crashed writing the run's lines", _write_lines=crash)


@tagged("post_install", "-at_install")
class TestConcurrency(ReliabilityMixin, CustsegGridCommon):
    """Item 2: the cron and the button at the same moment, user edits during a
    run, serialization failures."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner_manager = new_test_user(
            cls.env,
            login="custseg_partner_editor",
            groups="base.group_user,base.group_partner_manager,"
            "sales_team.group_sale_salesman",
            name="Partner Editor",
        )

    def _other_transaction(self):
        """A second, real database connection: another worker."""
        return db_connect(self.env.cr.dbname).cursor()

    def test_run_is_refused_while_the_cron_runs(self):
        cron_cr = self._other_transaction()
        try:
            # The cron's transaction takes the run lock exactly as a run does.
            cron_env = api.Environment(cron_cr, SUPERUSER_ID, {})
            self.assertTrue(cron_env["custseg.run"]._try_lock())
            with self.assertRaisesRegex(
                UserError,
                r"A segmentation run is already in progress \(database session "
                r"\d+, for \d+ s\)\. Wait for it to finish, then look at "
                r"Customer Segmentation › Runs\.",
            ):
                self.env["custseg.run"].with_user(self.manager).run_segmentation()
            # Refused before it started: neither a run nor a failed run.
            self.assertFalse(self._new_runs())
        finally:
            cron_cr.close()
        # The cron's transaction ended: the lock is free again.
        run = self.env["custseg.run"].with_user(self.manager).run_segmentation()
        self.assertEqual(run.state, "done")

    def test_queued_run_waits_while_the_cron_runs(self):
        """Recompute now while the daily cron runs: the run is queued, the
        worker leaves it queued and looks again a minute later, then runs it."""
        action = self.env["custseg.run"].with_user(self.manager).action_recompute_now()
        run = self.env["custseg.run"].browse(action["res_id"])
        self.assertEqual(run.state, "queued")
        queue_cron = self.env.ref("custseg_module.ir_cron_run_queued")
        cron_cr = self._other_transaction()
        try:
            cron_env = api.Environment(cron_cr, SUPERUSER_ID, {})
            self.assertTrue(cron_env["custseg.run"]._try_lock())
            triggers = self.env["ir.cron.trigger"].search_count(
                [("cron_id", "=", queue_cron.id)]
            )
            with (
                patch.object(self.env.cr, "commit", self.env.flush_all),
                patch.object(self.env.cr, "rollback", side_effect=self.env.cr.clear),
            ):
                self.env["custseg.run"]._cron_run_queued()
            self.assertEqual(run.state, "queued")
            self.assertEqual(
                self.env["ir.cron.trigger"].search_count(
                    [("cron_id", "=", queue_cron.id)]
                ),
                triggers + 1,
            )
        finally:
            cron_cr.close()
        with patch.object(self.env.cr, "commit", self.env.flush_all):
            self.env["custseg.run"]._cron_run_queued()
        self.assertEqual(run.state, "done")
        self.assertEqual(
            self.grid_customers[5, 5].customer_segment_id.code,
            self._expected_segment(5, 5),
        )

    def test_cron_skips_while_the_button_runs(self):
        real = self.Run._phase_engine
        cron_logs = []

        def engine_while_the_cron_fires(run, *args):
            # Meanwhile, a cron worker starts the daily run on its own connection.
            cron_cr = self._other_transaction()
            try:
                with self.assertLogs(RUN_LOGGER, logging.INFO) as logs:
                    cron_env = api.Environment(cron_cr, SUPERUSER_ID, {})
                    cron_env["custseg.run"]._cron_run_segmentation()
                cron_logs.extend(logs.output)
            finally:
                cron_cr.close()
            return real(run, *args)

        with patch.object(self.Run, "_phase_engine", engine_while_the_cron_fires):
            run = self._run(user=self.manager)
        self.assertEqual(run.state, "done")
        # The cron logged its skip and nothing else, and started no run.
        self.assertEqual(
            cron_logs,
            [f"INFO:{RUN_LOGGER}:Segmentation cron skipped: a run is in progress."],
        )
        self.assertEqual(self._new_runs(), run)

    def test_user_edits_during_a_run_are_kept(self):
        """A user edits customers while the run computes: the run writes only its
        own columns, so nothing the user wrote is lost, and a segment set by a
        manager in the meantime is respected."""
        self._run()
        tag = self.env["res.partner.category"].create({"name": "VIP during run"})
        edited = self.grid_customers[5, 5]
        pending = self.grid_customers[1, 1]
        locked = self.grid_customers[2, 1]
        self._invoices(
            [(p, AS_OF, 1000.0) for p in (edited, pending, locked)]
            + [(self.grid_customers[1, 5], AS_OF, 10.0)]
        )
        real = self.Run._phase_engine

        def engine_while_users_edit(run, *args):
            result = real(run, *args)
            editor = self.env(user=self.partner_manager)
            editor["res.partner"].browse(edited.id).write(
                {
                    "name": "Renamed During Run",
                    "user_id": self.salesman.id,
                    "category_id": [Command.link(tag.id)],
                    "phone": "+32 2 555 00 00",
                }
            )
            # Written to the database before the run's UPDATE, as a concurrent
            # transaction would; the next one is still pending in the cache.
            editor.flush_all()
            editor["res.partner"].browse(pending.id).write(
                {"name": "Pending Edit", "category_id": [Command.link(tag.id)]}
            )
            self.env(user=self.manager)["res.partner"].browse(locked.id).write(
                {"customer_segment_id": self.segments["cant_lose"].id}
            )
            return result

        with patch.object(self.Run, "_phase_engine", engine_while_users_edit):
            run = self._run()
        self.assertEqual(run.state, "done")
        self.assertEqual(edited.name, "Renamed During Run")
        self.assertEqual(edited.user_id, self.salesman)
        self.assertEqual(edited.category_id, tag)
        self.assertEqual(edited.phone, "+32 2 555 00 00")
        self.assertEqual(pending.name, "Pending Edit")
        self.assertEqual(pending.category_id, tag)
        # ... and the run's own figures were written all the same.
        for partner in (edited, pending, locked):
            self.assertEqual(partner.rfm_recency_days, 0)
            self.assertEqual(partner.last_purchase_date, AS_OF)
        self.assertEqual(edited.rfm_frequency, 6)
        self.assertEqual(locked.customer_segment_id, self.segments["cant_lose"])
        self.assertTrue(locked.segment_locked)
        # The run saw the override: its history agrees with the partner.
        transition = self.env["custseg.partner.history"].search(
            [("run_id", "=", run.id), ("partner_id", "=", locked.id)]
        )
        self.assertEqual(transition.new_segment_id, self.segments["cant_lose"])

    def _flaky_history(self, failures):
        """_phase_history that hits a real serialization failure `failures`
        times (None: always), then works."""
        real = self.Run._phase_history
        attempts = []

        def flaky(run, *args):
            attempts.append(run.id)
            if failures is None or len(attempts) <= failures:
                raise_serialization_failure(run.env.cr)
            return real(run, *args)

        return flaky, attempts

    def test_cron_retries_a_serialization_failure(self):
        flaky, attempts = self._flaky_history(1)
        # The cron rolls its transaction back before retrying; the test's
        # transaction cannot end, so the rollback only drops the ORM cache. The
        # failed attempt's writes are already undone by the run's savepoint.
        with (
            patch.object(self.Run, "_phase_history", flaky),
            patch.object(self.env.cr, "rollback", side_effect=self.env.cr.clear) as rb,
            mute_logger("odoo.sql_db"),
            self.assertLogs(RUN_LOGGER, logging.WARNING) as logs,
        ):
            self.env["custseg.run"]._cron_run_segmentation()
        self.assertEqual(len(attempts), 2)
        self.assertEqual(rb.call_count, 1)
        done = self._new_runs([("state", "=", "done")])
        self.assertEqual(len(done), 1)
        self.assertEqual(done.partner_count, 25)
        self.assertEqual(
            self.grid_customers[5, 5].customer_segment_id.code,
            self._expected_segment(5, 5),
        )
        # Reported, not swallowed: the failed attempt is a failed run with its
        # error, and the log says it was retried.
        failed = self._last_failed_run()
        self.assertIn(SERIALIZATION_MESSAGE, failed.error)
        self.assertIn("SerializationFailure", failed.error)
        self.assertTrue(
            any("serialization failure (attempt 1/3)" in line for line in logs.output),
            logs.output,
        )

    def test_cron_reports_a_persistent_serialization_failure(self):
        flaky, attempts = self._flaky_history(None)
        with (
            patch.object(self.Run, "_phase_history", flaky),
            patch.object(self.env.cr, "rollback", side_effect=self.env.cr.clear) as rb,
            mute_logger("odoo.sql_db"),
            self.assertLogs(RUN_LOGGER, logging.WARNING) as logs,
        ):
            self.env["custseg.run"]._cron_run_segmentation()
        retries = custseg_run.CRON_SERIALIZATION_RETRIES
        self.assertEqual(len(attempts), retries)
        self.assertEqual(rb.call_count, retries)
        runs = self._new_runs()
        self.assertEqual(runs.mapped("state"), ["failed"] * retries)
        for run in runs:
            self.assertIn(SERIALIZATION_MESSAGE, run.error)
        gave_up = [r for r in logs.records if "gave up" in r.getMessage()]
        self.assertEqual(len(gave_up), 1, logs.output)
        self.assertEqual(gave_up[0].levelname, "ERROR")
        self.assertFalse(self.grid_customers[5, 5].customer_segment_id)

    def test_request_reraises_a_serialization_failure(self):
        """A run started by a request (XML-RPC) lets the error through, so that
        Odoo's request handler rolls back and retries; the attempt is recorded
        as a failed run."""
        flaky, _attempts = self._flaky_history(None)
        before = self._partner_state()
        # assertRaisesRegex, not Odoo's assertRaises: that one rolls back a
        # savepoint, and in test mode the failed run recorded "in its own
        # transaction" lives in the test transaction.
        with (
            patch.object(self.Run, "_phase_history", flaky),
            mute_logger(RUN_LOGGER, "odoo.sql_db"),
            self.assertRaisesRegex(
                pg_errors.SerializationFailure, SERIALIZATION_MESSAGE
            ),
        ):
            self.env["custseg.run"].with_user(self.manager).run_segmentation()
        self.assertEqual(self._partner_state(), before)
        self.assertIn(SERIALIZATION_MESSAGE, self._last_failed_run().error)

    def test_request_retry_completes_the_run(self):
        """Through Odoo's own retry loop of RPC/HTTP requests, the run's
        second attempt completes."""
        flaky, attempts = self._flaky_history(1)
        self.env.flush_all()
        with (
            patch.object(self.Run, "_phase_history", flaky),
            patch("odoo.service.model.time.sleep") as sleep,
            mute_logger(RUN_LOGGER, "odoo.sql_db", "odoo.service.model"),
            self.registry.cursor() as cr,
        ):
            env = api.Environment(cr, self.manager.id, {})
            run_id = retrying(env["custseg.run"].run_segmentation, env).id
        self.assertEqual(len(attempts), 2)
        self.assertEqual(sleep.call_count, 1)
        self.env.invalidate_all()
        run = self.env["custseg.run"].browse(run_id)
        self.assertEqual(run.state, "done")
        self.assertEqual(
            self.grid_customers[5, 5].customer_segment_id.code,
            self._expected_segment(5, 5),
        )


@tagged("post_install", "-at_install")
class TestCronFailure(ReliabilityMixin, CustsegGridCommon):
    """Item 5: a failing cron run is logged and recorded as failed; the cron job
    stays active and the worker does not see an exception."""

    def setUp(self):
        super().setUp()
        self.cron = self.env.ref("custseg_module.ir_cron_run_segmentation")
        self.assertTrue(self.cron.active)

    def _assert_logged_failure(self, logs, message):
        records = [
            r for r in logs.records if r.getMessage() == "Segmentation cron run failed"
        ]
        self.assertEqual(len(records), 1, logs.output)
        self.assertEqual(records[0].levelname, "ERROR")
        self.assertIn(message, str(records[0].exc_info[1]), "logged with its traceback")

    def test_cron_failure_is_logged_and_recorded(self):
        with (
            patch.object(
                self.Run,
                "_phase_write_back",
                side_effect=RuntimeError("disk full during write-back"),
            ),
            self.assertLogs(RUN_LOGGER, logging.ERROR) as logs,
        ):
            # What the scheduler calls; it would roll back and count a failure
            # (and in the end deactivate the job) if this raised.
            run_cron_callback(self.cron)
        self._assert_logged_failure(logs, "disk full during write-back")
        failed = self._last_failed_run()
        self.assertEqual(failed.user_id, self.env.ref("base.user_root"))
        self.assertIn("RuntimeError: disk full during write-back", failed.error)
        self.assertTrue(self.cron.active)
        self.assertFalse(self.grid_customers[5, 5].customer_segment_id)
        # The next scheduled run works.
        run_cron_callback(self.cron)
        self.assertEqual(self.env["custseg.run"].search([], limit=1).state, "done")

    def test_run_manually_with_a_user_error(self):
        """ "Run Manually" on the cron: a configuration problem (here a setting
        broken behind the settings form's back) is logged and recorded too, and
        the cron reports no progress left, so the worker does not reschedule it
        in a loop."""
        self.env["ir.config_parameter"].set_param("custseg.churn_days", "-5")
        with self.assertLogs(RUN_LOGGER, logging.ERROR) as logs:
            self.cron.method_direct_trigger()
        self._assert_logged_failure(logs, "churn_days")
        self.assertIn("churn_days", self._last_failed_run().error)
        self.assertTrue(self.cron.active)
        progress = self.env["ir.cron.progress"].search(
            [("cron_id", "=", self.cron.id)], order="id desc", limit=1
        )
        self.assertEqual(progress.remaining, 0)


@tagged("post_install", "-at_install")
class TestBadInput(ReliabilityMixin, CustsegCommon):
    """Item 3: each bad input gets a clear error or correct handling."""

    @contextmanager
    def _refused(self, exception, pattern):
        """Odoo's assertRaises (which rolls back what the failed statement
        wrote, as a request would), then the message."""
        with self.assertRaises(exception) as caught:
            yield
        self.assertRegex(str(caught.exception), pattern)

    # ----------------------------------------------------------------- settings
    def test_invalid_settings_are_refused_naming_the_problem(self):
        params = self.env["ir.config_parameter"]
        before = {
            key: params.get_param(key)
            for key in ("custseg.bins", "custseg.churn_days", "custseg.k_min")
        }
        cases = [
            (
                {"custseg_lookback_days": -30},
                r"Lookback Window \(-30 days\) must be at least 0 days",
            ),
            (
                {"custseg_churn_days": -1},
                r"Churned After \(-1 days\) must be at least 1 days",
            ),
            (
                {"custseg_at_risk_min_days": -10},
                r"Lapsing Not Before \(-10 days\) must be at least 0 days",
            ),
            (
                {"custseg_horizon_days": 0},
                r"Likelihood Horizon \(0 days\) must be at least",
            ),
            ({"custseg_clv_days": -365}, r"CLV Horizon \(-365 days\) must be at least"),
            (
                {"custseg_at_risk_min_days": 200, "custseg_at_risk_max_days": 100},
                r"Lapsing At Latest \(100 days\) must be at least Lapsing Not Before "
                r"\(200 days\)",
            ),
            (
                {"custseg_tier_key_cut": 0.8, "custseg_tier_important_cut": 0.5},
                r"Key Customers' Share \(80 %\) must be below Important Customers' "
                r"Share \(50 %\)",
            ),
            (
                {"custseg_tier_important_cut": 0.95, "custseg_tier_ordinary_cut": 0.95},
                r"Important Customers' Share \(95 %\) must be below Ordinary",
            ),
            (
                {"custseg_tier_ordinary_cut": 1.5},
                r"Ordinary Customers' Share \(150 %\) must be between 0 % and 100 %",
            ),
            ({"custseg_bins": 1}, r"Score Bins \(1\) must be between 2 and 9"),
            ({"custseg_bins": 0}, r"Score Bins \(0\) must be between 2 and 9"),
            (
                {"custseg_k_min": 6, "custseg_k_max": 3},
                r"Clusters To \(3\) must be at least Clusters From \(6\)",
            ),
            ({"custseg_k_min": 1}, r"Clusters From \(1\) must be at least 2"),
            (
                {"custseg_at_risk_gap_multiple": 0.0},
                r"Lapsing After \(0\) must be above 0",
            ),
            (
                {"custseg_loyal_min_frequency": 1},
                r"Regular From \(1\) must be at least 2",
            ),
        ]
        for values, message in cases:
            with (
                self.subTest(values=values),
                self._refused(ValidationError, message),
            ):
                self.env["res.config.settings"].create(values).execute()
        self.assertEqual({key: params.get_param(key) for key in before}, before)
        # Valid settings still save.
        self.env["res.config.settings"].create({"custseg_churn_days": 400}).execute()
        self.assertEqual(params.get_param("custseg.churn_days"), "400")

    def test_changing_the_bins_moves_the_segments_onto_them(self):
        Segment = self.env["custseg.segment"]
        settings = self.env["res.config.settings"]
        five = Segment._rule_grid()
        buyers = [self._customer(f"Bins Buyer {i}") for i in range(12)]
        purchases = [
            (buyer, self._days_ago(7 * i + 1), 50.0 * (i + 1))
            for i, buyer in enumerate(buyers)
        ]
        repeats = [
            (buyer, self._days_ago(3 * i + 40), 20.0)
            for i, buyer in enumerate(buyers[:6])
        ]
        self._invoices(purchases + repeats)

        settings.create({"custseg_bins": 8}).execute()
        self.assertEqual(Segment._score_bins(), 8)
        eight = Segment._rule_grid()
        self.assertEqual(grid_problems(eight, 8), [])
        self.assertEqual(set(eight), set(five))
        # R5 of 5 is R7-R8 of 8; F4-F5 of 5 is F6-F8 of 8.
        self.assertEqual(five["champions"], (5, 5, 4, 5))
        self.assertEqual(eight["champions"], (7, 8, 6, 8))
        run = self._run()
        self.assertEqual(run.state, "done")
        self.assertEqual(max(b.rfm_r_score for b in buyers), 8)

        # Fewer bins: segments left without a cell are archived, the others
        # still cover the grid, and customers of archived segments move.
        settings.create({"custseg_bins": 3}).execute()
        self.assertEqual(Segment._score_bins(), 3)
        archived = Segment.with_context(active_test=False).search(
            [("kind", "=", "rule"), ("active", "=", False)]
        )
        self.assertTrue(archived)
        three = Segment._rule_grid()
        self.assertEqual(grid_problems(three, 3), [])
        self.assertEqual(set(three) | set(archived.mapped("code")), set(five))
        run = self._run()
        self.assertEqual(run.state, "done")
        for buyer in buyers:
            self.assertTrue(buyer.customer_segment_id.active, buyer.name)
            self.assertIn(buyer.rfm_r_score, (1, 2, 3))
        # The archived segments stay out of the grid the settings check.
        settings.create({"custseg_bins": 3, "custseg_churn_days": 400}).execute()
        self.assertEqual(
            self.env["ir.config_parameter"].get_param("custseg.churn_days"), "400"
        )

    def test_bins_are_refused_when_no_grid_can_follow(self):
        with self._refused(ValidationError, r"Score Bins \(1\) must be between 2"):
            self.env["res.config.settings"].create({"custseg_bins": 1}).execute()
        # A context key sent by a client does not skip the grid check.
        champions = self.segments["champions"]
        with self._refused(ValidationError, r"R4 F4 \(Champions, Loyal Customers\)"):
            champions.with_context(custseg_regrid=True).r_score_min = 4
        self.assertEqual(self.env["custseg.segment"]._score_bins(), 5)

    def test_unparsable_stored_setting_fails_the_run_clearly(self):
        self._customer("Somebody")
        self.env["ir.config_parameter"].set_param("custseg.horizon_days", "ninety")
        with (
            mute_logger(RUN_LOGGER),
            self.assertRaisesRegex(ValidationError, r"custseg\.horizon_days.*ninety"),
        ):
            self._run()
        self.assertIn("custseg.horizon_days", self._last_failed_run().error)

    # -------------------------------------------------------------- rule grids
    def test_invalid_rule_grids_are_refused(self):
        segments = self.env["custseg.segment"]
        with self._refused(
            ValidationError,
            r"more than one segment: R5 F5 \((Champions, VIP|VIP, Champions)\)",
        ):
            segments.create(
                {
                    "name": "VIP",
                    "code": "vip",
                    "r_score_min": 5,
                    "r_score_max": 5,
                    "f_score_min": 5,
                    "f_score_max": 5,
                }
            )
        with self._refused(ValidationError, r"Loyal Customers: a range cannot end"):
            self.segments["loyal"].write({"r_score_min": 4, "r_score_max": 3})
        with self._refused(ValidationError, r"Can't Lose Them: scores run from 1 to 5"):
            self.segments["cant_lose"].f_score_max = 6
        with self._refused(ValidationError, r"prospect segment"):
            segments.create({"name": "Leads", "code": "leads", "kind": "prospect"})

    def test_deleting_a_rule_segment_that_leaves_a_hole_is_refused(self):
        # No customer is in it, but the grid would miss its cells.
        self.assertFalse(self.segments["need_attention"].customer_count)
        with self._refused(ValidationError, r"Cells without a segment: R3 F3\."):
            self.segments["need_attention"].unlink()
        with self._refused(ValidationError, r"prospect segment"):
            self.segments["prospect"].unlink()
        # Deleting an archived segment leaves the grid as it is.
        spare = self.env["custseg.segment"].create(
            {"name": "Spare", "code": "spare", "kind": "rule", "active": False}
        )
        spare.unlink()
        self.assertFalse(spare.exists())

    def test_deleting_a_segment_still_in_use_is_refused(self):
        buyer = self._customer("Faithful")
        self._invoices([(buyer, self._days_ago(3), 100.0)])
        self._run()
        segment = buyer.customer_segment_id
        self.assertTrue(segment)
        buyer.action_archive()  # archived customers still count
        with self._refused(UserError, r"1 customers are still in the segments"):
            segment.unlink()
        self.assertTrue(segment.exists())

    # ---------------------------------------------------------------- currency
    def _rateless_company(self):
        company, currency = self._foreign_company("Segmentation Rateless Subsidiary")
        self.env["res.currency.rate"].search(
            [("currency_id", "=", currency.id)]
        ).unlink()
        return company, currency

    def test_invoice_in_a_currency_without_rate(self):
        company, currency = self._rateless_company()
        buyer = self._customer("Cross-border Buyer")
        self._invoices([(buyer, self._days_ago(10), 100.0)])
        self._run()
        before = self._partner_state()
        self._invoices([(buyer, self._days_ago(5), 100.0)], company=company)
        with (
            mute_logger(RUN_LOGGER),
            self.assertRaisesRegex(
                UserError,
                rf"No exchange rate to convert invoices into {self.currency.name}: "
                rf"{currency.name} \(company {company.name}\)",
            ),
        ):
            self._run()
        self.assertEqual(self._partner_state(), before)
        self.assertIn(currency.name, self._last_failed_run().error)
        # A rate shared by all companies (no company on the rate) is enough,
        # as it is for Odoo's own conversions.
        self.env["res.currency.rate"].create(
            {
                "currency_id": currency.id,
                "company_id": False,
                "name": "2020-01-01",
                "rate": 3.0,
            }
        )
        run = self._run()
        self.assertEqual(run.state, "done")
        self.assertAlmostEqual(buyer.rfm_monetary, 133.33)
        # A repeating decimal is rounded once: the same run again writes nothing.
        self.assertEqual(self._run().changed_count, 0)

    def test_branch_uses_the_rates_of_its_root_company(self):
        company, currency = self._rateless_company()
        self.env["res.currency.rate"].create(
            {
                "currency_id": currency.id,
                "company_id": self.company.id,
                "name": "2020-01-01",
                "rate": 4.0,
            }
        )
        branch = self.env["res.company"].create(
            {"name": "Segmentation Branch", "parent_id": self.company.id}
        )
        buyer = self._customer("Branch Buyer")
        self._invoices([(buyer, self._days_ago(5), 400.0)], company=company)
        run = self.env["custseg.run"].with_company(branch).run_segmentation(AS_OF)
        self.env.invalidate_all()
        self.assertEqual(run.company_id, branch)
        self.assertAlmostEqual(buyer.rfm_monetary, 100.0)

    # ---------------------------------------------------------------- partners
    def test_partners_merged_between_two_runs(self):
        keep = self._customer("Duplicate Ltd", email="dup@example.com")
        drop = self._customer("Duplicate Limited", email="dup@example.com")
        other = self._customer("Other Buyer")
        # Prospects in the baseline; buyers, with transitions, in the next run.
        self._run()
        self._invoices(
            [
                (keep, self._days_ago(100), 200.0),
                (drop, self._days_ago(10), 300.0),
                (drop, self._days_ago(40), 100.0),
                (other, self._days_ago(5), 50.0),
            ]
        )
        self._run()
        History = self.env["custseg.partner.history"]
        self.assertTrue(History.search([("partner_id", "=", drop.id)]))
        keep_state = self._partner_state()[keep.id]
        keep_offers = keep.recommendation_ids.mapped(lambda o: (o.rank, o.product_id))
        self.assertTrue(drop.recommendation_ids)

        # A user merges the duplicates with Odoo's merge wizard.
        self.env["base.partner.merge.automatic.wizard"].with_user(
            self.env.ref("base.user_admin")
        )._merge((keep | drop).ids, keep)
        self.assertFalse(drop.exists())
        # The survivor keeps its own figures, not a mix of both customers';
        # the next run recomputes it.
        self.assertEqual(self._partner_state()[keep.id], keep_state)
        keep.invalidate_recordset(["recommendation_ids"])
        self.assertEqual(
            keep.recommendation_ids.mapped(lambda o: (o.rank, o.product_id)),
            keep_offers,
        )
        self.assertEqual(len(History.search([("partner_id", "=", keep.id)])), 2)

        second = self._run()
        self.assertEqual(second.state, "done")
        self.assertEqual(second.partner_count, 2)
        self.assertEqual(keep.rfm_frequency, 3)
        self.assertAlmostEqual(keep.rfm_monetary, 600.0)
        self.assertEqual(keep.rfm_recency_days, 10)
        self.assertEqual(keep.first_purchase_date, self._days_ago(100))
        self.assertEqual(keep.value_tier, "key")

    def test_archived_partners_are_left_out(self):
        stays = self._customer("Stays")
        leaves = self._customer("Leaves")
        self._invoices(
            [(stays, self._days_ago(20), 100.0), (leaves, self._days_ago(10), 900.0)]
        )
        first = self._run()
        self.assertEqual(first.partner_count, 2)
        self.assertEqual(stays.value_tier, "ordinary")
        leaves.action_archive()
        frozen = self._partner_state()[leaves.id]
        self._invoices([(leaves, self._days_ago(1), 900.0)])
        second = self._run()
        # The archived customer is neither recomputed nor counted in the ranks.
        self.assertEqual(second.partner_count, 1)
        self.assertEqual(self._partner_state()[leaves.id], frozen)
        self.assertEqual(stays.value_tier, "key")
        # Back from the archive, the next run catches up.
        leaves.action_unarchive()
        self._run()
        self.assertEqual(leaves.rfm_frequency, 2)
        self.assertEqual(leaves.rfm_recency_days, 1)

    def test_posted_move_without_customer_counts_for_none(self):
        """A posted invoice whose customer was cleared in SQL (an import, a
        broken migration) is left out, as before; it does not fail the run."""
        buyer = self._customer("Buyer")
        kept, orphan = self._invoices(
            [(buyer, self._days_ago(20), 100.0), (buyer, self._days_ago(10), 50.0)]
        )
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE account_move SET partner_id = NULL, commercial_partner_id = NULL"
            " WHERE id = %s",
            [orphan.id],
        )
        self.env.invalidate_all()
        run = self._run()
        self.assertEqual(run.state, "done")
        self.assertEqual(buyer.rfm_frequency, 1)
        self.assertAlmostEqual(buyer.rfm_monetary, kept.amount_untaxed_signed)

    def test_company_without_invoices(self):
        buyer = self._customer("Buyer Elsewhere")
        self._run()  # the baseline: a prospect
        self._invoices([(buyer, self._days_ago(3), 100.0)])
        empty = self.env["res.company"].create(
            {"name": "Segmentation Empty Company", "currency_id": self.currency.id}
        )
        run = self.env["custseg.run"].with_company(empty).run_segmentation(AS_OF)
        self.env.invalidate_all()
        self.assertEqual(run.state, "done")
        self.assertEqual(run.company_id, empty)
        self.assertEqual(run.partner_count, 1)
        history = self.env["custseg.partner.history"].search([("run_id", "=", run.id)])
        self.assertEqual(history.company_id, empty)

    def test_database_without_customers(self):
        self.assertFalse(
            self.env["res.partner"].search_count([("customer_rank", ">", 0)])
        )
        run = self._run()
        self.assertEqual(run.state, "done")
        self.assertEqual(
            run.read(
                [
                    "partner_count",
                    "transaction_count",
                    "changed_count",
                    "history_count",
                    "cluster_count",
                ]
            )[0],
            {
                "id": run.id,
                "partner_count": 0,
                "transaction_count": 0,
                "changed_count": 0,
                "history_count": 0,
                "cluster_count": 0,
            },
        )
        self.assertFalse(run.line_ids)
        for metric in ("silhouette", "davies_bouldin", "ari_previous", "duration"):
            self.assertTrue(math.isfinite(run[metric]), metric)
        # And the same before any purchase ever: as of long ago.
        self.assertEqual(self._run(as_of=date(1990, 1, 1)).state, "done")

    def test_extreme_amounts(self):
        huge = self._customer("Huge Buyer")
        tiny = self._customer("Tiny Buyer")
        fraction = self._customer("Fraction Buyer")
        debtor = self._customer("Huge Refund")
        regulars = [self._customer(f"Regular {i}") for i in range(4)]
        self._invoices(
            [
                (huge, self._days_ago(3), 1e12),
                (huge, self._days_ago(30), 999_999_999_999.99),
                (tiny, self._days_ago(2), 0.01),
                (fraction, self._days_ago(2), 0.0001),
                (debtor, self._days_ago(60), 10.0),
                (debtor, self._days_ago(50), -1e12),
            ]
            + [
                (p, self._days_ago(5 + i), 100.0 * (i + 1))
                for i, p in enumerate(regulars)
            ]
        )
        run = self._run()
        self.assertEqual(run.state, "done")
        self.assertAlmostEqual(huge.rfm_monetary, 1_999_999_999_999.99, places=2)
        self.assertEqual(huge.value_tier, "key")
        self.assertEqual(huge.rfm_m_score, 5)
        self.assertEqual(tiny.value_tier, "small")
        self.assertAlmostEqual(tiny.rfm_monetary, 0.01)
        # 0.0001 rounds to nothing in the currency: no purchase, a prospect.
        self.assertEqual(fraction.lifecycle_stage, "prospect")
        self.assertEqual(fraction.rfm_monetary, 0.0)
        self.assertEqual(debtor.value_tier, "negative")
        self.assertAlmostEqual(debtor.rfm_monetary, 10.0 - 1e12, places=2)
        for partner in (huge, tiny, fraction, debtor, *regulars):
            with self.subTest(partner=partner.name):
                for field in ("purchase_probability", "predicted_clv", "rfm_monetary"):
                    self.assertTrue(math.isfinite(partner[field]), field)
                self.assertTrue(0.0 <= partner.purchase_probability <= 1.0)
                self.assertGreaterEqual(partner.predicted_clv, 0.0)
        self.assertEqual(self._run().changed_count, 0)
