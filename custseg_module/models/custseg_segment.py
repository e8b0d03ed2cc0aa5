# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine import grid_problems

PROSPECT_CODE = "prospect"


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
    r_score_min = fields.Integer(string="Recency Score From", default=1)
    r_score_max = fields.Integer(string="Recency Score To", default=1)
    f_score_min = fields.Integer(string="Frequency Score From", default=1)
    f_score_max = fields.Integer(string="Frequency Score To", default=1)

    customer_count = fields.Integer(compute="_compute_kpis", string="Customers")
    revenue = fields.Float(compute="_compute_kpis", string="Net Revenue")
    revenue_share = fields.Float(
        compute="_compute_kpis",
        string="Revenue Share",
        help="Share of the positive net revenue of all segmented customers.",
    )
    average_clv = fields.Float(compute="_compute_kpis", string="Average Predicted CLV")

    _sql_constraints = [
        ("code_unique", "UNIQUE(code)", "The segment code must be unique."),
    ]

    def _compute_kpis(self):
        """KPIs over commercial partners only, so contacts are not counted twice."""
        stats = {}
        total_positive = 0.0
        if self.ids:
            self.env["res.partner"].flush_model(
                ["customer_segment_id", "rfm_monetary", "predicted_clv"]
            )
            self.env.cr.execute(
                """
                SELECT customer_segment_id, COUNT(*),
                       COALESCE(SUM(rfm_monetary), 0),
                       COALESCE(SUM(GREATEST(rfm_monetary, 0)), 0),
                       COALESCE(AVG(predicted_clv), 0)
                  FROM res_partner
                 WHERE customer_segment_id IS NOT NULL
                   AND id = commercial_partner_id
                   AND active
                 GROUP BY customer_segment_id
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

    @api.model
    def _score_bins(self):
        return int(self.env["ir.config_parameter"].sudo().get_param("custseg.bins", 5))

    @api.model
    def _rule_grid(self):
        """The active rule segments as the engine's grid: code -> (r, r, f, f)."""
        rules = self.search([("kind", "=", "rule")])
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
        return self.search([("kind", "=", "prospect")], limit=1)

    @api.model
    def _check_grid_for_bins(self, bins):
        """Raise a ValidationError naming missing or doubled R×F cells."""
        problems = grid_problems(self._rule_grid(), bins)
        if problems:
            raise ValidationError(
                self.env._(
                    "The active segments must cover every recency × frequency "
                    "cell exactly once (%(bins)s × %(bins)s scores): %(problems)s",
                    bins=bins,
                    problems="; ".join(problems),
                )
            )

    @api.constrains(
        "active", "kind", "r_score_min", "r_score_max", "f_score_min", "f_score_max"
    )
    def _check_rule_grid(self):
        # Data files create segments one at a time: the grid is checked once
        # they are all loaded (see data/custseg_segment_data.xml).
        if self.env.context.get("install_filename"):
            return
        self._check_complete_grid()

    @api.model
    def _check_complete_grid(self):
        self._check_grid_for_bins(self._score_bins())
        if self.search_count([("kind", "=", "prospect")]) != 1:
            raise ValidationError(
                self.env._("Exactly one active segment must be the prospect segment.")
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

    def action_open_customers(self):
        self.ensure_one()
        action = self.env["ir.actions.actions"]._for_xml_id(
            "custseg_module.res_partner_action_segment_kanban"
        )
        action["domain"] = [("customer_segment_id", "=", self.id)]
        action["context"] = {"default_customer_segment_id": self.id}
        return action
