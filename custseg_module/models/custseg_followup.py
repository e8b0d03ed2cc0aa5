# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Follow-up activities for segmented customers.

**When.** A run schedules the segment's follow-up (``custseg.segment`` fields
``followup_*``) for every commercial partner that

* entered a segment with automatic follow-ups in this run, the first assignment
  included;
* stays in such a segment with a reminder interval of N days, has no open
  follow-up, and its previous follow-up was done (or cancelled) at least N days
  before the run date: reminders never come while one is open, and never
  without a previous one done;
* is locked (segment set by hand), only when the setting *Follow-ups for Locked
  Customers* (``custseg.followup_locked``) is on. Runs never move a locked
  customer, so for them "entering" means: its segment was set after its last
  follow-up was done, and it has no open follow-up for that segment. With the
  setting off (the default) runs neither create, replace nor repeat follow-ups
  of locked customers.

Nothing happens while the global setting *Automatic Follow-ups*
(``custseg.followups_enabled``) is off. The *Schedule follow-up* button of the
Best List (``res.partner.action_schedule_followup``) launches the same follow-up
at once, whatever the settings.

**Who.** The customer's salesperson (``user_id``), else the segment owner, else
the default follow-up user of the settings; each only when it is an active
internal user (never OdooBot, an archived or a portal user). When none fits, a
run creates nothing for the customer and counts it as *not assigned* on the run,
which posts a warning naming the fix; the Best List's button gives it to the
user who clicked. Plan steps with a preset responsible keep
it (``mail.activity.plan.template._determine_responsible``); "ask at launch"
steps get the user above.

**Never two open follow-ups.** An open follow-up is an active activity with
``custseg_segment_id`` set; a partial unique index on ``mail_activity``
enforces one per customer (and plan step). When a customer enters a new segment
while a follow-up from its previous segment is still open, the old follow-up is
**replaced**: the run deletes it and creates the new segment's follow-up in the
same transaction, so the salesperson only sees the current one. Replacing
rather than updating in place works the same for single activities and for
plans, whose number of steps may differ between segments, and keeps every
write set-based (one ``unlink`` on a recordset, one ``create`` on a list). A
replaced follow-up does not count as done for reminders. A customer that
re-enters the segment of its open follow-up keeps it as it is. A customer that
a run finds in a segment **without** automatic follow-ups (or an archived one)
while a follow-up of another segment is still open has that follow-up
**withdrawn** (deleted, not done): the win-back call of a customer who has just
bought again is no longer due. Locked customers keep theirs unless the setting
*Follow-ups for Locked Customers* is on, as for replacements.

**Plans.** With an activity plan on the segment, every step of the plan is
created for the customer, deadlines counted from the follow-up deadline as the
plan date (``mail.activity.plan.template._get_date_deadline``), as the "Launch
plan" wizard does, but in bulk: no "plan started" message is posted per customer.

