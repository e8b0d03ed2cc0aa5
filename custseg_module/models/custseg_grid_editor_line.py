# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class CustsegGridEditorLine(models.TransientModel):
    _name = "custseg.grid.editor.line"
    _description = "Segment Grid Editor Line"
    _order = "id"

    editor_id = fields.Many2one(
        "custseg.grid.editor", required=True, ondelete="cascade", index=True
    )
    segment_id = fields.Many2one("custseg.segment", required=True, readonly=True)
    color = fields.Integer(related="segment_id.color")
    r_score_min = fields.Integer(string="Recency From", required=True)
    r_score_max = fields.Integer(string="Recency To", required=True)
    f_score_min = fields.Integer(string="Frequency From", required=True)
    f_score_max = fields.Integer(string="Frequency To", required=True)
