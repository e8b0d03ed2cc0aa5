# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine import rescale_grid
from ..tools import compat
from ..tools.context_markers import REGRID_CONTEXT
from ..tools.settings import read_setting


class CustsegSegment(models.Model):
    _name = "custseg.segment"
    _description = "Customer Segment"
    _order = "sequence, id"
    _fold_name = "fold"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Technical code, as the segmentation engine names the segment.",
    )
    sequence = fields.Integer(default=10)
    color = fields.Integer(help="Colour index of the kanban column and tags.")
    active = fields.Boolean(default=True)
    fold = fields.Boolean(
        string="Folded in Kanban",
        help="Show this segment as a folded column in the customers kanban.",
    )
    kind = fields.Selection(
        [("rule", "R×F rule"), ("prospect", "No purchase yet")],
        required=True,
        default="rule",
        help="Rule segments own cells of the recency × frequency score grid; "
        "the prospect segment holds customers without a purchase.",
    )
    profile_ids = fields.One2many("custseg.segment.profile", "segment_id")
    profile_currency_id = fields.Many2one(
        "res.currency", compute="_compute_profile_currency_id"
    )
    profile_order_value = fields.Monetary(
        string="Average Order Value",
        currency_field="profile_currency_id",
        readonly=True,
        aggregator="avg",
        help="Average net amount per purchase day of the segment's customers, "
        "in the company currency, at the last run.",
    )
    profile_purchase_interval = fields.Float(
        string="Purchase Interval (days)",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
        help="Average days between two purchases of the segment's repeat "
        "customers, at the last run.",
    )
    playbook = fields.Html(
        translate=True,
        sanitize=True,
        help="What salespeople should do with these customers.",
    )
    owner_id = fields.Many2one(
        "res.users",
        string="Segment Owner",
        index=True,
        help="Manager responsible for this segment; follow-ups fall back to "
        "this user when the customer has no salesperson.",
    )
    # Follow-ups: what a run schedules for customers entering this segment
    # (models/custseg_followup.py).
    followup_enabled = fields.Boolean(
        string="Automatic Follow-ups",
        help="Runs schedule a follow-up for every customer entering this segment.",
    )
    followup_activity_type_id = fields.Many2one(
        "mail.activity.type",
        string="Follow-up Type",
        domain="['|', ('res_model', '=', False), ('res_model', '=', 'res.partner')]",
        ondelete="set null",
    )
    followup_summary = fields.Char(
        string="Follow-up Summary",
        translate=True,
        help="Title of the follow-up, e.g. Win-back call.",
    )
    followup_delay_days = fields.Integer(
        string="Follow-up Deadline (days)",
        default=3,
        help="Days after the run date (or after today, when scheduled by hand) "
        "the follow-up is due.",
    )
    followup_plan_id = fields.Many2one(
        "mail.activity.plan",
        string="Follow-up Plan",
        domain="[('res_model', '=', 'res.partner')]",
        ondelete="set null",
        help="Launch every step of this activity plan instead of one follow-up; "
        "the plan date is the follow-up deadline.",
    )
    followup_repeat_days = fields.Integer(
        string="Remind Every (days)",
        default=0,
        help="While the customer stays in this segment, schedule the follow-up "
        "again this many days after the previous one was done; 0 never repeats.",
    )
    followup_min_probability = fields.Float(
        string="Minimum Likelihood",
        default=0.0,
        help="Runs schedule this segment's follow-up only for customers whose "
        "purchase likelihood is at least this; e.g. 5 % keeps win-back calls "
        "away from customers who left long ago. 0 % schedules for everyone.",
    )
    followup_min_clv = fields.Float(
        string="Minimum Predicted CLV",
        default=0.0,
        help="Runs schedule this segment's follow-up only for customers whose "
        "predicted lifetime value, in the company currency, is at least this.",
    )
    followup_control_share = fields.Float(
        string="Control Share",
        default=0.1,
        digits=(16, 4),
        aggregator="avg",
        help="Share of the customers entering this segment held out of its "
        "follow-up (0 to 50 %), so that the lift report can compare them with "
        "the treated ones. The draw is random but reproducible, and stratified "
        "by purchase likelihood decile.",
    )
    lift_summary = fields.Text(
        compute="_compute_lift_summary",
        help="What the follow-ups changed, against the held-out control group, "
        "in plain words (see the Follow-up Lift report).",
    )
    r_score_min = fields.Integer(string="Recency Score From", default=1)
    r_score_max = fields.Integer(string="Recency Score To", default=1)
    f_score_min = fields.Integer(string="Frequency Score From", default=1)
    f_score_max = fields.Integer(string="Frequency Score To", default=1)

    customer_count = fields.Integer(compute="_compute_kpis", string="Customers")
    currency_id = fields.Many2one(
        "res.currency",
        compute="_compute_currency_id",
        help="Currency of the amounts: the company's, in which runs count.",
    )
    revenue = fields.Monetary(compute="_compute_kpis", string="Net Revenue")
    revenue_share = fields.Float(
        compute="_compute_kpis",
        help="Share of the positive net revenue of all segmented customers.",
    )
    average_clv = fields.Monetary(
        compute="_compute_kpis", string="Average Predicted CLV"
    )
    profit_this_month = fields.Monetary(
        compute="_compute_month_profit",
        help="From the segment P&L of the last run, in the current company.",
    )
    profit_last_month = fields.Monetary(
        compute="_compute_month_profit",
    )
    rule_grid_html = fields.Html(
        string="R × F Grid",
        compute="_compute_rule_grid_html",
        sanitize=True,
        help="Which segment owns each cell of the recency × frequency score grid.",
    )

    _code_unique = compat.Constraint("UNIQUE(code)", "The segment code must be unique.")

    @api.depends_context("company")
    def _compute_currency_id(self):
        self.currency_id = self.env.company.currency_id

    def _compute_month_profit(self):
        this_month = fields.Date.context_today(self).replace(day=1)
        last_month = fields.Date.subtract(this_month, months=1)
        groups = self.env["custseg.segment.pnl"]._read_group(
            [
                ("segment_id", "in", self.ids),
                ("company_id", "=", self.env.company.id),
                ("month", "in", [this_month, last_month]),
            ],
            ["segment_id", "month:day"],
            ["profit:sum"],
        )
        profit = {(segment.id, month): total for segment, month, total in groups}
        for segment in self:
            segment.profit_this_month = profit.get((segment.id, this_month), 0.0)
            segment.profit_last_month = profit.get((segment.id, last_month), 0.0)

    def _compute_profile_currency_id(self):
        self.profile_currency_id = self.env.company.currency_id

    def _compute_kpis(self):
        """KPIs over commercial partners only, so contacts are not counted twice."""
        stats = {}
        total_positive = 0.0
        if self.ids:
            self.env["res.partner"].flush_model(["customer_segment_id", "rfm_monetary"])
            self.env.cr.execute(
                """
                SELECT p.customer_segment_id, COUNT(*),
                       COALESCE(SUM(p.rfm_monetary), 0),
                       COALESCE(SUM(GREATEST(p.rfm_monetary, 0)), 0),
                       COALESCE(AVG(f.predicted_clv), 0)
                  FROM res_partner p
                  LEFT JOIN custseg_partner_figure f ON f.partner_id = p.id
                 WHERE p.customer_segment_id IS NOT NULL
                   AND p.id = p.commercial_partner_id
                   AND p.active
                 GROUP BY p.customer_segment_id
                """
            )
            for segment_id, count, revenue, positive, clv in self.env.cr.fetchall():
                stats[segment_id] = (count, revenue, positive, clv)
                total_positive += positive
        for segment in self:
            count, revenue, positive, clv = stats.get(segment.id, (0, 0.0, 0.0, 0.0))
            segment.customer_count = count
            segment.revenue = revenue
            segment.revenue_share = positive / total_positive if total_positive else 0.0
            segment.average_clv = clv

    @api.depends("r_score_min", "r_score_max", "f_score_min", "f_score_max", "kind")
    @api.depends_context("lang")
    def _compute_rule_grid_html(self):
        try:
            bins = self._score_bins()
        except ValidationError as error:
            # A parameter broken by hand must not break the segment form: it
            # shows the error where the grid would be.
            message = Markup('<div class="alert alert-warning">{}</div>').format(
                error.args[0]
            )
            for segment in self:
                segment.rule_grid_html = message
            return
        grid = self._rule_grid()
        rules = {
            segment.code: segment for segment in self.search([("kind", "=", "rule")])
        }
        owners = {
            (r, f): [
                code
                for code, (r_min, r_max, f_min, f_max) in grid.items()
                if r_min <= r <= r_max and f_min <= f <= f_max
            ]
            for r in range(1, bins + 1)
            for f in range(1, bins + 1)
        }
        for segment in self:
            segment.rule_grid_html = segment._render_rule_grid(
                bins, grid, rules, owners
            )

    def _render_rule_grid(self, bins, grid, rules, owners):
        """An HTML table, recency scores top (best) to bottom, frequency scores
        left to right; each segment's rectangle is one cell when it owns it
        alone. Names are escaped by Markup.format."""
        _ = self.env._
        covered = set()
        rows = [
            Markup("<tr><th></th>{}</tr>").format(
                Markup().join(
                    Markup('<th scope="col">F {}</th>').format(f)
                    for f in range(1, bins + 1)
                )
            )
        ]
        for r in range(bins, 0, -1):
            cells = [Markup('<th scope="row">R {}</th>').format(r)]
            for f in range(1, bins + 1):
                if (r, f) in covered:
                    continue
                codes = owners[r, f]
                span = self._rule_grid_span(r, f, codes, grid, owners, bins)
                if span:
                    row_span, col_span = span
                    covered.update(
                        (rr, ff)
                        for rr in range(r - row_span + 1, r + 1)
                        for ff in range(f, f + col_span)
                    )
                else:
                    row_span = col_span = 1
                cells.append(
                    self._rule_grid_cell(codes, rules, row_span, col_span, r, f)
                )
            rows.append(Markup("<tr>{}</tr>").format(Markup().join(cells)))
        return Markup(
            '<table class="o_custseg_rule_grid table table-sm table-bordered mb-1">'
            '<caption class="caption-top">{}</caption>{}</table>'
        ).format(
            _(
                "Rows: recency score, %(bins)s = most recent. Columns: frequency "
                "score, %(bins)s = most frequent.",
                bins=bins,
            ),
            Markup().join(rows),
        )

    @api.model
    def _rule_grid_span(self, r, f, codes, grid, owners, bins):
        """(rows, columns) when (r, f) is the top-left cell of a rectangle that
        one segment owns alone; None otherwise (gaps and overlaps stay single
        cells, so an invalid grid is drawn cell by cell)."""
        if len(codes) != 1:
            return None
        r_min, r_max, f_min, f_max = grid[codes[0]]
        r_min, r_max = max(r_min, 1), min(r_max, bins)
        f_min, f_max = max(f_min, 1), min(f_max, bins)
        if (r, f) != (r_max, f_min):
            return None
        cells = [
            (rr, ff) for rr in range(r_min, r_max + 1) for ff in range(f_min, f_max + 1)
        ]
        if any(owners[cell] != codes for cell in cells):
            return None
        return r_max - r_min + 1, f_max - f_min + 1

    def _rule_grid_cell(self, codes, rules, row_span, col_span, r, f):
        _ = self.env._
        classes = ["o_custseg_grid_cell", "text-center", "align-middle"]
        if not codes:
            classes.append("o_custseg_grid_gap")
            label = _("No segment")
            title = _("R %(r)s × F %(f)s: no segment", r=r, f=f)
        elif len(codes) > 1:
            classes.append("o_custseg_grid_overlap")
            names = ", ".join(rules[code].name for code in codes)
            label = _("Overlap")
            title = _("R %(r)s × F %(f)s: %(names)s", r=r, f=f, names=names)
        else:
            owner = rules[codes[0]]
            classes.append(f"o_custseg_grid_color_{owner.color or 0}")
            label = owner.name
            title = owner.name
            if owner == self:
                classes.append("o_custseg_grid_current")
        return Markup(
            '<td class="{}" rowspan="{}" colspan="{}" title="{}">{}</td>'
        ).format(" ".join(classes), row_span, col_span, title, label)

    @api.model
    def _score_bins(self):
        return read_setting(self.env, "custseg.bins")

    @api.model
    def _rule_grid(self, excluded_ids=()):
        """The active rule segments (but the excluded ones) as the engine's
        grid: code -> (r, r, f, f)."""
        # Explicitly active: Settings run with active_test off.
        rules = self.search(
            [
                ("kind", "=", "rule"),
                ("active", "=", True),
                ("id", "not in", excluded_ids),
            ]
        )
        return {
            segment.code: (
                segment.r_score_min,
                segment.r_score_max,
                segment.f_score_min,
                segment.f_score_max,
            )
            for segment in rules
        }

    @api.model
    def _prospect_segment(self):
        return self.search([("kind", "=", "prospect"), ("active", "=", True)], limit=1)

    @api.model
    def _rescaled_rule_grid(self, bins):
        """The engine's grid of the active rule segments moved onto ``bins``
        scores, and the codes of the segments left without a cell."""
        try:
            return rescale_grid(self._rule_grid(), self._score_bins(), bins)
        except ValueError as error:
            raise ValidationError(
                self.env._(
                    "Cannot use %(bins)s score bins: %(error)s", bins=bins, error=error
                )
            ) from error

    @api.model
    def _apply_score_bins(self, bins):
        """Store ``bins`` as the number of score bins and move every active
        rule segment's score ranges onto it, in proportion; archive the
        segments left without a cell (with fewer bins). Returns them."""
        if bins == self._score_bins():
            return self.browse()
        grid, _vanished = self._rescaled_rule_grid(bins)
        return self._write_rule_grid(grid, bins)

    @api.model
    def _write_rule_grid(self, grid, bins):
        """Save a whole grid at once: ``grid`` maps each active rule segment's
        code to its new (r_min, r_max, f_min, f_max) for ``bins`` scores; the
        active rule segments missing from it are archived (returned). The grid
        is checked once, after every segment is written, so cells can move
        from one segment to another in one save."""
        self._check_new_grid(grid, bins)
        regrid = self.with_context(custseg_regrid=REGRID_CONTEXT)
        rules = regrid.search([("kind", "=", "rule"), ("active", "=", True)])
        for segment in rules:
            if segment.code not in grid:
                continue
            r_min, r_max, f_min, f_max = grid[segment.code]
            values = {
                "r_score_min": r_min,
                "r_score_max": r_max,
                "f_score_min": f_min,
                "f_score_max": f_max,
            }
            if any(segment[name] != value for name, value in values.items()):
                segment.write(values)
        archived = rules.filtered(lambda segment: segment.code not in grid)
        archived.active = False
        if bins != self._score_bins():
            # sudo: a system parameter; only managers reshape the grid.
            self.env["ir.config_parameter"].sudo().set_param("custseg.bins", bins)
        self._check_complete_grid()
        return archived.with_env(self.env)

    @api.model
    def _check_new_grid(self, grid, bins):
        problems = self._grid_problem_messages(grid, bins)
        if problems:
            raise ValidationError("\n".join(problems))

    @api.model
    def _grid_problem_messages(self, grid, bins):
        """What is wrong with ``grid`` (code -> ranges) for ``bins`` scores,
        in the user's words: segments by name, cells as R×F scores."""
        _ = self.env._
        names = {
            segment.code: segment.name
            for segment in self.with_context(active_test=False).search(
                [("code", "in", list(grid))]
            )
        }
        problems = []
        owners = {}
        for code, (r_min, r_max, f_min, f_max) in grid.items():
            name = names.get(code, code)
            if not all(1 <= value <= bins for value in (r_min, r_max, f_min, f_max)):
                problems.append(
                    _(
                        "%(segment)s: scores run from 1 to %(bins)s.",
                        segment=name,
                        bins=bins,
                    )
                )
                continue
            if r_min > r_max or f_min > f_max:
                problems.append(
                    _(
                        "%(segment)s: a range cannot end below its start "
                        "(recency %(r_min)s to %(r_max)s, frequency %(f_min)s "
                        "to %(f_max)s).",
                        segment=name,
                        r_min=r_min,
                        r_max=r_max,
                        f_min=f_min,
                        f_max=f_max,
                    )
                )
                continue
            for r in range(r_min, r_max + 1):
                for f in range(f_min, f_max + 1):
                    owners.setdefault((r, f), []).append(name)
        if problems:
            return problems
        cells = [(r, f) for r in range(bins, 0, -1) for f in range(1, bins + 1)]
        missing = [f"R{r} F{f}" for r, f in cells if (r, f) not in owners]
        doubled = [
            f"R{r} F{f} ({', '.join(owners[r, f])})"
            for r, f in cells
            if len(owners.get((r, f), ())) > 1
        ]
        if missing:
            problems.append(
                _("Cells without a segment: %(cells)s.", cells=", ".join(missing))
            )
        if doubled:
            problems.append(
                _(
                    "Cells in more than one segment: %(cells)s.",
                    cells=", ".join(doubled),
                )
            )
        return problems

    @api.model
    def _check_grid_for_bins(self, bins, excluded_ids=()):
        """Raise a ValidationError naming missing or doubled R×F cells."""
        problems = self._grid_problem_messages(self._rule_grid(excluded_ids), bins)
        if problems:
            raise ValidationError(
                self.env._(
                    "The active segments must cover every recency × frequency "
                    "cell exactly once (%(bins)s × %(bins)s scores). Use Edit "
                    "Grid to move cells between segments in one save.\n"
                    "%(problems)s",
                    bins=bins,
                    problems="\n".join(problems),
                )
            )

    @api.constrains(
        "active", "kind", "r_score_min", "r_score_max", "f_score_min", "f_score_max"
    )
    def _check_rule_grid(self):
        # Data files create segments one at a time: the grid is checked once
        # they are all loaded (see data/custseg_segment_data.xml). Data files
        # load while the registry is not ready yet, which no RPC call can be.
        if not self.env.registry.ready:
            return
        if self.env.context.get("custseg_regrid") is REGRID_CONTEXT:
            return
        self._check_complete_grid()

    @api.model
    def _check_complete_grid(self, excluded_ids=()):
        self._check_grid_for_bins(self._score_bins(), excluded_ids)
        prospects = [
            ("kind", "=", "prospect"),
            ("active", "=", True),
            ("id", "not in", excluded_ids),
        ]
        if self.search_count(prospects) != 1:
            raise ValidationError(
                self.env._("Exactly one active segment must be the prospect segment.")
            )

    def action_open_lift_report(self):
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "custseg_module.custseg_lift_report_action"
        )
        action["domain"] = [("segment_id", "=", self.id)]
        action["context"] = {
            "search_default_window_60": 1,
            "search_default_complete": 1,
            "pivot_row_groupby": ["user_id"],
        }
        return action

    def _compute_lift_summary(self):
        # sudo: the report reads invoices and messages for the summary only.
        report = self.env["custseg.lift.report"].sudo()
        for segment in self:
            segment.lift_summary = (
                report._segment_summary(segment) if segment.id else False
            )

    @api.constrains(
        "followup_enabled",
        "followup_activity_type_id",
        "followup_plan_id",
        "followup_delay_days",
        "followup_repeat_days",
        "followup_min_probability",
        "followup_min_clv",
        "followup_control_share",
    )
    def _check_followup(self):
        for segment in self:
            if not 0.0 <= segment.followup_min_probability <= 1.0:
                # Outside the _() call: the term extractor evaluates f-strings.
                percent = "%g" % (segment.followup_min_probability * 100)
                raise ValidationError(
                    self.env._(
                        "Segment %(segment)s: the minimum likelihood "
                        "(%(value)s %%) must be between 0 %% and 100 %%.",
                        segment=segment.name,
                        value=percent,
                    )
                )
            if segment.followup_min_clv < 0:
                raise ValidationError(
                    self.env._(
                        "Segment %(segment)s: the minimum predicted CLV cannot be "
                        "negative.",
                        segment=segment.name,
                    )
                )
            if not 0.0 <= segment.followup_control_share <= 0.5:
                raise ValidationError(
                    self.env._(
                        "Segment %(segment)s: the control share (%(share)s %%) must "
                        "be between 0 %% and 50 %%.",
                        segment=segment.name,
                        share=round(segment.followup_control_share * 100, 1),
                    )
                )
            if segment.followup_delay_days < 0 or segment.followup_repeat_days < 0:
                raise ValidationError(
                    self.env._(
                        "Segment %(segment)s: the follow-up deadline and the "
                        "reminder interval cannot be negative.",
                        segment=segment.name,
                    )
                )
            if segment.followup_plan_id.res_model not in (False, "res.partner") or (
                segment.followup_activity_type_id.res_model
                not in (False, "res.partner")
            ):
                raise ValidationError(
                    self.env._(
                        "Segment %(segment)s: the follow-up activity type and plan "
                        "must apply to contacts.",
                        segment=segment.name,
                    )
                )
            if segment.followup_enabled and not (
                segment.followup_activity_type_id or segment.followup_plan_id
            ):
                raise ValidationError(
                    self.env._(
                        "Segment %(segment)s: choose a follow-up activity type or "
                        "an activity plan, or turn automatic follow-ups off.",
                        segment=segment.name,
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        used = (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search_count([("customer_segment_id", "in", self.ids)])
        )
        if used:
            raise UserError(
                self.env._(
                    "%(count)s customers are still in the segments you are "
                    "deleting. Archive the segments instead, or change the rules "
                    "and recompute first.",
                    count=used,
                )
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_valid_grid(self):
        """unlink() runs no constraint: refuse to leave cells without a segment
        or the customers without a prospect segment."""
        self._check_complete_grid(excluded_ids=self.ids)

    def action_open_grid_editor(self):
        """Edit Grid (list header, form, menu): the grid editor on every
        active rule segment, whichever records it is called on."""
        return self.env["custseg.grid.editor"]._action_open()

    def action_open_customers(self):
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "custseg_module.res_partner_action_segment_kanban"
        )
        action["domain"] = [("customer_segment_id", "=", self.id)]
        action["context"] = {"default_customer_segment_id": self.id}
        return action
