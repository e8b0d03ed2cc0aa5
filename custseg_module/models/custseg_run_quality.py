# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The model-quality card of a run: the engine's backtest of the likelihood
(engine/backtest.py) stored on the run, in figures and in plain words.

An abstract model that ``custseg.run`` inherits: the card's fields and its
wording live here, the run itself in custseg_run.py.
"""

from odoo import api, fields, models


class CustsegRunQuality(models.AbstractModel):
    _name = "custseg.run.quality"
    _description = "Model-Quality Card of a Run"

    quality_cutoff = fields.Date(
        string="Backtest Cut-off",
        readonly=True,
        help="The likelihood was recomputed on the data known at this date only, "
        "then compared with what customers did afterwards.",
    )
    quality_horizon_days = fields.Integer(
        string="Backtest Horizon (days)",
        readonly=True,
        help="Days after the cut-off over which purchases were counted.",
    )
    quality_customer_count = fields.Integer(
        string="Customers Backtested",
        readonly=True,
        help="Customers who had bought by the cut-off (at most 50,000, a fixed "
        "random sample).",
    )
    quality_buyer_count = fields.Integer(
        string="Buyers After Cut-off",
        readonly=True,
        help="Of them, those who bought within the horizon after the cut-off.",
    )
    quality_auc = fields.Float(
        string="Ranking (AUC)",
        readonly=True,
        digits=(16, 4),
        help="How often the likelihood ranks a customer who bought above one "
        "who did not: 0.5 is a coin toss, 1 is perfect.",
    )
    quality_brier = fields.Float(
        string="Brier Score",
        readonly=True,
        digits=(16, 4),
        help="Mean squared gap between the likelihood and what happened (1 if "
        "bought, 0 if not): lower is better.",
    )
    quality_ece = fields.Float(
        string="Calibration Error",
        readonly=True,
        digits=(16, 4),
        help="Average gap between the predicted and the observed buying rate "
        "over ten equal groups of customers: 0.03 means 3 points.",
    )
    baseline_auc = fields.Float(
        string="Recency Alone: Ranking (AUC)",
        readonly=True,
        digits=(16, 4),
        help="The same ranking measure for a model that only knows how long ago "
        "each customer last bought, fitted in the same run.",
    )
    baseline_brier = fields.Float(
        string="Recency Alone: Brier Score",
        readonly=True,
        digits=(16, 4),
        help="The Brier score of the recency-only model.",
    )
    quality_checked = fields.Boolean(
        string="Likelihood Backtested",
        readonly=True,
        help="Whether there was enough history to check the likelihood.",
    )
    likelihood_fallback_reason = fields.Char(
        string="Fallback Reason",
        readonly=True,
        help="Why this run used the simpler BG/NBD model instead of the learned "
        "likelihood.",
    )
    calibration_bin_ids = fields.One2many(
        "custseg.run.calibration.bin",
        "run_id",
        string="Calibration Table",
        readonly=True,
    )
    population_profile = fields.Json(
        readonly=True,
        help="Percentiles of the customers' figures and the stage thresholds of "
        "this run: what each customer's why is worded from.",
    )
    quality_summary = fields.Text(
        string="Model Quality",
        compute="_compute_quality_summary",
        help="The model-quality card in plain words.",
    )

    @api.depends(
        "quality_checked",
        "quality_auc",
        "baseline_auc",
        "quality_ece",
        "likelihood_fallback_reason",
        "likelihood_method",
    )
    def _compute_quality_summary(self):
        _ = self.env._
        for run in self:
            lines = []
            if run.quality_checked:
                # Not an f-string inside _(): the .pot extractor evaluates those.
                points = "%.1f" % (run.quality_ece * 100)
                lines.append(
                    _(
                        "On your customers, the likelihood ranks a buyer above a "
                        "non-buyer %(model)s %% of the time (recency alone: "
                        "%(baseline)s %%); predictions are within %(points)s "
                        "points of what happened.",
                        model=round(run.quality_auc * 100),
                        baseline=round(run.baseline_auc * 100),
                        points=points,
                    )
                )
                lines.append(
                    _(
                        "Checked on the %(customers)s customers who had bought by "
                        "%(cutoff)s, against their purchases in the next "
                        "%(days)s days (%(buyers)s bought).",
                        customers=run.quality_customer_count,
                        cutoff=run.quality_cutoff,
                        days=run.quality_horizon_days,
                        buyers=run.quality_buyer_count,
                    )
                )
            elif run.state == "done":
                lines.append(
                    _("The likelihood could not be checked on this history yet.")
                )
            if run.likelihood_fallback_reason:
                lines.append(
                    _(
                        "This run used the simpler BG/NBD model (repeat-purchase "
                        "statistics only) because %(reason)s.",
                        reason=run.likelihood_fallback_reason,
                    )
                )
            run.quality_summary = "\n".join(lines) or False

    def _write_quality_card(self, attrs):
        """Store the engine's card (``attrs["backtest"]``) and population
        profile (``attrs["population"]``) of the result on the run."""
        self.ensure_one()
        card = attrs.get("backtest") or {}
        checked = card.get("auc") is not None
        self.write(
            {
                "population_profile": attrs.get("population") or False,
                "quality_checked": checked,
                "quality_cutoff": card.get("cutoff") or False,
                "quality_horizon_days": card.get("horizon_days") or 0,
                "quality_customer_count": card.get("customers") or 0,
                "quality_buyer_count": card.get("buyers") or 0,
                "quality_auc": card.get("auc") or 0.0,
                "quality_brier": card.get("brier") or 0.0,
                "quality_ece": card.get("ece") or 0.0,
                "baseline_auc": card.get("baseline_auc") or 0.0,
                "baseline_brier": card.get("baseline_brier") or 0.0,
                "likelihood_fallback_reason": card.get("fallback_reason") or False,
            }
        )
        self.env["custseg.run.calibration.bin"].create(
            [
                {
                    "run_id": self.id,
                    "sequence": index,
                    "predicted": row["predicted"],
                    "observed": row["observed"],
                    "customer_count": row["count"],
                }
                for index, row in enumerate(card.get("bins") or [], start=1)
            ]
        )
