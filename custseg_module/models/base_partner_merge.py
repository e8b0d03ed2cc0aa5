# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..tools.context_markers import MERGE_CONTEXT


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
