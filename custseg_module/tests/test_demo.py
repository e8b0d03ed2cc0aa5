# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import random

from odoo.tests import TransactionCase, tagged

from ..models.custseg_demo import GEOGRAPHY


@tagged("post_install", "-at_install")
class TestDemoData(TransactionCase):
    def test_demo_customers_get_a_real_state_where_their_country_has_some(self):
        States = self.env["res.country.state"]
        for country_code, state_codes in GEOGRAPHY.items():
            country = self.env.ref(f"base.{country_code.lower()}")
            for code in state_codes:
                with self.subTest(country=country_code, state=code):
                    self.assertTrue(
                        States.search(
                            [("country_id", "=", country.id), ("code", "=", code)]
                        )
                    )
        salespeople = self.env.ref("base.user_admin")
        rng = random.Random(7)
        values = [
            self.env["custseg.demo"]._demo_partner_values(rng, index, salespeople)
            for index in range(60)
        ]
        countries = {vals["country_id"] for vals in values}
        self.assertEqual(len(countries), len(GEOGRAPHY))
        for vals in values:
            country = self.env["res.country"].browse(vals["country_id"])
            if GEOGRAPHY[country.code]:
                self.assertTrue(vals["state_id"], country.code)
                state = States.browse(vals["state_id"])
                self.assertEqual(state.country_id, country)
            else:
                self.assertFalse(vals["state_id"])
