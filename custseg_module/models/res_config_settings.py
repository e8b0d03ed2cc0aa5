# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import dataclasses
import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine import SegmentationConfig
from ..engine.config import MAX_BINS
from ..engine.profit import CostToServe
from ..tools.settings import read_setting

ENGINE_DEFAULTS = {
    field.name: field.default
    for field in dataclasses.fields(SegmentationConfig)
    if field.default is not dataclasses.MISSING
}
# Settings field -> SegmentationConfig field, for the one-to-one parameters.
ENGINE_PARAMETERS = {
    "custseg_bins": "bins",
    "custseg_loyal_min_frequency": "loyal_min_frequency",
    "custseg_at_risk_gap_multiple": "at_risk_gap_multiple",
    "custseg_at_risk_min_days": "at_risk_min_days",
    "custseg_at_risk_max_days": "at_risk_max_days",
    "custseg_churn_days": "churn_days",
    "custseg_horizon_days": "horizon_days",
    "custseg_clv_days": "clv_days",
    "custseg_k_min": "k_min",
    "custseg_k_max": "k_max",
}
TRUE_BY_DEFAULT_FLAGS = {
    "custseg_clustering": ("custseg.clustering", ENGINE_DEFAULTS["clustering"]),
    "custseg_followups_enabled": ("custseg.followups_enabled", True),
    "custseg_control_groups": ("custseg.control_groups", True),
}
# Settings counted in days, shown as "100 days" in messages.
DAY_FIELDS = {
    "custseg_lookback_days",
    "custseg_at_risk_min_days",
    "custseg_at_risk_max_days",
    "custseg_churn_days",
    "custseg_horizon_days",
    "custseg_clv_days",
}
# "Churned After (days)" -> "Churned After": the unit goes on the value.
TRAILING_UNIT = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
TIER_CUT_FIELDS = (
    "custseg_tier_key_cut",
    "custseg_tier_important_cut",
    "custseg_tier_ordinary_cut",
)


def shown_minimum(name, minimum, translate):
    if name in DAY_FIELDS:
        return translate("%(days)s days", days=minimum)
    return str(minimum)


def _default(engine_field):
    return lambda self: ENGINE_DEFAULTS[engine_field]


