# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models
from odoo.tools import SQL
from odoo.tools.sql import index_exists

from ..tools.posted_moves import CUSTOMER_MOVES_INDEX, posted_customer_moves


# The run's aggregate (custseg.run._phase_aggregate) reads only these rows and
# columns: an index-only scan per group of companies, in (company, partner,
# date) order, feeds a streaming GroupAggregate, instead of a sequential scan
# of the whole, wide account_move and a hash aggregate that spills to disk.
# Company first: the companies in the run's currency and the others are two
# range scans, not two scans of every posted invoice. README.md, Performance.
class AccountMove(models.Model):
    _inherit = "account.move"

    def init(self):
        super().init()
        if index_exists(self.env.cr, CUSTOMER_MOVES_INDEX):
            return
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX %s ON account_move
                       (company_id, commercial_partner_id, invoice_date)
                       INCLUDE (amount_untaxed_signed)
                 WHERE %s
                """,
                SQL.identifier(CUSTOMER_MOVES_INDEX),
                posted_customer_moves(),
            )
        )