**Scale.** Candidates are selected in one query over the run's temp table; the
figures, responsible users and top products of all of them are read with one
query each, and the activities are created with one ``create`` on a list
(Odoo inserts them in batches of 100 rows). The context key
``mail_activity_quick_update`` makes ``mail.activity.create`` skip the
"assigned to you" notification it otherwise sends (and e-mails) for every
activity assigned to another user; assignees are still subscribed to the
customer, one batch per user.
"""

import ast
from collections import defaultdict
from datetime import timedelta

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, is_html_empty
from odoo.tools.misc import get_lang

from odoo.addons.base.models.res_lang import intersperse

from ..engine.experiment import CONTROL_DAYS, draw_control_group
from ..tools.context_markers import REPLACE_CONTEXT
from ..tools.settings import read_setting
from ..tools.why import customer_figures, why_lines

TOP_PRODUCTS = 3
# Notes written per UPDATE (see _write_notes).
NOTE_BATCH = 5000


class CustsegFollowup(models.AbstractModel):
    _name = "custseg.followup"
    _description = "Customer Segment Follow-ups"

    # ------------------------------------------------------------------ entry points
    @api.model
    def _schedule_followups(self, run, result_table, baseline):
        """Run phase: schedule the follow-ups due after ``run``'s write-back.

        Reads ``result_table``, the run's RunResult (tools/run_result.py);
        ``baseline`` is the run's first-run flag.
        Returns a dict of counts: ``created`` activities, open activities of a
        previous segment ``replaced`` and ``withdrawn``.
        """
        self._refresh_open_followups()
        counts = {
            "created": 0,
            "replaced": 0,
            "withdrawn": 0,
            "not_assigned": 0,
            "treated": 0,
            "held_out": 0,
        }
        settings = self.env["res.config.settings"]
        if not settings._custseg_flag("custseg.followups_enabled", True):
            return counts
        include_locked = settings._custseg_flag("custseg.followup_locked", False)
        self._flush_followup_data()
        counts["withdrawn"] = self._withdraw_stale_followups(
            result_table, include_locked
        )
        if baseline and not settings._custseg_flag(
            "custseg.followups_on_baseline", False
        ):
            return counts
        # A locked customer "entered" its segment when it was set after its last
        # follow-up was closed (runs never move a locked customer).
        locked_entered = SQL(
            """
            p.segment_locked IS TRUE AND p.segment_date IS NOT NULL
            AND (p.segment_followup_done_date IS NULL
                 OR p.segment_followup_done_date < p.segment_date)
            """
        )
        self.env.cr.execute(
            SQL(
                """
                WITH open_followup AS (
                    SELECT custseg_partner_id AS partner_id,
                           ARRAY_AGG(DISTINCT custseg_segment_id) AS segment_ids
                      FROM mail_activity
                     WHERE custseg_segment_id IS NOT NULL AND active
                     GROUP BY custseg_partner_id
                )
                SELECT t.partner_id,
                       CASE WHEN t.old_segment_id IS DISTINCT FROM t.segment_id
                              OR (%(locked_entered)s)
                            THEN 'entered' ELSE 'reminder' END
                  FROM %(table)s t
                  JOIN res_partner p ON p.id = t.partner_id
                  JOIN custseg_segment s ON s.id = t.segment_id
                  LEFT JOIN open_followup o ON o.partner_id = t.partner_id
                 WHERE s.followup_enabled AND s.active
                   AND (%(include_locked)s OR p.segment_locked IS NOT TRUE)
                   AND COALESCE(t.purchase_probability, 0)
                       >= COALESCE(s.followup_min_probability, 0)
                   AND COALESCE(t.predicted_clv, 0) >= COALESCE(s.followup_min_clv, 0)
                   AND NOT t.segment_id = ANY(COALESCE(o.segment_ids, '{}'))
                   AND NOT EXISTS (
                       SELECT 1 FROM custseg_followup_entry e
                        WHERE e.partner_id = t.partner_id
                          AND e.segment_id = t.segment_id
                          AND e.experiment_group = 'held_out'
                          AND e.control_until >= %(as_of)s)
                   AND (t.old_segment_id IS DISTINCT FROM t.segment_id
                        OR (%(locked_entered)s)
                        OR (o.partner_id IS NULL
                            AND s.followup_repeat_days > 0
                            AND p.segment_followup_done_date
                                + s.followup_repeat_days <= %(as_of)s))
                 ORDER BY t.partner_id
                """,
                table=result_table.table,
                locked_entered=locked_entered,
                include_locked=include_locked,
                as_of=run.as_of,
            )
        )
        reasons = dict(self.env.cr.fetchall())
        reasons, groups = self._hold_out(run, result_table, reasons)
        counts.update(groups)
        if reasons:
            launched = self._launch(reasons, run.as_of, run=run)
            counts["created"] = launched["created"]
            counts["replaced"] = launched["replaced"]
            counts["not_assigned"] = launched["not_assigned"]
        return counts

    @api.model
    def _hold_out(self, run, result_table, reasons):
        """Draw the control group among the customers who entered a segment in
        ``run`` (engine.experiment.draw_control_group), record every entrant as
        treated or held out with the reason, and return ``reasons`` without the
        held-out customers, with the counts ``treated`` and ``held_out``."""
        entered = [pid for pid, reason in reasons.items() if reason == "entered"]
        if not entered:
            return reasons, {"treated": 0, "held_out": 0}
        self.env.cr.execute(
            SQL(
                """
                SELECT t.partner_id, t.segment_id,
                       COALESCE(t.purchase_probability, 0) AS likelihood,
                       p.user_id
                  FROM %s t
                  JOIN res_partner p ON p.id = t.partner_id
                 WHERE t.partner_id = ANY(%s)
                 ORDER BY t.partner_id
                """,
                result_table.table,
                entered,
            )
        )
        frame = pd.DataFrame(
            self.env.cr.fetchall(),
            columns=["partner_id", "segment_id", "likelihood", "user_id"],
        )
        enabled = self.env["res.config.settings"]._custseg_flag(
            "custseg.control_groups", True
        )
        segments = self.env["custseg.segment"].browse(
            frame["segment_id"].unique().tolist()
        )
        shares = (
            {segment.id: segment.followup_control_share for segment in segments}
            if enabled
            else {}
        )
        drawn = draw_control_group(frame, shares, seed=f"custseg-run-{run.id}")
        until = run.as_of + timedelta(days=CONTROL_DAYS)
        share = drawn["segment_id"].map(shares).fillna(0.0)
        reason = np.where(
            drawn["held_out"],
            "drawn_held_out",
            np.where(
                not enabled,
                "control_off",
                np.where(share > 0.0, "drawn_treated", "no_control_share"),
            ),
        )
        # One INSERT for every entrant: a night's entries can be thousands.
        self.env["custseg.followup.entry"].flush_model()
        self.env.cr.execute(
            """
            INSERT INTO custseg_followup_entry (
                run_id, company_id, partner_id, segment_id, user_id, entry_date,
                experiment_group, group_reason, likelihood, likelihood_decile,
                control_until, create_uid, create_date, write_uid, write_date)
            SELECT %(run)s, %(company)s, e.partner_id, e.segment_id, e.user_id,
                   %(as_of)s,
                   CASE WHEN e.held_out THEN 'held_out' ELSE 'treated' END,
                   e.reason, e.likelihood, e.decile,
                   CASE WHEN e.held_out THEN %(until)s::date END,
                   %(uid)s, NOW() AT TIME ZONE 'UTC', %(uid)s,
                   NOW() AT TIME ZONE 'UTC'
              FROM UNNEST(%(partners)s::integer[], %(segments)s::integer[],
                          %(users)s::integer[], %(held)s::boolean[],
                          %(reasons)s::varchar[], %(likelihoods)s::float8[],
                          %(deciles)s::integer[])
                   AS e(partner_id, segment_id, user_id, held_out, reason,
                        likelihood, decile)
            """,
            {
                "run": run.id,
                "company": run.company_id.id,
                "as_of": run.as_of,
                "until": until,
                "uid": self.env.uid,
                "partners": drawn["partner_id"].astype(int).tolist(),
                "segments": drawn["segment_id"].astype(int).tolist(),
                "users": [
                    int(user) if pd.notna(user) else None for user in drawn["user_id"]
                ],
                "held": drawn["held_out"].astype(bool).tolist(),
                "reasons": reason.tolist(),
                "likelihoods": drawn["likelihood"].astype(float).tolist(),
                "deciles": drawn["decile"].astype(int).tolist(),
            },
        )
        held_out = set(drawn.loc[drawn["held_out"], "partner_id"].astype(int))
        kept = {pid: reason for pid, reason in reasons.items() if pid not in held_out}
        return kept, {"treated": len(drawn) - len(held_out), "held_out": len(held_out)}

    @api.model
    def _in_control(self, partners, day):
        """{partner: control_until} of ``partners`` held out of their current
        segment's follow-up on ``day``."""
        # sudo: the partner page and the Best List show this to salespeople of
        # any company the customer is visible in; only dates are returned.
        entries = (
            self.env["custseg.followup.entry"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", partners.ids),
                    ("experiment_group", "=", "held_out"),
                    ("control_until", ">=", day),
                ]
            )
        )
        return {
            entry.partner_id: entry.control_until
            for entry in entries
            if entry.segment_id == entry.partner_id.customer_segment_id
        }

    @api.model
    def _withdraw_stale_followups(self, result_table, include_locked):
        """Delete the open follow-ups of the run's customers whose current
        segment has no automatic follow-up and is not the follow-up's own
        segment; return how many. Not done: no reminder clock starts."""
        self.env.cr.execute(
            SQL(
                """
            SELECT a.id
              FROM %(table)s t
              JOIN res_partner p ON p.id = t.partner_id
              JOIN mail_activity a
                ON a.custseg_partner_id = t.partner_id
               AND a.custseg_segment_id IS NOT NULL
               AND a.active
              LEFT JOIN custseg_segment s ON s.id = t.segment_id
             WHERE a.custseg_segment_id IS DISTINCT FROM t.segment_id
               AND NOT COALESCE(s.followup_enabled AND s.active, false)
               AND (%(include_locked)s OR p.segment_locked IS NOT TRUE)
                """,
                table=result_table.table,
                include_locked=include_locked,
            )
        )
        stale = self.env["mail.activity"].browse(
            [activity_id for (activity_id,) in self.env.cr.fetchall()]
        )
        stale.with_context(custseg_followup_replace=REPLACE_CONTEXT).unlink()
        return len(stale)

    @api.model
    def _schedule_now(self, partners):
        """Schedule the segment's follow-up of ``partners`` today, by hand.

        Works whatever the settings; a customer keeps an open follow-up of its
        current segment, and one from another segment is replaced. Returns a
        dict with the numbers ``created``, ``replaced`` and ``skipped``.
        """
        partners = partners.commercial_partner_id
        missing = partners.filtered(lambda partner: not partner.customer_segment_id)
        if missing:
            raise UserError(
                self.env._(
                    "%(names)s has no segment yet: run the segmentation first.",
                    names=", ".join(missing.mapped("display_name")),
                )
            )
        self._flush_followup_data()
        today = fields.Date.context_today(self)
        # A held-out customer stays untreated: the lift report counts on it.
        in_control = self._in_control(partners, today)
        partners -= self.env["res.partner"].concat(*in_control)
        if not partners:
            return {
                "created": 0,
                "replaced": 0,
                "skipped": 0,
                "not_assigned": 0,
                "in_control": len(in_control),
            }
        result = self._launch(dict.fromkeys(partners.ids, "manual"), today)
        return {**result, "in_control": len(in_control)}

    # ------------------------------------------------------------------ core
    @api.model
    def _launch(self, reasons, base_date, run=None):
        """Create the follow-ups of ``reasons`` ({partner id: reason}), due
        ``followup_delay_days`` after ``base_date``, replacing open ones of
        another segment."""
        partner_ids = list(reasons)
        rows = self._followup_rows(partner_ids)
        open_followups = self.env["mail.activity"].search(
            [
                ("custseg_partner_id", "in", partner_ids),
                ("custseg_segment_id", "!=", False),
            ]
        )
        open_segments = defaultdict(set)
        for activity in open_followups:
            open_segments[activity.custseg_partner_id.id].add(
                activity.custseg_segment_id.id
            )
        todo = [
            row
            for row in rows
            if row["segment_id"] not in open_segments.get(row["partner_id"], ())
        ]
        skipped = len(partner_ids) - len(todo)
        if not todo:
            return {"created": 0, "replaced": 0, "skipped": skipped, "not_assigned": 0}
        todo_ids = {row["partner_id"] for row in todo}
        replaced = open_followups.filtered(
            lambda activity: activity.custseg_partner_id.id in todo_ids
        )

        # Nobody to call: a run creates nothing (counted, warned on the run);
        # a click on the Best List gives it to the user who clicked.
        clicker = self.env.user
        if run or not (clicker.active and clicker._is_internal()):
            clicker = self.env["res.users"]
        unassigned = []
        for row in todo:
            row["user_id"] = row["user_id"] or clicker.id
            if not row["user_id"]:
                unassigned.append(row["partner_id"])
        if unassigned:
            todo = [row for row in todo if row["user_id"]]
            todo_ids -= set(unassigned)
            replaced = replaced.filtered(
                lambda activity: activity.custseg_partner_id.id in todo_ids
            )
        if not todo:
            return {
                "created": 0,
                "replaced": 0,
                "skipped": skipped,
                "not_assigned": len(unassigned),
            }
        users = self.env["res.users"].browse({row["user_id"] for row in todo})
        user_langs = {user.id: user.lang or self.env.lang or "en_US" for user in users}
        top_products = self._top_products(list(todo_ids), run.as_of if run else None)
        currency = (run.company_id if run else self.env.company).currency_id
        offers = self._offers(list(todo_ids))
        # The why lines come from the run's figures (a click on the Best List:
        # the latest done run's).
        # sudo: the population percentiles of a run, readable by the caller's
        # segmentation rights on the partner figures they summarise.
        why_run = run or self.env["custseg.run"].sudo().search(
            [("state", "=", "done")], limit=1
        )
        notes = _NoteWriter(
            self.env, currency, top_products, self._lookback_days(), offers, why_run
        )
        segments = {
            segment.id: segment
            for segment in self.env["custseg.segment"].browse(
                {row["segment_id"] for row in todo}
            )
        }
        model_id = self.env["ir.model"]._get_id("res.partner")
        default_type = self.env["mail.activity"]._default_activity_type_for_model(
            "res.partner"
        )

        vals_list = []
        for row in todo:
            segment = segments[row["segment_id"]]
            lang = user_langs[row["user_id"]]
            reason = reasons[row["partner_id"]]
            note = notes.note(row, reason, segment, lang)
            deadline = base_date + timedelta(days=segment.followup_delay_days)
            common = {
                "res_model_id": model_id,
                "res_id": row["partner_id"],
                "automated": True,
                "custseg_segment_id": segment.id,
                "custseg_run_id": run.id if run else False,
                "custseg_partner_id": row["partner_id"],
                "custseg_reason": reason,
                "custseg_purchase_probability": row["purchase_probability"],
            }
            if segment.followup_plan_id.template_ids:
                vals_list += self._plan_values(
                    segment, row, deadline, note, lang, common
                )
                continue
            activity_type = segment.followup_activity_type_id or default_type
            vals_list.append(
                {
                    **common,
                    "activity_type_id": activity_type.id,
                    "summary": notes.summary(segment, activity_type, lang),
                    "note": note,
                    "date_deadline": deadline,
                    "user_id": row["user_id"],
                    "custseg_step": 0,
                }
            )

        # The old follow-ups go first: the unique index allows one open at a time.
        replaced_count = len(replaced)
        replaced.with_context(custseg_followup_replace=REPLACE_CONTEXT).unlink()
        # mail.activity computes res_name record by record; fill the cache of
        # the customers' display names in batches first.
        self.env["res.partner"].browse(todo_ids).mapped("display_name")
        notes_list = [vals.pop("note") for vals in vals_list]
        activities = (
            self.env["mail.activity"]
            .with_context(mail_activity_quick_update=True)
            .create(vals_list)
        )
        self._write_notes(activities, notes_list)
        return {
            "created": len(activities),
            "replaced": replaced_count,
            "skipped": skipped,
            "not_assigned": len(unassigned),
        }

    @api.model
    def _write_notes(self, activities, notes_list):
        """Write the notes with one UPDATE per NOTE_BATCH activities.

        A note is text escaped by Markup plus the segment's playbook and the
        plan step's note, HTML fields sanitized when they were saved. Passing
        the notes to ``create`` would sanitize each one twice more (cache and
        column), which is most of the time of a run creating 10^5 follow-ups.
        """
        ids = activities.ids
        for start in range(0, len(ids), NOTE_BATCH):
            self.env.cr.execute(
                """
                UPDATE mail_activity a
                   SET note = v.note
                  FROM UNNEST(%s::integer[], %s::text[]) AS v(id, note)
                 WHERE a.id = v.id
                """,
                [
                    ids[start : start + NOTE_BATCH],
                    [str(note) for note in notes_list[start : start + NOTE_BATCH]],
                ],
            )
        activities.invalidate_recordset(["note"])

    @api.model
    def _plan_values(self, segment, row, plan_date, note, lang, common):
        """One activity per step of the segment's plan, as the "Launch plan"
        wizard (mail.activity.schedule.action_schedule_plan) would create them."""
        partner = self.env["res.partner"].browse(row["partner_id"])
        user = self.env["res.users"].browse(row["user_id"])
        values = []
        for step, template in enumerate(segment.followup_plan_id.template_ids):
            responsible = template._determine_responsible(user, partner)["responsible"]
            template_note = template.with_context(lang=lang).note
            values.append(
                {
                    **common,
                    "activity_type_id": template.activity_type_id.id,
                    "summary": template.with_context(lang=lang).summary
                    or template.activity_type_id.with_context(lang=lang).name,
                    "note": note
                    if is_html_empty(template_note)
                    else Markup(template_note) + note,
                    "date_deadline": template._get_date_deadline(plan_date),
                    "user_id": (responsible or user).id,
                    "custseg_step": step,
                }
            )
        return values

    # ------------------------------------------------------------------ reads
    @api.model
    def _flush_followup_data(self):
        self.env["res.partner"].flush_model(
            [
                "customer_segment_id",
                "segment_locked",
                "segment_date",
                "segment_followup_done_date",
                "user_id",
            ]
        )
        self.env["custseg.segment"].flush_model()
        self.env["mail.activity"].flush_model(
            ["active", "custseg_segment_id", "custseg_partner_id", "custseg_step"]
        )

    @api.model
    def _refresh_open_followups(self):
        """Copy the customers' current purchase likelihood onto their open
        follow-ups, so that the queue sorts by today's figure (one UPDATE)."""
        self.env["mail.activity"].flush_model(
            ["active", "custseg_segment_id", "custseg_purchase_probability"]
        )
        self.env.cr.execute(
            """
            UPDATE mail_activity a
               SET custseg_purchase_probability = f.purchase_probability
              FROM res_partner p
              JOIN custseg_partner_figure f ON f.partner_id = p.commercial_partner_id
             WHERE p.id = a.custseg_partner_id
               AND a.custseg_segment_id IS NOT NULL
               AND a.active
               AND a.custseg_purchase_probability
                   IS DISTINCT FROM f.purchase_probability
            """
        )
        if self.env.cr.rowcount:
            self.env["mail.activity"].invalidate_model(["custseg_purchase_probability"])

    @api.model
    def _followup_rows(self, partner_ids):
        """Figures, segment and responsible user in one query: the customer's
        salesperson, else the segment owner, else the settings' default
        follow-up user, each only when it is an active internal user (not
        OdooBot, not archived, not portal); None when none of them is."""
        default_user_id = read_setting(self.env, "custseg.followup_user_id")
        self.env.cr.execute(
            """
            SELECT p.id AS partner_id, p.customer_segment_id AS segment_id,
                   p.rfm_r_score, p.rfm_f_score, p.rfm_m_score, p.rfm_code,
                   p.segment_date, p.segment_followup_done_date,
                   p.last_purchase_date, p.rfm_monetary, f.purchase_probability,
                   f.predicted_clv, f.purchase_gap_days, p.rfm_frequency,
                   p.lifecycle_stage,
                   COALESCE(salesperson.id, owner.id, fallback.id) AS user_id
              FROM res_partner p
              JOIN custseg_segment s ON s.id = p.customer_segment_id
              LEFT JOIN res_users salesperson
                ON salesperson.id = p.user_id
               AND salesperson.active AND NOT salesperson.share
              LEFT JOIN res_users owner
                ON owner.id = s.owner_id AND owner.active AND NOT owner.share
              LEFT JOIN res_users fallback
                ON fallback.id = %s AND fallback.active AND NOT fallback.share
              LEFT JOIN custseg_partner_figure f
                ON f.partner_id = p.commercial_partner_id
             WHERE p.id = ANY(%s)
             ORDER BY p.id
            """,
            [default_user_id, partner_ids],
        )
        return self.env.cr.dictfetchall()

    @api.model
    def _lookback_days(self):
        return read_setting(self.env, "custseg.lookback_days")

    @api.model
    def _offers(self, partner_ids):
        """The run's recommendation ids per customer, best first."""
        self.env.cr.execute(
            SQL(
                """
                SELECT partner_id, array_agg(id ORDER BY rank)
                  FROM (%s) recommendation
                 WHERE partner_id = ANY(%s)
                 GROUP BY partner_id
                """,
                self.env["custseg.recommendation"]._table_query,
                partner_ids,
            )
        )
        return dict(self.env.cr.fetchall())

    def _top_products(self, partner_ids, as_of=None):
        """{partner id: [(product, quantity)]}: the customer's best products by
        net invoiced revenue (invoices minus refunds) over the lookback window,
        at most TOP_PRODUCTS each, in one query."""
        as_of = as_of or fields.Date.context_today(self)
        lookback = self._lookback_days()
        date_from = as_of - timedelta(days=lookback) if lookback else None
        self.env["account.move.line"].flush_model(
            ["move_id", "product_id", "quantity", "balance", "display_type"]
        )
        self.env["account.move"].flush_model(
            ["state", "move_type", "invoice_date", "commercial_partner_id"]
        )
        self.env.cr.execute(
            """
            WITH sold AS (
                SELECT m.commercial_partner_id AS partner_id, l.product_id,
                       SUM(CASE WHEN m.move_type = 'out_refund'
                                THEN -l.quantity ELSE l.quantity END) AS quantity,
                       SUM(-l.balance) AS revenue
                  FROM account_move_line l
                  JOIN account_move m ON m.id = l.move_id
                 WHERE m.state = 'posted'
                   AND m.move_type IN ('out_invoice', 'out_refund')
                   AND l.display_type = 'product'
                   AND l.product_id IS NOT NULL
                   AND m.commercial_partner_id = ANY(%(partners)s)
                   AND m.invoice_date <= %(as_of)s
                   AND (%(date_from)s::date IS NULL
                        OR m.invoice_date >= %(date_from)s::date)
                 GROUP BY m.commercial_partner_id, l.product_id
            ), ranked AS (
                SELECT partner_id, product_id, quantity,
                       ROW_NUMBER() OVER (
                           PARTITION BY partner_id
                           ORDER BY revenue DESC, quantity DESC, product_id
                       ) AS position
                  FROM sold
                 WHERE revenue > 0
            )
            SELECT partner_id, product_id, quantity
              FROM ranked
             WHERE position <= %(top)s
             ORDER BY partner_id, position
            """,
            {
                "partners": partner_ids,
                "as_of": as_of,
                "date_from": date_from,
                "top": TOP_PRODUCTS,
            },
        )
        result = defaultdict(list)
        for partner_id, product_id, quantity in self.env.cr.fetchall():
            result[partner_id].append((product_id, float(quantity)))
        return result


