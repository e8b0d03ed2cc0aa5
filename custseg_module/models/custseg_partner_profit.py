# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..tools import compat


class CustsegPartnerProfit(models.Model):
    """Each segmented customer's profit over the lookback window, in the run
    company's currency, computed by every run (custseg.run._phase_profit) and
    written where it changed (custseg.run._write_profit).

    Daily-moving figures stay off res_partner (architecture: "res_partner is
    Odoo's busiest table"); these fields are meant to join the shared
    per-customer figure model once it exists.
    """

    _name = "custseg.partner.profit"
    _description = "Customer Profit"
    _order = "profit desc, id"
    # Rewritten by the runs; run_id says which one last changed a row. Without
    # create/write uid and date a first run checks 3 foreign keys a row, not 5.
    _log_access = False

    # Indexed by _partner_unique.
    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade")
    # Rows a run leaves unchanged keep their run: deleting an older run must
    # not delete the figures of today.
    run_id = fields.Many2one(
        "custseg.run",
        ondelete="set null",
        index=True,
        help="The run that last changed these figures.",
    )
    company_id = fields.Many2one("res.company", required=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    revenue = fields.Monetary(string="Net Revenue", readonly=True)
    cost = fields.Monetary(string="Cost of Goods", readonly=True)
    margin = fields.Monetary(string="Gross Margin", readonly=True)
    cost_to_serve = fields.Monetary(string="Cost to Serve", readonly=True)
    profit = fields.Monetary(readonly=True)
    invoice_count = fields.Integer(string="Invoices", readonly=True)
    refund_count = fields.Integer(string="Refunds", readonly=True)

    _partner_unique = compat.Constraint(
        "UNIQUE(partner_id)",
        "A customer has one profit row, rewritten by each run.",
    )
