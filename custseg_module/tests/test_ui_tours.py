# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestCustsegTours(HttpCase):
    def test_menu_opens_segment_kanban(self):
        """The app menu opens the customers kanban with a column per segment."""
        self.start_tour("/odoo", "custseg_menu_tour", login="admin")
        segments = self.env["custseg.segment"].search([])
        self.assertGreaterEqual(len(segments), 12)
