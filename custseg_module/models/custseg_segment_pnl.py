# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class CustsegSegmentPnl(models.Model):
    """Profit and loss per segment and month, recomputed by every run, which
    writes the rows that changed (custseg.run._write_segment_pnl).

    Each invoice counts for the segment its customer was in on the invoice
    date, read from the segment history (custseg.run._phase_segment_pnl).
    """

    _name = "custseg.segment.pnl"
    _description = "Segment Profit and Loss"
    _order = "month desc, segment_id"
    _rec_name = "segment_id"

    # Rows a run leaves unchanged keep their run: deleting an older run must
    # not delete past months.
    run_id = fields.Many2one(
        "custseg.run",
        ondelete="set null",
        index=True,
        help="The run that last changed this row.",
    )
    company_id = fields.Many2one("res.company", required=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    month = fields.Date(required=True, readonly=True, help="First day of the month.")
    segment_id = fields.Many2one(
        "custseg.segment", ondelete="cascade", index=True, readonly=True
    )
    # The segment's owner today: who answers for its P&L, past months included.
    owner_id = fields.Many2one(
        related="segment_id.owner_id",
        string="Segment Owner",
        store=True,
        index=True,
        readonly=True,
    )
    revenue = fields.Monetary(string="Net Revenue", readonly=True)
    cost = fields.Monetary(string="Cost of Goods", readonly=True)
    margin = fields.Monetary(string="Gross Margin", readonly=True)
    cost_to_serve = fields.Monetary(string="Cost to Serve", readonly=True)
    profit = fields.Monetary(readonly=True)
    customer_count = fields.Integer(
        string="Customers",
        readonly=True,
        aggregator="max",
        help="Customers invoiced in the month while in the segment (the "
        "largest month when several are grouped together).",
    )

    @api.model
    def action_open_report(self):
        """The P&L report; a segment owner starts on their own segments."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "custseg_module.custseg_segment_pnl_action"
        )
        owns = self.env["custseg.segment"].search_count(
            [("owner_id", "=", self.env.uid)], limit=1
        )
        action["context"] = {"search_default_my_segments": 1} if owns else {}
        return action
