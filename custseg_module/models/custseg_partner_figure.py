# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from ..tools import compat
from ..tools.field_map import FIGURE_TABLE

# Room on each page for a new version of every row (nearly all change each
# night): at 70 % 57 % of the updates left the page, each with two index
# entries; at 50 % 98 % stay HOT and a next day's WAL at 100k customers is
# 9-10 MB instead of 16-24 MB (docs/performance.md, Round 14).
FIGURE_FILLFACTOR = 50
LOG_ACCESS_COLUMNS = ("create_uid", "create_date", "write_uid", "write_date")
LEGACY_PROFIT_TABLE = "custseg_partner_profit"


class CustsegPartnerFigure(models.Model):
    """The daily-moving figures of each segmented customer (commercial
    partner): likelihood, CLV and profit, rewritten by every run where they
    differ (custseg.run _write_figures). They stay off res_partner, Odoo's
    busiest table; the partner reads, searches, sorts and aggregates them
    through its own non-stored fields of the same names
    (res.partner._field_to_sql)."""

    _name = "custseg.partner.figure"
    _table = FIGURE_TABLE
    _description = "Customer Daily Figures"
    _order = "purchase_probability desc, id"
    _rec_name = "partner_id"
    # Rewritten by the runs, which say who ran them and when: without
    # create/write uid and date a first run checks 2 foreign keys a row, not 4.
    _log_access = False

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, ondelete="cascade"
    )
    currency_id = fields.Many2one("res.currency", readonly=True)
    purchase_probability = fields.Float(
        string="Purchase Likelihood",
        digits=(16, 4),
        aggregator="avg",
        readonly=True,
        help="Probability of at least one purchase within the likelihood horizon.",
    )
    predicted_clv = fields.Monetary(
        string="Predicted CLV",
        readonly=True,
        help="Expected net revenue over the lifetime-value horizon; with the Profit "
        "value basis, expected profit: that revenue times the customer's profit "
        "rate, shrunk toward the typical customer's.",
    )
    purchase_gap_days = fields.Float(
        string="Usual Gap (days)",
        digits=(16, 1),
        aggregator="avg",
        readonly=True,
        help="Median days between the customer's purchase days: the gap the "
        "Lapsing rule multiplies. 0 below two purchase days.",
    )

    # The profit phase's figures (docs/profit.md).
    profit_revenue = fields.Monetary(
        string="Window Net Revenue",
        readonly=True,
        help="Net revenue over the lookback window, refunds deducted, from the "
        "last run.",
    )
    profit_cost = fields.Monetary(string="Cost of Goods", readonly=True)
    profit_margin = fields.Monetary(string="Gross Margin", readonly=True)
    profit_cost_to_serve = fields.Monetary(string="Cost to Serve", readonly=True)
    profit_amount = fields.Monetary(
        string="Profit",
        readonly=True,
        help="Gross margin minus cost to serve, from the last run.",
    )

    _partner_unique = compat.Constraint(
        "UNIQUE(partner_id)",
        "A customer has one row of daily figures, rewritten by each run.",
    )

    def init(self):
        cr = self.env.cr
        table = SQL.identifier(self._table)
        cr.execute(
            SQL("ALTER TABLE %s SET (fillfactor = %s)", table, FIGURE_FILLFACTOR)
        )
        # What 1.3.0 had and an update leaves: this table's log-access columns
        # (two foreign-key checks a row) and the profit table whose figures
        # are now here.
        cr.execute(
            SQL(
                "ALTER TABLE %s %s",
                table,
                SQL(", ").join(
                    SQL("DROP COLUMN IF EXISTS %s", SQL.identifier(column))
                    for column in LOG_ACCESS_COLUMNS
                ),
            )
        )
        cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(LEGACY_PROFIT_TABLE)))
