# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models
from odoo.tools import SQL

from ..tools.context_markers import MERGE_CONTEXT
from ..tools.field_map import RECOMMENDATION_TABLE


class MergePartnerAutomatic(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_values(self, src_partners, dst_partner):
        """The survivor keeps its own segmentation. Odoo fills the survivor's
        empty fields with the duplicates' values: for segmentation figures that
        would mix two customers (and the write guard refuses it). The next run
        recomputes the survivor from the invoices of both."""
        return super()._update_values(
            src_partners, dst_partner.with_context(custseg_merge=MERGE_CONTEXT)
        )

    def _update_foreign_keys(self, src_partners, dst_partner):
        """The duplicates' recommendations go, as their figures do: the
        survivor keeps its own, and the next run recomputes them from both
        customers' invoices. Odoo's generic re-pointing would collide with
        the survivor's row (one per customer: 19.0 does not guard a primary
        key as it does a unique constraint)."""
        self.env.cr.execute(
            SQL(
                "DELETE FROM %s WHERE partner_id = ANY(%s)",
                SQL.identifier(RECOMMENDATION_TABLE),
                src_partners.ids,
            )
        )
        return super()._update_foreign_keys(src_partners, dst_partner)
