# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The grid editor: reshape the whole R×F grid, preview, save once.

Segments keep rectangular score ranges (the engine's grid format); the editor
holds one line per active rule segment, draws the proposed grid, lists what is
wrong with it in the segments' names, and counts how many customers would move
from each segment to each other under it, from the latest run. Nothing is
written until the manager confirms; the whole grid is then written and checked
in one save (custseg.segment._write_rule_grid).
"""

import pandas as pd
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..engine.grid_preview import segment_moves

RANGE_FIELDS = ("r_score_min", "r_score_max", "f_score_min", "f_score_max")


class CustsegGridEditor(models.TransientModel):
    _name = "custseg.grid.editor"
    _description = "Segment Grid Editor"
    _order = "id desc"

    bins = fields.Integer(
        string="Score Bins",
        required=True,
        readonly=True,
        help="Scores run from 1 to this number. Change it in the settings; "
        "its Preview button opens this editor on the new number.",
    )
    bins_changed = fields.Boolean(compute="_compute_bins_changed")
    line_ids = fields.One2many(
        "custseg.grid.editor.line", "editor_id", string="Segment Ranges"
    )
    archived_segment_names = fields.Char(
        string="Archived on Save",
        readonly=True,
        help="Segments left without a cell by the new number of score bins.",
    )
    problems = fields.Text(compute="_compute_preview")
    grid_html = fields.Html(
        string="New Grid", compute="_compute_preview", sanitize=True
    )
    preview_html = fields.Html(
        string="Customers Moving", compute="_compute_preview", sanitize=True
    )
    moving_count = fields.Integer(
        string="Customers Changing Segment", compute="_compute_preview"
    )
    scored_count = fields.Integer(string="Customers Scored", compute="_compute_preview")

    @api.model
    def _action_open(self, bins=None):
        """Open the editor on the saved grid, or on the saved grid moved onto
        ``bins`` scores (the settings' preview)."""
        segments = self.env["custseg.segment"]
        current_bins = segments._score_bins()
        bins = bins or current_bins
        grid, vanished = segments._rescaled_rule_grid(bins)
        rules = segments.search([("kind", "=", "rule"), ("active", "=", True)])
        editor = self.create(
            {
                "bins": bins,
                "archived_segment_names": ", ".join(
                    rules.filtered(lambda s: s.code in vanished).mapped("name")
                ),
                "line_ids": [
                    fields.Command.create(
                        {
                            "segment_id": segment.id,
                            **dict(zip(RANGE_FIELDS, grid[segment.code], strict=True)),
                        }
                    )
                    for segment in rules
                    if segment.code in grid
                ],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Edit Segment Grid"),
            "res_model": self._name,
            "res_id": editor.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.depends("bins")
    def _compute_bins_changed(self):
        current = self.env["custseg.segment"]._score_bins()
        for editor in self:
            editor.bins_changed = editor.bins != current

    def _grid(self):
        self.ensure_one()
        return {
            line.segment_id.code: tuple(line[name] for name in RANGE_FIELDS)
            for line in self.line_ids
        }

    @api.depends("bins", *(f"line_ids.{name}" for name in RANGE_FIELDS))
    def _compute_preview(self):
        segments = self.env["custseg.segment"]
        for editor in self:
            grid = editor._grid()
            problems = segments._grid_problem_messages(grid, editor.bins)
            editor.problems = "\n".join(problems) or False
            editor.grid_html = editor._render_grid(grid)
            if problems or not grid:
                editor.preview_html = False
                editor.moving_count = editor.scored_count = 0
                continue
            moves = editor._moves(grid)
            moving = moves[moves["from"] != moves["to"]]
            editor.moving_count = int(moving["customers"].sum())
            editor.scored_count = int(moves["customers"].sum())
            editor.preview_html = editor._render_moves(moving)

    def _render_grid(self, grid):
        segments = self.env["custseg.segment"]
        bins = self.bins
        rules = {
            segment.code: segment
            for segment in segments.with_context(active_test=False).search(
                [("code", "in", list(grid))]
            )
        }
        owners = {
            (r, f): [
                code
                for code, (r_min, r_max, f_min, f_max) in grid.items()
                if r_min <= r <= r_max and f_min <= f <= f_max
            ]
            for r in range(1, bins + 1)
            for f in range(1, bins + 1)
        }
        return segments._render_rule_grid(bins, grid, rules, owners)

    def _moves(self, grid):
        """Customers per (segment today, segment under ``grid``), from the
        latest run's scores; scored anew from the last purchase day and the
        frequency when the number of bins differs."""
        bins = self.bins
        partners = self.env["res.partner"]
        partners.flush_model(
            [
                "customer_segment_id",
                "rfm_r_score",
                "rfm_f_score",
                "rfm_frequency",
                "last_purchase_date",
                "segment_locked",
            ]
        )
        cr = self.env.cr
        # Purchasers of the latest run: a score of 0 means no purchase.
        cr.execute(
            """
            SELECT MAX(GREATEST(rfm_r_score, rfm_f_score))
              FROM res_partner
             WHERE id = commercial_partner_id AND active AND rfm_r_score > 0
            """
        )
        top_score = cr.fetchone()[0] or 0
        rescore = bins != self.env["custseg.segment"]._score_bins() or top_score > bins
        if rescore:
            cr.execute(
                """
                SELECT s.code, p.last_purchase_date - DATE '2000-01-01',
                       p.rfm_frequency, COALESCE(p.segment_locked, FALSE), COUNT(*)
                  FROM res_partner p
                  JOIN custseg_segment s ON s.id = p.customer_segment_id
                 WHERE p.id = p.commercial_partner_id AND p.active
                   AND p.rfm_r_score > 0 AND p.last_purchase_date IS NOT NULL
                 GROUP BY 1, 2, 3, 4
                """
            )
            columns = ["segment", "last_day", "frequency", "locked", "customers"]
        else:
            cr.execute(
                """
                SELECT s.code, p.rfm_r_score, p.rfm_f_score,
                       COALESCE(p.segment_locked, FALSE), COUNT(*)
                  FROM res_partner p
                  JOIN custseg_segment s ON s.id = p.customer_segment_id
                 WHERE p.id = p.commercial_partner_id AND p.active
                   AND p.rfm_r_score > 0 AND p.rfm_f_score > 0
                 GROUP BY 1, 2, 3, 4
                """
            )
            columns = ["segment", "r_score", "f_score", "locked", "customers"]
        groups = pd.DataFrame(cr.fetchall(), columns=columns)
        try:
            return segment_moves(groups, grid, bins)
        except ValueError as error:
            raise UserError(
                self.env._("The preview failed: %(error)s", error=error)
            ) from error

    def _render_moves(self, moving):
        _ = self.env._
        if moving.empty:
            return Markup("<p>{}</p>").format(
                _("No customer changes segment under this grid.")
            )
        names = {
            segment.code: segment.name
            for segment in self.env["custseg.segment"]
            .with_context(active_test=False)
            .search([])
        }
        rows = Markup().join(
            Markup(
                '<tr class="o_custseg_move"><td>{}</td><td>{}</td>'
                '<td class="text-end">{}</td></tr>'
            ).format(
                names.get(move["from"], move["from"]),
                names.get(move["to"], move["to"]),
                int(move["customers"]),
            )
            for move in moving.to_dict("records")
        )
        return Markup(
            '<table class="table table-sm o_custseg_moves"><thead><tr>'
            '<th>{}</th><th>{}</th><th class="text-end">{}</th></tr></thead>'
            "<tbody>{}</tbody></table>"
        ).format(_("From segment"), _("To segment"), _("Customers"), rows)

    def action_confirm(self):
        """Write the whole grid in one save; the next run moves the customers."""
        self.ensure_one()
        problems = self.env["custseg.segment"]._grid_problem_messages(
            self._grid(), self.bins
        )
        if problems:
            raise ValidationError("\n".join(problems))
        archived = self.env["custseg.segment"]._write_rule_grid(self._grid(), self.bins)
        message = self.env._(
            "Segment grid saved. The next run moves the customers into their new "
            "segments."
        )
        if archived:
            message += " " + self.env._(
                "Archived: %(segments)s.", segments=", ".join(archived.mapped("name"))
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