class _NoteWriter:
    """Builds the activity notes. Everything that depends on the language only
    (translated sentences, number and date formats, segment texts, product
    names) is prepared once per language; a note then costs a few string
    substitutions, so that a run over 10^5 customers spends its time in the
    database, not here. Values are escaped by Markup's ``%`` operator."""

    def __init__(
        self, env, currency, top_products, lookback_days, offers=None, run=None
    ):
        self.env = env
        self.as_of = run.as_of if run else None
        self.profile = run.population_profile if run else None
        self.offers = offers or {}
        self.currency = currency
        self.top_products = top_products
        self.lookback_days = lookback_days
        self._langs = {}
        self._segments = {}

    # ------------------------------------------------------------------ per language
    def _lang(self, lang):
        if lang not in self._langs:
            self._langs[lang] = self._prepare_lang(lang)
        return self._langs[lang]

    def _prepare_lang(self, lang):
        env = self.env(context=dict(self.env.context, lang=lang))
        _ = env._
        data = get_lang(env, lang)
        product_ids = {pid for items in self.top_products.values() for pid, _q in items}
        offers = env["custseg.recommendation"].browse(
            {rid for ids in self.offers.values() for rid in ids}
        )
        product_ids |= set(offers.product_id.ids)
        products = env["product.product"].browse(product_ids)
        texts = {
            "entered": _("The customer entered the segment %(segment)s on %(date)s."),
            "reminder": _(
                "The customer is still in the segment %(segment)s (since %(date)s); "
                "the previous follow-up was done on %(done)s."
            ),
            "manual": _(
                "Follow-up scheduled by hand for a customer of the segment "
                "%(segment)s (since %(date)s)."
            ),
            "playbook": _("What to do (playbook of %(segment)s):"),
            "scores": _("R/F/M scores: %(r)s / %(f)s / %(m)s (RFM %(code)s)"),
            "last_purchase": _("Last purchase: %(date)s"),
            "revenue": _("Net revenue: %(amount)s"),
            "likelihood": _("Purchase likelihood: %(percent)s"),
            "clv": _("Predicted CLV: %(amount)s"),
            "offer": _("Offer: %(products)s"),
            "products": _("Most bought in the last %(days)s days:")
            if self.lookback_days
            else _("Most bought:"),
        }
        return {
            "env": env,
            "texts": {key: escape(text) for key, text in texts.items()},
            "why": escape(_("Why:")),
            "figures": escape(_("Key figures:")),
            "never": _("never"),
            "date_format": data.date_format or "%m/%d/%Y",
            "grouping": ast.literal_eval(data.grouping or "[]"),
            "thousands_sep": data.thousands_sep or "",
            "decimal_point": data.decimal_point or ".",
            "products": {product.id: product.display_name for product in products},
            "offers": {
                offer.id: f"{offer.product_id.display_name} ({offer.reason_text})"
                for offer in offers
            },
        }

    def _segment(self, segment, lang):
        key = segment.id, lang
        if key not in self._segments:
            segment = segment.with_env(self._lang(lang)["env"])
            playbook = segment.playbook
            self._segments[key] = (
                segment.name,
                None if is_html_empty(playbook) else Markup(playbook),
                segment.followup_summary,
            )
        return self._segments[key]

    def _day(self, value, fmt):
        return value.strftime(fmt["date_format"]) if value else fmt["never"]

    def _amount(self, value, fmt):
        """As odoo.tools.format_amount, with the language data at hand."""
        currency = self.currency
        value = currency.round(float(value or 0.0))
        integer, _dot, decimals = f"{abs(value):.{currency.decimal_places}f}".partition(
            "."
        )
        integer = intersperse(integer, fmt["grouping"], fmt["thousands_sep"])[0]
        number = integer + (fmt["decimal_point"] + decimals if decimals else "")
        sign = "-" if value < 0 else ""
        if currency.position == "before":
            return f"{sign}{currency.symbol}\N{NO-BREAK SPACE}{number}"
        return f"{sign}{number}\N{NO-BREAK SPACE}{currency.symbol}"

    def _why_lines(self, row, fmt):
        """The same facts as the partner's Segmentation page (tools/why.py)."""
        last = row["last_purchase_date"]
        figures = customer_figures(
            (self.as_of - last).days if last else 0,
            row["rfm_frequency"],
            row["rfm_monetary"],
            row["lifecycle_stage"],
            row["purchase_probability"],
            row["purchase_gap_days"],
        )
        return why_lines(fmt["env"], figures, self.profile, self.currency)

    # ------------------------------------------------------------------ per activity
    def summary(self, segment, activity_type, lang):
        name, _playbook, summary = self._segment(segment, lang)
        env = self._lang(lang)["env"]
        return (
            summary
            or activity_type.with_env(env).summary
            or env._("Follow-up: %(segment)s", segment=name)
        )

    def note(self, row, reason, segment, lang):
        fmt = self._lang(lang)
        texts = fmt["texts"]
        name, playbook, _summary = self._segment(segment, lang)
        why = texts[reason] % {
            "segment": name,
            "date": self._day(row["segment_date"], fmt),
            "done": self._day(row["segment_followup_done_date"], fmt),
        }
        parts = [P_STRONG % (fmt["why"], why)]
        if self.profile:
            parts.append(
                UL % Markup().join(LI % line for line in self._why_lines(row, fmt))
            )
        if playbook:
            parts.append(P_STRONG % (texts["playbook"] % {"segment": name}, ""))
            parts.append(playbook)
        probability = float(row["purchase_probability"] or 0.0)
        figures = [
            texts["scores"]
            % {
                "r": row["rfm_r_score"] or 0,
                "f": row["rfm_f_score"] or 0,
                "m": row["rfm_m_score"] or 0,
                "code": row["rfm_code"] or "-",
            },
            texts["last_purchase"]
            % {"date": self._day(row["last_purchase_date"], fmt)},
            texts["revenue"] % {"amount": self._amount(row["rfm_monetary"], fmt)},
            texts["likelihood"] % {"percent": f"{probability:.0%}"},
            texts["clv"] % {"amount": self._amount(row["predicted_clv"], fmt)},
        ]
        offers = self.offers.get(row["partner_id"])
        if offers:
            listed = "; ".join(fmt["offers"][rid] for rid in offers)
            parts.append(P_STRONG % (texts["offer"] % {"products": listed}, ""))
        parts.append(P_STRONG % (fmt["figures"], ""))
        parts.append(UL % Markup().join(LI % text for text in figures))
        products = self.top_products.get(row["partner_id"])
        if products:
            names = fmt["products"]
            parts.append(
                P_STRONG % (texts["products"] % {"days": self.lookback_days}, "")
            )
            parts.append(
                UL
                % Markup().join(
                    LI % (Markup("%s × %s") % (names[pid], f"{qty:g}"))
                    for pid, qty in products
                )
            )
        return Markup().join(parts)


P_STRONG = Markup("<p><strong>%s</strong> %s</p>")
UL = Markup("<ul>%s</ul>")
LI = Markup("<li>%s</li>")
