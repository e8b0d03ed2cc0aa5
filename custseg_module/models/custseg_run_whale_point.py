# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class CustsegRunWhalePoint(models.Model):
    """One point of a run's whale curve: customers ranked by profit, best
    first; at each percent of them, their cumulative share of total profit."""

    _name = "custseg.run.whale.point"
    _description = "Whale Curve Point"
    _order = "run_id desc, customer_percent"

    run_id = fields.Many2one(
        "custseg.run", required=True, ondelete="cascade", index=True
    )
    latest = fields.Boolean(
        string="Latest Run",
        readonly=True,
        index=True,
        help="Point of the latest completed run's curve (Analysis › Whale Curve).",
    )
    customer_percent = fields.Integer(
        string="Customers (%)",
        readonly=True,
        help="Share of customers, ranked by profit, best first.",
    )
    profit_percent = fields.Float(
        string="Cumulative Profit (%)",
        readonly=True,
        digits=(16, 1),
        aggregator="max",
        help="Their profit as a percentage of the total profit of all customers.",
    )
