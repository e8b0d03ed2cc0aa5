# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class CustsegRunLine(models.Model):
    _name = "custseg.run.line"
    _description = "Segment Distribution of a Run"
    _order = "run_id desc, segment_sequence, id"

    run_id = fields.Many2one(
        "custseg.run", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="run_id.currency_id")
    segment_id = fields.Many2one("custseg.segment", required=True, ondelete="cascade")
    segment_sequence = fields.Integer(related="segment_id.sequence", store=True)
    customer_count = fields.Integer(string="Customers", aggregator="sum")
    entered_count = fields.Integer(
        string="Entered",
        aggregator="sum",
        help="Customers who entered this segment in this run.",
    )
    revenue = fields.Monetary(string="Net Revenue", aggregator="sum")
    revenue_share = fields.Float(aggregator="sum", digits=(16, 4))