def _tier_default(position):
    return lambda self: ENGINE_DEFAULTS["tier_cuts"][position]


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    custseg_lookback_days = fields.Integer(
        string="Lookback Window (days)",
        config_parameter="custseg.lookback_days",
        default=0,
        help="Only purchases within this many days count for frequency and "
        "revenue; 0 uses the whole history.",
    )
    custseg_bins = fields.Integer(
        string="Score Bins",
        config_parameter="custseg.bins",
        default=_default("bins"),
        help="R, F and M scores run from 1 to this number (quantiles of ranks). "
        "Saving another number moves every segment's score ranges onto it, in "
        "proportion; with fewer bins, a segment left without a cell is archived.",
    )
    custseg_tier_key_cut = fields.Float(
        string="Key Customers' Share",
        config_parameter="custseg.tier_key_cut",
        default=_tier_default(0),
        help="Customers making the first share of revenue are key customers.",
    )
    custseg_tier_important_cut = fields.Float(
        string="Important Customers' Share",
        config_parameter="custseg.tier_important_cut",
        default=_tier_default(1),
    )
    custseg_tier_ordinary_cut = fields.Float(
        string="Ordinary Customers' Share",
        config_parameter="custseg.tier_ordinary_cut",
        default=_tier_default(2),
        help="Customers beyond this cumulative share of revenue are small.",
    )
    custseg_loyal_min_frequency = fields.Integer(
        string="Regular From (purchase days)",
        config_parameter="custseg.loyal_min_frequency",
        default=_default("loyal_min_frequency"),
    )
    custseg_at_risk_gap_multiple = fields.Float(
        string="Lapsing After (× usual gap)",
        config_parameter="custseg.at_risk_gap_multiple",
        default=_default("at_risk_gap_multiple"),
        help="A customer is lapsing when the time since the last purchase "
        "exceeds this multiple of the customer's own usual gap between purchases.",
    )
    custseg_at_risk_min_days = fields.Integer(
        string="Lapsing Not Before (days)",
        config_parameter="custseg.at_risk_min_days",
        default=_default("at_risk_min_days"),
    )
    custseg_at_risk_max_days = fields.Integer(
        string="Lapsing At Latest (days)",
        config_parameter="custseg.at_risk_max_days",
        default=_default("at_risk_max_days"),
    )
    custseg_churn_days = fields.Integer(
        string="Churned After (days)",
        config_parameter="custseg.churn_days",
        default=_default("churn_days"),
    )
    custseg_horizon_days = fields.Integer(
        string="Likelihood Horizon (days)",
        config_parameter="custseg.horizon_days",
        default=_default("horizon_days"),
    )
    custseg_clv_days = fields.Integer(
        string="CLV Horizon (days)",
        config_parameter="custseg.clv_days",
        default=_default("clv_days"),
    )
    # Booleans that default to True are kept out of config_parameter: Odoo
    # deletes a False parameter, and the default would then come back.
    custseg_clustering = fields.Boolean(string="Clustering")
    custseg_k_min = fields.Integer(
        string="Clusters From",
        config_parameter="custseg.k_min",
        default=_default("k_min"),
    )
    custseg_k_max = fields.Integer(
        string="Clusters To",
        config_parameter="custseg.k_max",
        default=_default("k_max"),
    )
    custseg_followups_enabled = fields.Boolean(string="Automatic Follow-ups")
    custseg_followup_user_id = fields.Many2one(
        "res.users",
        string="Default Follow-up User",
        config_parameter="custseg.followup_user_id",
        help="Gets follow-ups of customers with neither a salesperson nor a "
        "segment owner.",
    )
    custseg_control_groups = fields.Boolean(
        string="Control Groups",
        help="Hold out each segment's control share of the customers entering it "
        "from the follow-up, to measure the follow-ups' lift.",
    )
    custseg_followup_locked = fields.Boolean(
        string="Follow-ups for Locked Customers",
        config_parameter="custseg.followup_locked",
        default=False,
        help="Schedule follow-ups for customers whose segment was set by hand.",
    )
    custseg_followups_on_baseline = fields.Boolean(
        string="Follow-ups on the First Run",
        config_parameter="custseg.followups_on_baseline",
        default=False,
        help="The first run classifies every customer at once. Off: it schedules "
        "no follow-up, and later runs schedule them for the customers who enter "
        "a segment. On a large database, on would give every salesperson "
        "thousands of activities in one night.",
    )

    custseg_value_basis = fields.Selection(
        [("revenue", "Revenue"), ("profit", "Profit")],
        string="Value Basis",
        config_parameter="custseg.value_basis",
        default="revenue",
        help="Revenue: value tiers split net revenue. Profit: they split positive "
        "profit (margin minus cost to serve), customers whose profit is zero or "
        "less despite purchases are negative, and the predicted CLV is in profit.",
    )
    custseg_cost_per_invoice = fields.Float(
        string="Cost per Invoice",
        config_parameter="custseg.cost_per_invoice",
        default=0.0,
        help="Cost to serve of each customer invoice (handling, shipping, "
        "admin), in the company currency.",
    )
    custseg_cost_per_refund = fields.Float(
        string="Cost per Refund",
        config_parameter="custseg.cost_per_refund",
        default=0.0,
        help="Cost to serve of each credit note (returns handling), in the "
        "company currency.",
    )
    custseg_cost_revenue_share = fields.Float(
        string="Cost to Serve (% of Revenue)",
        config_parameter="custseg.cost_revenue_share",
        default=0.0,
        help="Share of net revenue that serving a customer costs (payment "
        "fees, commissions).",
    )

    @api.model
    def get_values(self):
        values = super().get_values()
        for setting, (key, default) in TRUE_BY_DEFAULT_FLAGS.items():
            try:
                values[setting] = self._custseg_flag(key, default)
            except ValidationError:
                # The form still opens; saving it stores a valid value.
                values[setting] = default
        return values

    def set_values(self):
        self._custseg_check_values()
        self.env["custseg.segment"]._apply_score_bins(self.custseg_bins)
        res = super().set_values()
        # sudo: as Odoo's own set_values does for config_parameter fields; only
        # administrators get here (execute() checks it).
        params = self.env["ir.config_parameter"].sudo()
        for setting, (key, _default) in TRUE_BY_DEFAULT_FLAGS.items():
            params.set_param(key, str(bool(self[setting])))
        return res

    def action_custseg_preview_bins(self):
        """Open the grid editor on the segments moved onto the bins typed in
        the settings: how many customers would move, before saving."""
        self.ensure_one()
        problems = self._custseg_user_problems()
        if problems:
            raise ValidationError("\n".join(problems))
        return self.env["custseg.grid.editor"]._action_open(self.custseg_bins)

    @api.model
    def _custseg_flag(self, key, default):
        """A flag parameter; ``default`` is its declared default (see
        tools/settings.py), kept in the signature for the callers."""
        return read_setting(self.env, key)

    def _custseg_label(self, name):
        """A setting's label as the screen shows it, in the user's language,
        without its unit in brackets (the message puts the unit on the value)."""
        label = self._fields[name]._description_string(self.env)
        return TRAILING_UNIT.sub("", label)

    def _custseg_user_problems(self):
        """What is wrong with the settings, in the words and units of the
        screen: field labels, percentages, days."""
        _ = self.env._
        label = self._custseg_label

        def shown(name):
            value = self[name]
            if name in TIER_CUT_FIELDS:
                return f"{value * 100:g} %"
            if name in DAY_FIELDS:
                return _("%(days)s days", days=value)
            return f"{value:g}" if isinstance(value, float) else str(value)

        def problem(message, name, other=None, **values):
            """``message`` about setting ``name`` (and ``other``), each shown
            as "Label (value)"."""
            values["setting"] = f"{label(name)} ({shown(name)})"
            if other:
                values["other"] = f"{label(other)} ({shown(other)})"
            return message % values

        problems = []
        minimums = {
            "custseg_lookback_days": 0,
            "custseg_loyal_min_frequency": 2,
            "custseg_at_risk_min_days": 0,
            "custseg_at_risk_max_days": 0,
            "custseg_churn_days": 1,
            "custseg_horizon_days": 1,
            "custseg_clv_days": 1,
            "custseg_k_min": 2,
            "custseg_k_max": 2,
        }
        if not 2 <= self.custseg_bins <= MAX_BINS:
            problems.append(
                problem(
                    _("%(setting)s must be between 2 and %(maximum)s."),
                    "custseg_bins",
                    maximum=MAX_BINS,
                )
            )
        for name, minimum in minimums.items():
            if self[name] < minimum:
                problems.append(
                    problem(
                        _("%(setting)s must be at least %(minimum)s."),
                        name,
                        minimum=shown_minimum(name, minimum, _),
                    )
                )
        for name in TIER_CUT_FIELDS:
            if not 0.0 < self[name] < 1.0:
                problems.append(
                    problem(_("%(setting)s must be between 0 %% and 100 %%."), name)
                )
        for lower, upper in zip(TIER_CUT_FIELDS, TIER_CUT_FIELDS[1:], strict=False):
            if self[lower] >= self[upper]:
                problems.append(
                    problem(_("%(setting)s must be below %(other)s."), lower, upper)
                )
        if self.custseg_at_risk_gap_multiple <= 0:
            problems.append(
                problem(
                    _("%(setting)s must be above 0."), "custseg_at_risk_gap_multiple"
                )
            )
        # Cross-field checks a person expects (first <= then).
        for first, then in (
            ("custseg_at_risk_min_days", "custseg_at_risk_max_days"),
            ("custseg_at_risk_max_days", "custseg_churn_days"),
            ("custseg_k_min", "custseg_k_max"),
        ):
            if self[first] > self[then]:
                problems.append(
                    problem(_("%(setting)s must be at least %(other)s."), then, first)
                )
        return problems

    def _custseg_check_values(self):
        """Validate the whole configuration before saving: first in the
        screen's words, then as the engine would."""
        problems = self._custseg_user_problems()
        if problems:
            raise ValidationError("\n".join(problems))
        self._custseg_cost_to_serve(
            self.custseg_cost_per_invoice,
            self.custseg_cost_per_refund,
            self.custseg_cost_revenue_share,
        )
        values = {
            engine: self[setting] for setting, engine in ENGINE_PARAMETERS.items()
        }
        self._custseg_validate(
            clustering=self.custseg_clustering,
            lookback_days=self.custseg_lookback_days,
            tier_cuts=tuple(self[name] for name in TIER_CUT_FIELDS),
            **values,
        )

    @api.model
    def _custseg_validate(self, lookback_days, **values):
        segments = self.env["custseg.segment"]
        grid = segments._rule_grid()
        bins = values.get("bins")
        if isinstance(bins, int) and bins >= 2 and bins != segments._score_bins():
            # Saving moves the segments onto the new bins (set_values).
            grid, _vanished = segments._rescaled_rule_grid(bins)
        try:
            return SegmentationConfig(
                lookback_days=lookback_days or None, segment_grid=grid, **values
            )
        except ValueError as error:
            raise ValidationError(
                self.env._("Invalid segmentation settings: %(error)s", error=error)
            ) from error

    @api.model
    def _custseg_engine_config(self):
        """The engine configuration from the saved settings and segments."""
        values = {
            engine: read_setting(self.env, self._fields[setting].config_parameter)
            for setting, engine in ENGINE_PARAMETERS.items()
        }
        tier_cuts = tuple(
            read_setting(self.env, self._fields[name].config_parameter)
            for name in TIER_CUT_FIELDS
        )
        lookback = read_setting(self.env, "custseg.lookback_days")
        clustering = self._custseg_flag(*TRUE_BY_DEFAULT_FLAGS["custseg_clustering"])
        return self._custseg_validate(
            lookback_days=lookback,
            tier_cuts=tier_cuts,
            clustering=clustering,
            **values,
        )

    @api.model
    def _custseg_cost_to_serve(self, per_invoice, per_refund, revenue_share):
        """The engine's CostToServe; a ValidationError in the settings' words."""
        labels = {
            "per_invoice": self._fields["custseg_cost_per_invoice"],
            "per_refund": self._fields["custseg_cost_per_refund"],
            "revenue_rate": self._fields["custseg_cost_revenue_share"],
        }
        try:
            return CostToServe(
                per_invoice=per_invoice,
                per_refund=per_refund,
                revenue_rate=revenue_share,
            )
        except ValueError as error:
            name = str(error).split(":", 1)[0]
            field = labels.get(name)
            raise ValidationError(
                self.env._(
                    "%(setting)s must be a number of 0 or more (a share below "
                    "100 %% for the percentage of revenue).",
                    setting=field._description_string(self.env) if field else name,
                )
            ) from error

    @api.model
    def _custseg_profit_settings(self):
        """(value basis, CostToServe) from the saved settings."""
        # sudo: as _custseg_engine_config, a run needs the system parameters.
        params = self.env["ir.config_parameter"].sudo()

        def amount(key):
            raw = params.get_param(key) or "0"
            try:
                return float(raw)
            except ValueError:
                raise ValidationError(
                    self.env._(
                        "Invalid segmentation settings: the system parameter "
                        "%(key)s is %(raw)s, not a number. Save the settings "
                        "again, or fix it in Settings › Technical › System "
                        "Parameters.",
                        key=key,
                        raw=repr(raw),
                    )
                ) from None

        basis = params.get_param("custseg.value_basis") or "revenue"
        if basis not in ("revenue", "profit"):
            basis = "revenue"
        return basis, self._custseg_cost_to_serve(
            amount("custseg.cost_per_invoice"),
            amount("custseg.cost_per_refund"),
            amount("custseg.cost_revenue_share"),
        )
