# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL

from .tools.field_map import RECOMMENDATION_TABLE
from .tools.posted_moves import CUSTOMER_MOVES_INDEX, LINE_COST_TABLE


def uninstall_hook(env):
    """Odoo drops the module's tables and columns on uninstall, not the index
    it created on account's own table (models/account_move.py), nor the tables
    the module made in SQL: the line costs the runs keep
    (models/custseg_run_profit.py) and the recommendations
    (models/custseg_recommendation.py)."""
    env.cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(CUSTOMER_MOVES_INDEX)))
    for table in (LINE_COST_TABLE, RECOMMENDATION_TABLE):
        env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(table)))
