# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class CustsegRunCalibrationBin(models.Model):
    """One row of a run's calibration table: the backtested customers ranked
    by predicted likelihood and cut into ten equal groups."""

    _name = "custseg.run.calibration.bin"
    _description = "Likelihood Calibration Bin"
    _order = "run_id desc, sequence"

    run_id = fields.Many2one(
        "custseg.run", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(
        string="Group",
        readonly=True,
        help="1 = the tenth of customers with the lowest predicted likelihood.",
    )
    predicted = fields.Float(
        readonly=True,
        digits=(16, 4),
        aggregator="avg",
        help="Average likelihood the model gave this group at the backtest's cut-off.",
    )
    observed = fields.Float(
        readonly=True,
        digits=(16, 4),
        aggregator="avg",
        help="Share of the group who actually bought in the following horizon.",
    )
    customer_count = fields.Integer(
        string="Customers", readonly=True, help="Customers in this group."
    )
