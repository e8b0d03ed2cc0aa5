# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL

from .tools.posted_moves import CUSTOMER_MOVES_INDEX, LINE_COST_TABLE


def uninstall_hook(env):
    """Odoo drops the module's tables and columns on uninstall, not the index
    it created on account's own table (models/account_move.py) nor the line
    costs the runs keep in a table of their own (models/custseg_run_profit.py)."""
    env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(CUSTOMER_MOVES_INDEX)))
    env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(LINE_COST_TABLE)))
