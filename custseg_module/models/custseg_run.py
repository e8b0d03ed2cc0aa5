# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One segmentation run: SQL aggregate -> engine -> set-based write-back.

The whole run happens inside one savepoint of the caller's transaction, so every
partner keeps either all of its old figures or all of the new ones. A failed run
is recorded through a separate cursor, so the rollback does not erase it.
"""

import functools
import logging
import time
import traceback
from datetime import timedelta

import numpy as np
import pandas as pd
from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.sql_db import db_connect
from odoo.tools import SQL

from ..engine import segment_customers
from ..engine.recommend import purchase_pairs
from ..tools.copy_codec import CopyBinaryColumns
from ..tools.field_map import (
    FIELD_MAP,
    FIGURE_TABLE,
    PARTNER_TABLE,
    WIRE_TYPES,
    WRITTEN_FIELDS,
    fields_in,
    figure_of,
)
from ..tools.posted_moves import posted_customer_moves
from ..tools.run_lock import RUN_LOCK_KEY, bound_to_connection, lock_holder
from ..tools.run_result import RunResult, figures_of
from ..tools.selections import RUN_PHASES as PHASES
from ..tools.settings import check_settings
from ..tools.storable import storable_limit, unstorable
from ..tools.vacuum import vacuum_rewritten_tables
from ..tools.xid import XID_SPAN, written_since

_logger = logging.getLogger(__name__)

CRON_SERIALIZATION_RETRIES = 3
QUEUE_CRON_XMLID = "custseg_module.ir_cron_run_queued"
# work_mem of the write-back's joins and of the invoice lines' hash join.
WRITE_BACK_WORK_MEM = "256MB"
# parallel_tuple_cost of the invoice lines' read (PostgreSQL's default: 0.1).
LINES_PARALLEL_TUPLE_COST = "0.001"
# Recommendations are recomputed after this many days even when no invoice
# changed: the due dates and the lookback window move with the date.
RECOMMENDATION_MAX_AGE = 7
# Clusters are fitted anew after this many days and kept in between: a daily
# refit relabelled 3-7 % of customers a night at 1M (docs/performance.md).
CLUSTER_REFIT_DAYS = 30
# Customers locked per statement: a statement fails on any edit committed
# while it runs, and a short one seldom meets one (docs/performance.md).
LOCK_BATCH = 10000
# The key, in the commit's callback data, of the vacuum after a run.
VACUUM_MARKER = "custseg_vacuum_after_run"
# How long a write-back UPDATE waits for a row a user holds before it locks
# the free rows of its batch instead: below deadlock_timeout (1 s), so an
# editor waiting for a row the run wrote never makes a deadlock of it.
WRITE_LOCK_TIMEOUT = "200ms"

# One row of the aggregate in COPY's binary format: a field count, then each
# field's byte length and big-endian value. None can be NULL.
# One row of the invoice lines (see _invoice_lines_query).
LINES_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("partner_id_size", ">i4"),
        ("partner_id", ">i4"),
        ("product_id_size", ">i4"),
        ("product_id", ">i4"),
        ("day_size", ">i4"),
        ("day", ">i4"),
        ("quantity_size", ">i4"),
        ("quantity", ">f8"),
    ]
)
AGGREGATE_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("partner_id_size", ">i4"),
        ("partner_id", ">i4"),
        ("day_size", ">i4"),
        ("day", ">i4"),
        ("amount_size", ">i4"),
        ("amount", ">f8"),
    ]
)
# One row of the partners a run segments (see _phase_aggregate).
PARTNER_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("partner_id_size", ">i4"),
        ("partner_id", ">i4"),
        ("segment_id_size", ">i4"),
        ("segment_id", ">i4"),
    ]
)
MANAGER_GROUP = "custseg_module.group_custseg_manager"
# Customers named in an overflow error; the others are counted.
NAMED_CUSTOMERS = 5


def _whole_numbers(values, slice_size=1 << 22):
    """Whether every value is a whole number that int32 holds exactly; by
    slices, so that no temporary is as long as ``values``."""
    for start in range(0, len(values), slice_size):
        part = values[start : start + slice_size]
        if not (np.all(np.abs(part) < 2**31) and np.array_equal(part, np.trunc(part))):
            return False
    return True


def _returns_ids(method):
    """Over RPC, send the returned run as its ids (``[id]``): Odoo 18 does so
    for a method marked @api.returns, Odoo 19 (which has no such decorator)
    for any returned record. A record itself cannot be marshalled."""
    returns = getattr(api, "returns", None)
    return returns("self")(method) if returns else method


def _known(name, value):
    """``{name: value}``, or nothing when value is None (the column stays NULL)."""
    return {} if value is None else {name: value}


class CustsegRun(models.Model):
    _name = "custseg.run"
    _inherit = ["mail.thread", "custseg.run.quality"]
    _description = "Segmentation Run"
    _order = "id desc"
    _rec_names_search = ["as_of"]

    name = fields.Char(compute="_compute_name")
    as_of = fields.Date(
        required=True,
        readonly=True,
        help="The date the figures describe: invoices up to this date count.",
    )
    state = fields.Selection(
        [
            ("queued", "Queued"),
            ("running", "Running"),
            ("done", "Done"),
            ("failed", "Failed"),
        ],
        required=True,
        default="running",
        readonly=True,
    )
    start_datetime = fields.Datetime(
        string="Started", readonly=True, help="When the run started working."
    )
    end_datetime = fields.Datetime(
        string="Ended", readonly=True, help="When the run finished or failed."
    )
    duration = fields.Float(
        string="Duration (s)",
        readonly=True,
        digits=(16, 2),
        help="Seconds the run took, from reading invoices to the follow-ups.",
    )
    timings = fields.Json(readonly=True, help="Seconds spent in each phase of the run.")
    user_id = fields.Many2one(
        "res.users", default=lambda self: self.env.user, readonly=True, index=True
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        readonly=True,
        index=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    transaction_count = fields.Integer(
        string="Purchase Days Read",
        readonly=True,
        help="Rows of the SQL aggregate: one per customer and invoice date.",
    )
    partner_count = fields.Integer(
        string="Partners Processed",
        readonly=True,
        help="Customers and prospects the run computed figures for.",
    )
    changed_count = fields.Integer(
        string="Partners Changed",
        readonly=True,
        help="Customers whose stored figures this run changed; the others "
        "were left untouched.",
    )
    history_count = fields.Integer(
        string="Transitions Logged",
        readonly=True,
        help="Customers who changed segment or stage, each logged in their "
        "segment history.",
    )
    recommendation_date = fields.Date(
        readonly=True,
        help="The date the recommendations in place after this run were computed "
        "for: a run with no invoice changed keeps them for up to 7 days.",
    )
    invoice_watermark = fields.Char(
        readonly=True,
        help="The invoices this run's recommendations were computed from (last "
        "change, newest invoice, lookback): a run with the same one skips them.",
    )
    deferred_count = fields.Integer(
        string="Customers Deferred",
        readonly=True,
        help="Customers whose record a user was editing while this run wrote: "
        "they keep all of their previous figures, and the next run updates them.",
    )
    baseline = fields.Boolean(
        string="Baseline Run",
        readonly=True,
        help="The first completed run: it gives every customer its first segment, "
        "which is no transition, so it logs no history and schedules follow-ups "
        "only if the setting Follow-ups on the First Run is on.",
    )
    activity_created_count = fields.Integer(
        string="Follow-ups Created",
        readonly=True,
        help="Follow-ups this run scheduled (see custseg.followup).",
    )
    activity_replaced_count = fields.Integer(
        string="Follow-ups Replaced",
        readonly=True,
        help="Open follow-ups of a previous segment this run replaced.",
    )
    activity_withdrawn_count = fields.Integer(
        string="Follow-ups Withdrawn",
        readonly=True,
        help="Open follow-ups this run deleted because their customer moved to "
        "a segment without automatic follow-ups.",
    )
    activity_not_assigned_count = fields.Integer(
        string="Follow-ups Not Assigned",
        readonly=True,
        help="Customers due a follow-up that got none because neither their "
        "salesperson, the segment owner nor the default follow-up user of the "
        "settings is an active internal user.",
    )
    control_treated_count = fields.Integer(
        string="Entrants Treated",
        readonly=True,
        help="Customers entering a segment with follow-ups who were drawn for "
        "the follow-up (see Follow-up Experiment Entries for each one and why).",
    )
    control_held_out_count = fields.Integer(
        string="Entrants Held Out",
        readonly=True,
        help="Customers entering a segment with follow-ups who were held out as "
        "its control group: no follow-up for 90 days.",
    )
    silhouette = fields.Float(
        readonly=True,
        digits=(16, 4),
        help="How clearly the customer clusters stand apart, from -1 to 1: "
        "above 0.5 they are well separated, near 0 they overlap.",
    )
    davies_bouldin = fields.Float(
        string="Davies-Bouldin",
        readonly=True,
        digits=(16, 4),
        help="How compact the clusters are against how far apart: lower is "
        "better, 0 is ideal.",
    )
    cluster_count = fields.Integer(
        string="Chosen k",
        readonly=True,
        help="Number of customer clusters the run chose, the one that "
        "separates customers best.",
    )
    cluster_model = fields.Json(readonly=True, copy=False)
    cluster_fitted_on = fields.Date(
        string="Clusters Fitted On",
        readonly=True,
        copy=False,
        help="As-of date of the run that fitted the clusters. Later runs assign "
        "customers to the same clusters, so that labels do not shuffle from one "
        "night to the next, and fit them anew after 30 days or when the "
        "clustering settings change.",
    )
    cluster_settings = fields.Char(readonly=True, copy=False)
    ari_previous = fields.Float(
        string="ARI vs Previous",
        readonly=True,
        digits=(16, 4),
        help="How similar the segments are to the previous run's, from 0 "
        "(unrelated) to 1 (nobody moved). Empty when there is no previous run.",
    )
    likelihood_method = fields.Char(
        readonly=True,
        help="How the purchase likelihood was computed: "
        "logistic_regression+bg_nbd learns from your customers' own past "
        "(calibrated); bg_nbd is the simpler repeat-purchase model used when "
        "history is too thin or the learned model did no better than recency "
        "alone (see Model quality).",
    )
    line_ids = fields.One2many("custseg.run.line", "run_id", readonly=True)
    error = fields.Text(readonly=True)
    progress_ids = fields.One2many(
        "custseg.run.progress", "run_id", string="Phases Reported", readonly=True
    )
    progress = fields.Float(
        compute="_compute_progress",
        help="Share of the run's phases done, while it runs in the background.",
    )
    progress_phase = fields.Selection(
        PHASES,
        string="Last Phase Done",
        compute="_compute_progress",
    )

    @api.depends("as_of", "state")
    def _compute_name(self):
        for run in self:
            run.name = self.env._(
                "Run %(id)s of %(as_of)s", id=run.id or "", as_of=run.as_of or ""
            )

    @api.depends("state", "progress_ids")
    def _compute_progress(self):
        for run in self:
            last = run.progress_ids[:1]
            run.progress_phase = last.phase
            if run.state == "done":
                run.progress = 100.0
            elif last.phase_count:
                run.progress = 100.0 * last.done_count / last.phase_count
            else:
                run.progress = 0.0

    # ------------------------------------------------------------------ entry points
    @_returns_ids
    @api.model
    def run_segmentation(self, as_of=None):
        """Recompute every customer's segmentation from posted invoices.

        Managers only. Returns the run record (over XML-RPC or JSON-RPC: its id
        in a one-element list, ``[run_id]``); raises UserError when another run
        holds the lock, and re-raises any failure after recording the run failed.
        """
        self._check_may_run()
        return self._run_segmentation(as_of)

    @api.model
    def _run_segmentation(self, as_of=None, queued_run=None):
        """The run itself, on a new run record, or on ``queued_run`` when a cron
        worker runs a queued run (see _cron_run_queued)."""
        as_of = fields.Date.to_date(as_of) or fields.Date.context_today(self)
        if not self._try_lock():
            raise UserError(self._lock_refusal())
        # Odoo killed mid-statement must not leave the lock held for long.
        bound_to_connection(self.env.cr)
        # sudo: the access check above is the gate; the run then reads invoices
        # and writes partners of every salesperson.
        runner = self.sudo()
        started, clock = fields.Datetime.now(), time.monotonic()
        progress = {"partner_count": 0, "transaction_count": 0}
        first_error = None
        try:
            with self.env.cr.savepoint():
                try:
                    if queued_run:
                        run = runner.browse(queued_run.id)
                        run.start_datetime = started
                    else:
                        run = runner.create({"as_of": as_of, "start_datetime": started})
                    run._execute(progress, clock)
                except Exception as error:
                    first_error = error
                    raise
        except Exception as caught:
            # When PostgreSQL ended the connection, rolling the savepoint back
            # fails too ("cursor already closed"): the first error is the cause.
            error = first_error or caught
            failed = runner._record_failure(
                as_of, started, clock, progress, error, queued_run
            )
            # The cron and Odoo's request handler retry a serialization failure:
            # no error yet, they report it if it persists.
            retried = isinstance(error, pg_errors.SerializationFailure)
            (_logger.warning if retried else _logger.error)(
                "Segmentation run %s failed: %s", failed.id, error
            )
            if error is caught:
                raise
            # The rollback's own error stays attached as the cause.
            raise error from caught
        self._vacuum_after_commit()
        return run.with_env(self.env)

    def _vacuum_after_commit(self):
        """Once this transaction commits, vacuum the tables the run rewrote
        if autovacuum will not (tools/vacuum.py): once per transaction."""
        postcommit = self.env.cr.postcommit
        if not postcommit.data.get(VACUUM_MARKER):
            postcommit.data[VACUUM_MARKER] = True
            postcommit.add(
                functools.partial(vacuum_rewritten_tables, self.env.cr.dbname)
            )

    @api.model
    def _cron_run_segmentation(self):
        """Daily cron. Never raises: a failure is logged and recorded on the run,
        so the cron is not deactivated; serialization failures are retried."""
        # sudo: the scheduler, not a user, starts this run.
        runs = self.sudo()
        for attempt in range(1, CRON_SERIALIZATION_RETRIES + 1):
            if not runs._try_lock():
                _logger.info("Segmentation cron skipped: a run is in progress.")
                return
            try:
                runs.run_segmentation()
                return
            except pg_errors.SerializationFailure:
                _logger.warning(
                    "Segmentation cron hit a serialization failure (attempt %s/%s)",
                    attempt,
                    CRON_SERIALIZATION_RETRIES,
                )
                self.env.cr.rollback()
            except Exception:
                _logger.exception("Segmentation cron run failed")
                return
        _logger.error(
            "Segmentation cron gave up after %s serialization failures; each "
            "attempt is recorded as a failed run.",
            CRON_SERIALIZATION_RETRIES,
        )

    def action_recompute_now(self):
        """Queue a run of today for a cron worker and show it: the button
        returns at once, the run form shows Queued, Running, then Done."""
        return self._queue_run()._action_open_form()

    @api.model
    def _queue_run(self):
        self._check_may_run()
        # sudo: the access check above is the gate (runs are not writable).
        runs = self.sudo()
        run = runs.search([("state", "in", ("queued", "running"))], limit=1)
        if not run:
            run = runs.create(
                {"as_of": fields.Date.context_today(self), "state": "queued"}
            )
        # sudo: managers may queue a run, not edit scheduled actions.
        self.env.ref(QUEUE_CRON_XMLID).sudo()._trigger()
        return run.with_env(self.env)

    @api.model
    def _cron_run_queued(self):
        """Cron worker: run the queued runs, oldest first. Each is marked Running
        and committed first, so the form shows it; its write-back then runs in
        one transaction, as every run. Never raises."""
        # This job's cursor is the cron worker's own (ir.cron opens one per job):
        # committing here is what shows Running to the user and keeps each run's
        # outcome when the next one fails (19.0's ir.cron._commit_progress commits too).
        # pylint: disable=invalid-commit
        cron = self.env.ref(QUEUE_CRON_XMLID)
        # sudo: the scheduler, not a user, runs the queue.
        queued = self.sudo().search([("state", "=", "queued")], order="id")
        for run in queued:
            run.write({"state": "running", "start_datetime": fields.Datetime.now()})
            self.env.cr.commit()
            # sudo: the manager who queued it was allowed to start it; the run
            # keeps them as its user and their company.
            runner = run.with_user(run.user_id).with_company(run.company_id).sudo()
            try:
                runner.with_context(custseg_run_progress=True)._run_segmentation(
                    run.as_of, queued_run=run
                )
            except UserError as error:
                self.env.cr.rollback()
                if not self._try_lock():
                    # Another run holds the lock: this one waits its turn.
                    run.state = "queued"
                    cron._trigger(fields.Datetime.now() + timedelta(minutes=1))
                    self.env.cr.commit()
                    return
                _logger.error("Queued segmentation run %s failed: %s", run.id, error)
            except Exception:
                _logger.exception("Queued segmentation run %s failed", run.id)
                self.env.cr.rollback()
            self.env.cr.commit()

    def _action_open_form(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": "custseg.run",
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    # ------------------------------------------------------------------ plumbing
    @api.model
    def _check_may_run(self):
        """Runs are started by segmentation managers and the scheduler only;
        nobody creates a run record by hand (no create right on runs)."""
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only segmentation managers can run the segmentation.")
            )

    @api.model
    def _lock_refusal(self):
        """Why a run cannot start now: another one holds the lock, maybe the
        last statement of a run whose Odoo process died."""
        holder = lock_holder(self.env.cr)
        return self.env._(
            "A segmentation run is already in progress (database session "
            "%(session)s, for %(seconds)s s). Wait for it to finish, then look "
            "at Customer Segmentation › Runs. If Odoo was stopped or restarted "
            "during a run, that run may still be finishing its last statement "
            "in the database: PostgreSQL cancels it within seconds and releases "
            "the lock, then you can run again.",
            session=holder[0] if holder else "?",
            seconds=holder[1] if holder and holder[1] is not None else "?",
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_latest_done_run(self):
        """Whether the next run is the baseline (no transitions, no follow-ups)
        and the date recency counts from depend on the completed runs: the
        latest one cannot be deleted."""
        # sudo: the latest completed run of any company decides, also one the
        # deleting user cannot see.
        latest = self.sudo().search([("state", "=", "done")], limit=1)
        if latest and latest.id in self.ids:
            raise UserError(
                self.env._(
                    "%(run)s is the latest completed run and cannot be deleted: "
                    "customers' recency counts from its date, and without any "
                    "completed run the next run would be a baseline again (no "
                    "transitions logged, no follow-ups for customers who move). "
                    "Delete older or failed runs only.",
                    run=latest.name,
                )
            )

    @api.model
    def _try_lock(self):
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s)", RUN_LOCK_KEY))
        return self.env.cr.fetchone()[0]

    @api.model
    def _record_failure(self, as_of, started, clock, progress, error, run=None):
        """Record a failed run in its own transaction, which the caller's
        rollback cannot erase: a new run record, or ``run``, a queued run."""
        message = "".join(traceback.format_exception_only(error)).strip()
        values = {
            "as_of": as_of,
            "state": "failed",
            "start_datetime": started,
            "end_datetime": fields.Datetime.now(),
            "duration": time.monotonic() - clock,
            "error": message,
            "user_id": self.env.uid,
            "company_id": self.env.company.id,
            **progress,
        }
        with self.env.registry.cursor() as cr:
            runs = self.with_env(self.env(cr=cr))
            if run:
                failed = runs.browse(run.id)
                failed.write(values)
            else:
                failed = runs.create(values)
            failed_id = failed.id
        return self.browse(failed_id)

    def _segmentation_config(self):
        return self.env["res.config.settings"]._custseg_engine_config()

    def _execute(self, progress, clock):
        self.ensure_one()
        # Every custseg.* parameter, before any work: a bad one fails now,
        # named, rather than after the aggregate and the engine.
        check_settings(self.env)
        config = self._segmentation_config()
        timings = {}
        phases = len(PHASES)
        # Only a queued run's record is committed, so visible to another
        # transaction; the others finish before anyone could look.
        report = self.env.context.get("custseg_run_progress")

        def timed(name, done, method, *args):
            start = time.monotonic()
            result = method(*args)
            timings[name] = round(time.monotonic() - start, 3)
            if report:
                self.env["custseg.run.progress"]._report(self, name, done, phases)
            return result

        # A customer's first segment is no transition: nothing to log or follow
        # up on a million customers at once (README, Performance).
        baseline = not self.search_count([("state", "=", "done")], limit=1)
        transactions, partners, previous = timed("aggregate", 1, self._phase_aggregate)
        progress["transaction_count"] = len(transactions)
        result = timed(
            "engine", 2, self._phase_engine, transactions, partners, previous, config
        )
        progress["partner_count"] = len(result)
        # Before the follow-ups: their notes word each customer's why from it.
        self._write_quality_card(result.attrs)
        # Not held through the recommendations' peak (the partners and, from
        # the second night on, the previous segments: arrays of a million).
        del transactions, partners, previous
        # Profit before the write-back: with the profit basis it sets the tiers.
        timed("profit", 3, self._phase_profit, result, config)
        # The slowest phase depends on the invoice lines and, slowly, on the
        # date: a run with no invoice posted, changed or cancelled since the
        # last one keeps its recommendations and the products of the segment
        # profiles, for up to RECOMMENDATION_MAX_AGE days
        # (docs/recommendations.md). It runs before the write-back, which
        # locks customers' rows until the run commits: editors wait for the
        # write-back and what follows, not for this.
        watermark = self._invoice_watermark(config.lookback_days)
        kept_from = self._kept_recommendations(watermark)
        purchases = timed(
            "recommendations",
            4,
            self._phase_recommendations,
            result,
            config.lookback_days,
            not kept_from,
        )
        result_table, changed, deferred = timed(
            "write_back", 5, self._phase_write_back, result
        )
        history = timed("history", 6, self._phase_history, result_table, baseline)
        timed("segment_pnl", 7, self._phase_segment_pnl, config)
        timed("segment_profiles", 8, self._phase_segment_profiles, result, purchases)
        del purchases
        followups = timed(
            "activities", 9, self._phase_activities, result_table, baseline
        )
        timings["total"] = round(time.monotonic() - clock, 3)
        quality = result.attrs.get("quality", {})
        self.write(
            {
                **progress,
                "state": "done",
                "end_datetime": fields.Datetime.now(),
                "duration": time.monotonic() - clock,
                "timings": timings,
                "baseline": baseline,
                "invoice_watermark": watermark,
                "recommendation_date": kept_from or self.as_of,
                "changed_count": changed,
                "deferred_count": deferred,
                "history_count": history,
                "activity_created_count": followups["created"],
                "activity_replaced_count": followups["replaced"],
                "activity_withdrawn_count": followups["withdrawn"],
                "activity_not_assigned_count": followups["not_assigned"],
                "control_treated_count": followups["treated"],
                "control_held_out_count": followups["held_out"],
                "silhouette": quality.get("silhouette") or 0.0,
                "davies_bouldin": quality.get("davies_bouldin") or 0.0,
                "cluster_count": quality.get("n_clusters") or 0,
                "likelihood_method": quality.get("likelihood_method"),
                # Left NULL without a previous run: no misleading 0.00.
                **_known("ari_previous", quality.get("ari_previous")),
            }
        )
        self._write_lines(result_table)
        if followups["not_assigned"]:
            self._warn_not_assigned(followups["not_assigned"])
        # Recency counts from the latest done run: this one, from now on.
        self.env["res.partner"].invalidate_model(["rfm_recency_days"])

    # ------------------------------------------------------------------ phases
    def _phase_aggregate(self):
        """Posted customer invoices and refunds per commercial partner and
        invoice date, untaxed, signed, in the run company's currency (one
        query, :meth:`_aggregate_query`); the partners to segment, an array;
        their previous segments, a frame of one categorical column."""
        self.env.flush_all()
        self._check_rates()
        query = self.env.cr.mogrify(self._aggregate_query())
        rows = CopyBinaryColumns(
            AGGREGATE_ROW,
            {"partner_id": np.int64, "day": np.int64, "amount": np.float64},
        )
        # JIT compiling this streaming aggregate costs more than it saves
        # (about 1 s of 6.6 s at 10M invoices).
        previous_jit = self._set_local_setting("jit", "off")
        # Binary: fixed-width rows numpy reads in batches, where text needed
        # PostgreSQL to print and pandas to parse 8.5M rows at 1M customers.
        self.env.cr.copy_expert(
            b"COPY (" + query + b") TO STDOUT WITH (FORMAT binary)", rows
        )
        self._set_local_setting("jit", previous_jit)
        columns = rows.result()
        transactions = pd.DataFrame(
            {
                "partner_id": columns["partner_id"],
                "date": pd.to_datetime(columns.pop("day"), unit="D"),
                "amount": columns["amount"],
            },
            copy=False,
        )
        del columns

        # Customers without invoices become prospects; partners segmented before
        # are included so that a lapsed, cancelled or merged history is reset.
        # Binary, as arrays: a million rows fetched as tuples, with a string
        # per segment, stayed in the process's memory through the
        # recommendations' peak (223 MB at 1M, docs/performance.md).
        rows = CopyBinaryColumns(
            PARTNER_ROW, {"partner_id": np.int64, "segment_id": np.int64}
        )
        self.env.cr.copy_expert(
            b"""COPY (
                SELECT p.id, COALESCE(p.customer_segment_id, 0)
                  FROM res_partner p
                 WHERE p.active
                   AND p.id = p.commercial_partner_id
                   AND (p.customer_rank > 0 OR p.customer_segment_id IS NOT NULL)
            ) TO STDOUT WITH (FORMAT binary)""",
            rows,
        )
        columns = rows.result()
        partners = columns["partner_id"]
        segmented = columns["segment_id"] > 0
        self.env.cr.execute("SELECT id, code FROM custseg_segment")
        codes = dict(self.env.cr.fetchall())
        previous = pd.DataFrame(
            {
                "segment": pd.Series(columns["segment_id"][segmented])
                .map(codes)
                .astype("category")
                .to_numpy()
            },
            index=pd.Index(partners[segmented], name="partner_id"),
        )
        return transactions, partners, previous

    def _aggregate_query(self):
        """The aggregate's SQL, one row per (commercial partner, company, invoice
        date) with columns ``partner_id`` (int4), ``day`` (int4, days since
        1970-01-01) and ``amount`` (float8, in the run company's currency).
        Override it to add another source, e.g. Point of Sale orders, with a
        ``UNION ALL`` of rows of the same three types (the binary COPY reads
        exactly these, see ``AGGREGATE_ROW``)."""
        # Every company's invoices count, as the aggregate below reads them
        # all, also those of companies the user who started the run cannot see.
        self.env.cr.execute(
            """
            SELECT COALESCE(array_agg(id) FILTER (WHERE currency_id = %(currency)s),
                            '{}'),
                   COALESCE(array_agg(id) FILTER (WHERE currency_id <> %(currency)s),
                            '{}')
              FROM res_company
            """,
            {"currency": self.company_id.currency_id.id},
        )
        same_currency, other_currency = self.env.cr.fetchone()
        # What both company groups count; the partial index's own predicate.
        counted = SQL(
            "%s AND m.invoice_date <= %s AND m.commercial_partner_id IS NOT NULL",
            posted_customer_moves("m"),
            self.as_of,
        )
        return SQL(
            """
            WITH rate AS (
                -- The rates Odoo uses for the run company: its root company's
                -- (a branch has none of its own), else the shared ones.
                SELECT r.currency_id, r.name, r.rate
                  FROM res_currency_rate r
                 WHERE r.currency_id <> %(currency)s
                   AND (r.company_id = %(root)s
                        OR (r.company_id IS NULL AND NOT EXISTS (
                            SELECT 1 FROM res_currency_rate own
                             WHERE own.currency_id = r.currency_id
                               AND own.company_id = %(root)s)))
            ),
            company_rate AS (
                -- Each foreign company currency's rate in the run company, valid
                -- from its date until the next one (the first one also before).
                SELECT r.currency_id,
                       CASE WHEN LAG(r.name) OVER w IS NULL THEN DATE '0001-01-01'
                            ELSE r.name END AS valid_from,
                       COALESCE(LEAD(r.name) OVER w, DATE '9999-12-31') AS valid_to,
                       r.rate
                  FROM rate r
                WINDOW w AS (PARTITION BY r.currency_id ORDER BY r.name)
            )
            -- One streaming sum per company (custseg_account_move_company_day_idx,
            -- in company, partner, date order): the companies in the run currency
            -- need no conversion, the others join their rates. A customer of
            -- two companies gets a row per company and day: the engine sums them.
            -- Archived customers are dropped after the sums, a hash anti-join
            -- with the few archived partners that keeps both scans streaming;
            -- a move without a customer (written around the ORM) counts for none.
            SELECT a.partner_id, a.day, a.amount
              FROM (
                SELECT m.commercial_partner_id AS partner_id,
                       m.invoice_date - DATE '1970-01-01' AS day,
                       COALESCE(SUM(m.amount_untaxed_signed::float8), 0) AS amount
                  FROM account_move m
                 WHERE %(counted)s
                   AND m.company_id = ANY(%(same_currency)s)
                 GROUP BY m.company_id, m.commercial_partner_id, m.invoice_date
                UNION ALL
                SELECT m.commercial_partner_id,
                       m.invoice_date - DATE '1970-01-01',
                       COALESCE(SUM(m.amount_untaxed_signed::float8
                                    / COALESCE(cr.rate, 1.0)::float8), 0)
                  FROM account_move m
                  JOIN res_company c ON c.id = m.company_id
                  LEFT JOIN company_rate cr
                    ON cr.currency_id = c.currency_id
                   AND m.invoice_date >= cr.valid_from AND m.invoice_date < cr.valid_to
                 WHERE %(counted)s
                   AND m.company_id = ANY(%(other_currency)s)
                 GROUP BY m.company_id, m.commercial_partner_id, m.invoice_date
              ) a
             WHERE NOT EXISTS (SELECT 1 FROM res_partner cp
                                WHERE cp.id = a.partner_id AND NOT cp.active)
            """,
            root=self.company_id.root_id.id,
            currency=self.company_id.currency_id.id,
            counted=counted,
            same_currency=same_currency,
            other_currency=other_currency,
        )

    def _check_rates(self):
        """Refuse to guess: a company whose currency has no rate in the run
        company (its root company's or a shared one, as Odoo reads them) would
        otherwise be converted at 1:1."""
        self.env.cr.execute(
            SQL(
                """
            SELECT DISTINCT cur.name, c.name
              FROM account_move m
              JOIN res_company c ON c.id = m.company_id
              JOIN res_currency cur ON cur.id = c.currency_id
             WHERE %(posted)s
               AND c.currency_id <> %(currency)s
               AND NOT EXISTS (
                   SELECT 1 FROM res_currency_rate r
                    WHERE r.currency_id = c.currency_id
                      AND (r.company_id = %(root)s OR r.company_id IS NULL))
                """,
                posted=posted_customer_moves("m"),
                root=self.company_id.root_id.id,
                currency=self.company_id.currency_id.id,
            )
        )
        missing = self.env.cr.fetchall()
        if missing:
            raise UserError(
                self.env._(
                    "No exchange rate to convert invoices into %(currency)s: "
                    "%(missing)s. Add the rates in Accounting › Configuration › "
                    "Currencies for company %(company)s, then run again.",
                    currency=self.company_id.currency_id.name,
                    missing=", ".join(
                        f"{cur} (company {comp})" for cur, comp in missing
                    ),
                    company=self.company_id.name,
                )
            )

    def _phase_engine(self, transactions, partners, previous, config):
        kept = self._kept_cluster_model(config)
        result = segment_customers(
            transactions,
            self.as_of,
            config=config,
            previous=previous if len(previous) else None,
            partners=partners,
            cluster_model=kept.cluster_model if kept else None,
        )
        # The text columns (segment, tier, stage, RFM code, cluster) as
        # categories: a handful of values on every customer, 340 MB as
        # strings at 1M customers, held through the recommendations' peak.
        for column in result.columns:
            if pd.api.types.is_string_dtype(result[column]):
                result[column] = result[column].astype("category")
        model = result.attrs.get("cluster_model")
        self.write(
            {
                "cluster_model": model or False,
                "cluster_fitted_on": (kept.cluster_fitted_on if kept else self.as_of)
                if model
                else False,
                "cluster_settings": self._cluster_settings(config) if model else False,
            }
        )
        return result

    @api.model
    def _cluster_settings(self, config):
        """What a fit depends on besides the data: a change refits."""
        return repr((config.k_min, config.k_max, config.lookback_days))

    def _kept_cluster_model(self, config):
        """The latest done run whose cluster model this run keeps: fitted
        with the same settings, at most CLUSTER_REFIT_DAYS before this run's
        as-of date and not after it. An empty recordset: fit anew."""
        if not config.clustering:
            return self.browse()
        latest = self.search(
            [("state", "=", "done"), ("id", "!=", self.id)],
            order="end_datetime desc, id desc",
            limit=1,
        )
        fitted = latest.cluster_fitted_on
        if (
            not latest.cluster_model
            or latest.cluster_settings != self._cluster_settings(config)
            or not fitted
            or not 0 <= (self.as_of - fitted).days < CLUSTER_REFIT_DAYS
        ):
            return self.browse()
        return latest

    def _phase_write_back(self, result):
        """Load the result (a RunResult, returned), then write the customers
        whose stored values differ: their res_partner rows (commercial partner
        and contacts, one UPDATE) and their figure row (:meth:`_write_figures`).
        A customer whose row a user holds is deferred: it keeps all of its old
        values and the next run writes it. Returns (result table, changed,
        deferred)."""
        # The raw UPDATE must see every pending ORM write (a segment locked by
        # hand), and no pending write may land on top of it afterwards.
        self.env.flush_all()
        segments = self.env["custseg.segment"].with_context(active_test=False)
        segment_ids = {s.code: s.id for s in segments.search([("kind", "=", "rule")])}
        prospect = self.env["custseg.segment"]._prospect_segment()
        segment_ids["prospect"] = prospect.id
        columns, labels = self._wire_columns(result, segment_ids)
        # With the default 4 MB, joining a million rows with res_partner
        # spills to disk in 64 batches.
        previous_work_mem = self._set_local_setting("work_mem", WRITE_BACK_WORK_MEM)
        table = RunResult(self.env.cr)
        table.load(columns, labels)
        del columns
        deferred = self._write_partners(table)
        self._write_figures(table)
        self._set_local_setting("work_mem", previous_work_mem)
        self.env.cr.execute(SQL("SELECT COUNT(*) FROM %s WHERE changed", table.table))
        return table, self.env.cr.fetchone()[0], deferred

    def _write_partners(self, table):
        """Write the res_partner rows whose stored values differ, each
        customer (commercial partner and contacts) all or nothing; remove
        from ``table`` the customers one of whose rows a user holds or
        changed since the run began, and return how many.

        Locking a row changed since the run's snapshot raises a
        serialization failure, so those customers are found first
        (:meth:`_edited_since_snapshot`) and left out. The rest are written
        in batches of LOCK_BATCH customers, one UPDATE each, which waits at
        most WRITE_LOCK_TIMEOUT for a row a user holds: such a batch is
        locked instead, SKIP LOCKED skipping the held rows, and its
        customers whose rows were all locked are written at the end. Locking
        every row before writing it cost a pass of its own (38.7 of a 90.2 s
        write-back at 1M customers, docs/performance.md, Round 13). A batch
        that fails all the same (an edit committed since the check) is
        retried without the customers a new check finds, or, when it finds
        none of them (a row deleted, say), split in halves down to the one
        customer it defers."""
        cr = self.env.cr
        self._collect_rows(table)
        edited = set(self._edited_since_snapshot())
        deferred = set(edited)
        cr.execute(
            "SELECT ARRAY(SELECT DISTINCT partner_id FROM custseg_run_rows"
            " ORDER BY partner_id)"
        )
        customers = [c for c in cr.fetchone()[0] if c not in edited]
        pending = [
            (customers[start : start + LOCK_BATCH], self._update_rows)
            for start in range(0, len(customers), LOCK_BATCH)
        ]
        held = set()
        previous_timeout = self._set_local_setting("lock_timeout", WRITE_LOCK_TIMEOUT)
        while pending:
            batch, write = pending.pop()
            try:
                with cr.savepoint(flush=False):
                    # Expected and handled below: not an error for the log.
                    cr.execute(write(batch), log_exceptions=False)
            except (pg_errors.LockNotAvailable, pg_errors.DeadlockDetected):
                # A user holds a row of the batch: lock what is free instead.
                pending.append((batch, self._lock_free_rows))
                held.update(batch)
            except pg_errors.SerializationFailure:
                newly = set(self._edited_since_snapshot()) - edited
                edited |= newly
                deferred |= newly
                if newly.intersection(batch):
                    pending.append(([c for c in batch if c not in newly], write))
                elif len(batch) > 1:
                    half = len(batch) // 2
                    pending += [(batch[:half], write), (batch[half:], write)]
                else:
                    deferred |= set(batch)
        self._set_local_setting("lock_timeout", previous_timeout)
        if held:
            cr.execute(
                """
                SELECT ARRAY(SELECT DISTINCT partner_id FROM custseg_run_rows
                              WHERE partner_id = ANY(%s) AND NOT locked)
                """,
                [sorted(held)],
            )
            deferred |= set(cr.fetchone()[0])
            # The customers of those batches whose rows were all locked.
            cr.execute(self._update_rows(sorted(held - deferred)))
        if deferred:
            cr.execute(
                SQL(
                    "DELETE FROM %s WHERE partner_id = ANY(%s)",
                    table.table,
                    sorted(deferred),
                )
            )
            _logger.info(
                "Segmentation run %s deferred %s customers", self.id, len(deferred)
            )
        self.env["res.partner"].invalidate_model(WRITTEN_FIELDS)
        return len(deferred)

    def _collect_rows(self, table):
        """custseg_run_rows: each res_partner row (``id``) whose stored
        values differ from its customer's (``partner_id``) new ones, with
        those values and ``locked`` (false)."""
        cr = self.env.cr
        on_partner = fields_in(PARTNER_TABLE)
        cr.execute("DROP TABLE IF EXISTS custseg_run_rows")
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE custseg_run_rows ON COMMIT DROP AS
                SELECT p.id, t.partner_id, t.segment_id, %(new)s, false AS locked
                  FROM res_partner p
                  JOIN %(table)s t ON p.commercial_partner_id = t.partner_id
                 WHERE (p.customer_segment_id, %(old)s)
                       IS DISTINCT FROM (t.segment_id, %(new)s)
                """,
                table=table.table,
                old=figures_of("p", on_partner),
                new=figures_of("t", on_partner),
            )
        )
        cr.execute("CREATE INDEX ON custseg_run_rows (partner_id)")
        cr.execute("CREATE INDEX ON custseg_run_rows (id)")
        cr.execute("ANALYZE custseg_run_rows")

    def _update_rows(self, customers):
        """The UPDATE of the res_partner rows of custseg_run_rows of
        ``customers`` (commercial partner ids)."""
        on_partner = fields_in(PARTNER_TABLE)
        # Derived figures, not an edit: like Odoo's own customer_rank
        # (_increase_rank), write_uid and write_date are left alone, so that
        # syncs by write_date do not pick up every customer every night, and
        # no foreign-key check on write_uid runs per row (docs/performance.md).
        return SQL(
            """
            UPDATE res_partner p
               SET customer_segment_id = r.segment_id,
                   segment_date = CASE
                       WHEN p.customer_segment_id IS NOT DISTINCT FROM r.segment_id
                       THEN p.segment_date ELSE %(as_of)s END,
                   (%(figures)s) = (%(new)s)
              FROM custseg_run_rows r
             WHERE p.id = r.id AND r.partner_id = ANY(%(customers)s)
            """,
            as_of=self.as_of,
            figures=SQL(", ").join(SQL.identifier(name) for name in on_partner),
            new=figures_of("r", on_partner),
            customers=customers,
        )

    def _lock_free_rows(self, customers):
        """The statement locking the rows of custseg_run_rows of
        ``customers`` that no one holds (marked ``locked``)."""
        return SQL(
            """
            WITH locked AS (
                SELECT p.id FROM res_partner p
                  JOIN custseg_run_rows r ON r.id = p.id
                 WHERE r.partner_id = ANY(%s)
                   FOR NO KEY UPDATE OF p SKIP LOCKED)
            UPDATE custseg_run_rows r SET locked = true
              FROM locked l WHERE l.id = r.id
            """,
            customers,
        )

    def _edited_since_snapshot(self):
        """The customers of custseg_run_rows one of whose rows another
        transaction changed after this transaction's snapshot, a list. A
        second connection, with a snapshot of now, lists the rows whose
        last writer started after this snapshot's oldest running
        transaction (by the age of xmin, a quick scan); of those, the ones
        whose writer this snapshot does not see are the edits."""
        cr = self.env.cr
        cr.execute("SELECT txid_snapshot_xmin(txid_current_snapshot())")
        snapshot_xmin = cr.fetchone()[0]
        with db_connect(cr.dbname).cursor() as now:
            # The run's own transaction may hold a lock on res_partner that
            # this connection would wait for forever (a column added in the
            # same transaction): then no check, the batches still cope.
            now.execute("SET LOCAL lock_timeout = '2s'")
            try:
                now.execute(
                    SQL(
                        "SELECT id, xmin::text::bigint FROM res_partner WHERE %s",
                        written_since(None, snapshot_xmin),
                    ),
                    log_exceptions=False,
                )
            except pg_errors.LockNotAvailable:
                return []
            recent = now.fetchall()
        if not recent:
            return []
        ids = [row[0] for row in recent]
        # xmin is 32 bits; a recent one lies within 2^31 after the snapshot's.
        writers = [
            snapshot_xmin + (row[1] - snapshot_xmin) % XID_SPAN for row in recent
        ]
        cr.execute(
            """
            SELECT ARRAY(
                SELECT DISTINCT r.partner_id
                  FROM unnest(%s::int[], %s::bigint[]) AS w(id, writer)
                  JOIN custseg_run_rows r ON r.id = w.id
                 WHERE NOT txid_visible_in_snapshot(w.writer, txid_current_snapshot()))
            """,
            [ids, writers],
        )
        return cr.fetchone()[0]

    def _write_figures(self, table):
        """Write the daily-moving figures (custseg.partner.figure: fillfactor
        for HOT updates): update the customers' rows that differ, then
        insert the rows of the customers who have none. Not an upsert:
        INSERT … ON CONFLICT locks every existing row, changed or not (a WAL
        record each: 27 % of a next day's WAL at 100k customers), and draws
        an id for each (a million ids a night at 1M customers: the 32-bit
        id would run out within six years), docs/performance.md."""
        names = fields_in(FIGURE_TABLE)
        columns = SQL(", ").join(SQL.identifier(name) for name in names)
        values = figures_of("t", names)
        currency = self.company_id.currency_id.id
        self.env.cr.execute(
            SQL(
                """
                UPDATE custseg_partner_figure f
                   SET (currency_id, %(columns)s) = (%(currency)s, %(values)s)
                  FROM %(table)s t
                 WHERE f.partner_id = t.partner_id
                   AND (f.currency_id, %(current)s)
                       IS DISTINCT FROM (%(currency)s, %(values)s)
                """,
                columns=columns,
                values=values,
                current=figures_of("f", names),
                currency=currency,
                table=table.table,
            )
        )
        # The customers without a row, found before the INSERT: an anti-join
        # inside it scans the table it fills once per row inserted (the
        # planner takes the new table for empty: quadratic on a first run).
        self.env.cr.execute(
            SQL(
                """
                CREATE TEMP TABLE custseg_run_new_figure ON COMMIT DROP AS
                SELECT t.partner_id FROM %(table)s t
                 WHERE NOT EXISTS (SELECT 1 FROM custseg_partner_figure f
                                    WHERE f.partner_id = t.partner_id)
                """,
                table=table.table,
            )
        )
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO custseg_partner_figure
                       (partner_id, currency_id, %(columns)s)
                SELECT t.partner_id, %(currency)s, %(values)s
                  FROM %(table)s t
                  JOIN custseg_run_new_figure n ON n.partner_id = t.partner_id
                """,
                columns=columns,
                values=values,
                currency=currency,
                table=table.table,
            )
        )
        self.env.cr.execute("DROP TABLE custseg_run_new_figure")
        self.env["custseg.partner.figure"].invalidate_model()
        self.env["res.partner"].invalidate_model(names)

    @api.model
    def _set_local_setting(self, name, value):
        """Set a PostgreSQL setting for the rest of the transaction; return
        its old value, to set it back."""
        self.env.cr.execute(
            "SELECT current_setting(%s), set_config(%s, %s, true)",
            (name, name, value),
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _wire_columns(self, result, segment_ids):
        """The engine's result as RunResult's wire columns (partner_id,
        segment_id, then FIELD_MAP's fields): amounts rounded to their
        decimals, so that an identical re-run compares equal and writes
        nothing; text and date columns as codes, with ``{field: labels}``
        (None for a missing value or an empty string, which are NULL)."""
        unknown = set(result["segment"].unique()) - set(segment_ids)
        if unknown:
            raise UserError(
                self.env._(
                    "The engine produced segments with no active segment record: "
                    "%(codes)s",
                    codes=", ".join(sorted(unknown)),
                )
            )
        columns = [
            np.asarray(result.index).astype(">i4"),
            np.asarray(result["segment"].map(segment_ids)).astype(">i4"),
        ]
        labels = {}
        for figure in FIELD_MAP:
            column = pd.Series(result[figure.column])
            if figure.sql_type in ("varchar", "date"):
                codes, uniques = pd.factorize(column)
                labels[figure.field] = [
                    None if value == "" else value
                    for value in (
                        uniques.date if figure.sql_type == "date" else uniques
                    ).tolist()
                ]
                # factorize codes a missing value -1: 0, NULL, once 1-based.
                column = codes + 1
            else:
                self._check_storable(result, figure.field, column, figure.sql_type)
                if figure.sql_type == "numeric":
                    column = np.rint(column.to_numpy() * 10**figure.decimals)
            columns.append(np.asarray(column).astype(WIRE_TYPES[figure.sql_type][1]))
        return columns, labels

    def _check_storable(self, result, name, column, sql_type):
        """Fail, naming the customers and the figure, on values that the
        column ``name`` cannot store: cast anyway, they would be written as
        wrong numbers (see tools/storable.py)."""
        decimals = figure_of(name).decimals
        bad = unstorable(column.to_numpy(), sql_type, decimals)
        if not bad.any():
            return
        partner_ids = result.index[bad].tolist()
        values = column.to_numpy()[bad].tolist()
        # sudo: the run names customers of every salesperson.
        names = dict(
            self.env["res.partner"]
            .sudo()
            .browse(partner_ids[:NAMED_CUSTOMERS])
            .mapped(lambda partner: (partner.id, partner.display_name))
        )
        customers = ", ".join(
            f"{names.get(partner_id, partner_id)} ({value:.6g})"
            for partner_id, value in zip(
                partner_ids[:NAMED_CUSTOMERS], values, strict=False
            )
        )
        if len(partner_ids) > NAMED_CUSTOMERS:
            customers += self.env._(
                " and %(count)s more", count=len(partner_ids) - NAMED_CUSTOMERS
            )
        raise UserError(
            self.env._(
                "%(figure)s is out of range for %(customers)s: the database "
                "stores at most %(limit).6g. Nothing was written. Check these "
                "customers' invoices (an import with wrong amounts?), then run "
                "again.",
                figure=self.env["res.partner"]._fields[name].string,
                customers=customers,
                limit=storable_limit(sql_type, decimals),
            )
        )

    def _phase_history(self, result_table, baseline):
        """One INSERT … SELECT: a row per commercial partner of
        ``result_table`` (a RunResult) whose segment, tier or stage changed in
        this run; none in the baseline run."""
        if baseline:
            return 0
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO custseg_partner_history (
                partner_id, run_id, company_id, date,
                old_segment_id, new_segment_id, old_value_tier, new_value_tier,
                old_lifecycle_stage, new_lifecycle_stage,
                r_score, f_score, m_score, create_uid, create_date, write_uid,
                write_date)
            SELECT t.partner_id, %(run)s, %(company)s, %(as_of)s,
                   t.old_segment_id, t.segment_id, t.old_value_tier, t.value_tier,
                   t.old_lifecycle_stage, t.lifecycle_stage,
                   t.rfm_r_score, t.rfm_f_score, t.rfm_m_score,
                   %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s, NOW() AT TIME ZONE 'UTC'
              FROM %(table)s t
             WHERE t.changed
               AND (t.old_segment_id, t.old_value_tier, t.old_lifecycle_stage)
                   IS DISTINCT FROM (t.segment_id, t.value_tier, t.lifecycle_stage)
                """,
                table=result_table.table,
                run=self.id,
                company=self.company_id.id,
                as_of=self.as_of,
                uid=self.env.uid,
            )
        )
        return self.env.cr.rowcount

    def _invoice_lines_query(self, date_from):
        """Posted customer invoice and refund lines with a product: commercial
        partner, product, invoice date (days since 1970-01-01) and quantity
        signed (refunds negative), from ``date_from`` (excluded) to the run's
        date. Not aggregated: nearly every line is its own partner, product
        and day, and the engine nets them anyway (a GROUP BY doubled the
        read's time at 100k). Overridable: its columns are LINES_ROW's, none
        NULL."""
        return SQL(
            """
            SELECT m.commercial_partner_id, l.product_id,
                   m.invoice_date - DATE '1970-01-01',
                   (CASE WHEN m.move_type = 'out_refund' THEN -l.quantity
                         ELSE l.quantity END)::float8
              FROM account_move m
              JOIN account_move_line l ON l.move_id = m.id
             WHERE %(posted)s
               AND m.commercial_partner_id IS NOT NULL
               AND m.invoice_date <= %(as_of)s AND m.invoice_date > %(date_from)s
               AND l.display_type = 'product' AND l.product_id IS NOT NULL
               AND l.quantity IS NOT NULL
            """,
            posted=posted_customer_moves("m"),
            as_of=self.as_of,
            date_from=date_from,
        )

    def _phase_invoice_lines(self, lookback_days):
        """The lines of :meth:`_invoice_lines_query` over the lookback window
        as a DataFrame: partner_id, product_id, day (days since 1970-01-01,
        as the engine takes them) as int32 and quantity as int32 when every
        line's is a whole number, as it nearly always is, else float64
        (netting refunds of fractional quantities in float32 could leave a
        residue and count a purchase)."""
        date_from = self.as_of - timedelta(days=lookback_days or 36500)
        query = self.env.cr.mogrify(self._invoice_lines_query(date_from))
        rows = CopyBinaryColumns(
            LINES_ROW,
            {
                "partner_id": np.int32,
                "product_id": np.int32,
                "day": np.int32,
                "quantity": np.float64,
            },
        )
        # Room for the hash of the moves: at 4MB it spills in 8 batches.
        previous_work_mem = self._set_local_setting("work_mem", WRITE_BACK_WORK_MEM)
        # The default cost of passing a row from a worker made the planner
        # join serially; two workers hashing the moves and scanning the lines
        # copied them in 2.8-3.5 s instead of 4.8-8.5 s at 100k customers.
        previous_tuple_cost = self._set_local_setting(
            "parallel_tuple_cost", LINES_PARALLEL_TUPLE_COST
        )
        self.env.cr.copy_expert(
            b"COPY (" + query + b") TO STDOUT WITH (FORMAT binary)", rows
        )
        self._set_local_setting("parallel_tuple_cost", previous_tuple_cost)
        self._set_local_setting("work_mem", previous_work_mem)
        columns = rows.result()
        del rows
        if _whole_numbers(columns["quantity"]):
            # Half the bytes, held through the recommendations' peak (138 MB
            # at 1M customers); the engine nets them exactly all the same.
            columns["quantity"] = columns["quantity"].astype(np.int32)
        # copy=False: the frame takes the arrays as they are, unconsolidated.
        return pd.DataFrame(columns, copy=False)

    def _invoice_watermark(self, lookback_days):
        """What the recommendations were computed from, cheaply: the last
        change to any invoice, the newest invoice and the lookback window."""
        self.env.cr.execute("SELECT MAX(write_date), MAX(id) FROM account_move")
        last_change, last_id = self.env.cr.fetchone()
        return f"{last_change}|{last_id}|{lookback_days}"

    def _kept_recommendations(self, watermark):
        """The date the recommendations were computed for, when this run may
        keep them: the latest done run had the same invoice ``watermark`` and
        they are less than RECOMMENDATION_MAX_AGE days from this run's date.
        None: recompute them."""
        last = self.search([("state", "=", "done"), ("id", "!=", self.id)], limit=1)
        computed = last.recommendation_date
        if (
            not last
            or last.invoice_watermark != watermark
            or not computed
            or abs((self.as_of - computed).days) >= RECOMMENDATION_MAX_AGE
        ):
            return None
        return computed

    def _phase_recommendations(self, result, lookback_days, refresh):
        """Each customer's next-best products (custseg.recommendation), from
        the purchases of the invoice lines (:meth:`_phase_invoice_lines`),
        read once: it returns them (the engine's PurchasePairs) for the
        segment profiles, and the lines go before the recommendations are
        scored. Without ``refresh`` it keeps the offers as they are and
        returns None."""
        if not refresh:
            return None
        pairs = purchase_pairs(
            self._phase_invoice_lines(lookback_days),
            self.as_of,
            lookback_days or 36500,
        )
        self.env["custseg.recommendation"]._refresh(
            pairs, self.as_of, result["segment"]
        )
        return pairs

    def _phase_segment_profiles(self, result, purchases):
        """Each segment's profile (custseg.segment.profile), on the segments
        just written; its products and categories from ``purchases`` (the
        PurchasePairs of :meth:`_phase_recommendations`), kept as they are
        when there are none (no invoice changed)."""
        self.env["custseg.segment.profile"]._refresh(purchases, result)

    def _warn_not_assigned(self, count):
        self.message_post(
            body=self.env._(
                "%(count)s customers are due a follow-up but have nobody to call "
                "them: they have no active salesperson, their segment has no "
                "owner and the settings name no default follow-up user. Set a "
                "segment owner (Configuration > Segments) or a Default Follow-up "
                "User (Settings); the next run schedules their follow-ups.",
                count=count,
            ),
            message_type="notification",
            subtype_xmlid="mail.mt_note",
        )

    def _phase_activities(self, result_table, baseline):
        """Follow-ups for the customers of ``result_table`` (a RunResult) who
        entered a segment, and reminders (see custseg.followup)."""
        return self.env["custseg.followup"]._schedule_followups(
            self, result_table, baseline
        )

    def _write_lines(self, result_table):
        """The segment distribution of this run, one line per segment."""
        self.env.cr.execute(
            SQL(
                """
            SELECT segment_id, COUNT(*),
                   COUNT(*) FILTER (WHERE old_segment_id IS DISTINCT FROM segment_id),
                   COALESCE(SUM(rfm_monetary), 0),
                   COALESCE(SUM(GREATEST(rfm_monetary, 0)), 0)
              FROM %s
             GROUP BY segment_id
                """,
                result_table.table,
            )
        )
        rows = self.env.cr.fetchall()
        total_positive = sum(row[4] for row in rows) or 1.0
        self.env["custseg.run.line"].create(
            [
                {
                    "run_id": self.id,
                    "segment_id": segment_id,
                    "customer_count": count,
                    "entered_count": entered,
                    "revenue": float(revenue),
                    "revenue_share": float(positive) / float(total_positive),
                }
                for segment_id, count, entered, revenue, positive in rows
            ]
        )
