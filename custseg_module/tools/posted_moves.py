# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL

# The module's partial covering index on account_move (models/account_move.py).
CUSTOMER_MOVES_INDEX = "custseg_account_move_company_day_idx"
# The cost of each invoice's lines, kept between runs: a run recomputes only
# the invoices written since the last one (custseg.run._refresh_line_costs).
# A cache rebuilt from account_move_line, so UNLOGGED: no WAL, emptied by a
# crash; not a model, so the uninstall hook drops it.
LINE_COST_TABLE = "custseg_line_cost"


def posted_customer_moves(alias=None):
    """The rows CUSTOMER_MOVES_INDEX covers, posted customer invoices and
    refunds: one definition, since a query can use the partial index only
    when it repeats this predicate."""

    def column(name):
        return SQL.identifier(alias, name) if alias else SQL.identifier(name)

    return SQL(
        "%s = 'posted' AND %s IN ('out_invoice', 'out_refund')",
        column("state"),
        column("move_type"),
    )
