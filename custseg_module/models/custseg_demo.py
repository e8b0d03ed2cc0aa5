# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Deterministic demo customers and invoices (loaded with the demo data only)."""

import random
from datetime import timedelta

from odoo import Command, api, fields, models

DEMO_SEED = 20261122
NAME_PARTS = [
    "Blue",
    "Red",
    "Green",
    "Silver",
    "Golden",
    "North",
    "South",
    "East",
    "West",
] + ["Alpine", "Coastal", "Urban", "Royal", "Bright", "Prime", "Nova", "Summit"]
NAME_NOUNS = [
    "Bakery",
    "Studio",
    "Traders",
    "Foods",
    "Motors",
    "Textiles",
    "Labs",
    "Garden",
] + ["Books", "Pharmacy", "Hotel", "Logistics", "Café", "Outfitters", "Works"]
# Country code -> state codes customers are spread over (geography for pivots).
GEOGRAPHY = {
    "US": ["CA", "NY", "TX", "WA", "IL"],
    "BE": [],
    "FR": [],
    "DE": ["DE-BY", "DE-BE", "DE-NW"],
    # Odoo codes Chinese provinces by their abbreviation: Shanghai, Beijing,
    # Guangdong.
    "CN": ["沪", "京", "粤"],
}
# (name, sales price, cost): margins of 30 to 60 %.
PRODUCTS = [
    ("Espresso Machine", 890.0, 610.0),
    ("Coffee Beans 1 kg", 24.0, 14.0),
    ("Milk Frother", 79.0, 48.0),
    ("Barista Training", 450.0, 180.0),
    ("Grinder", 320.0, 205.0),
    ("Cleaning Kit", 35.0, 19.0),
    ("Service Contract", 600.0, 300.0),
    ("Cup Set", 48.0, 30.0),
]
POST_BATCH = 50
# Unprofitable customers (20/80/30): this share of the demo customers order
# small quantities often, get heavy discounts and return goods frequently.
COSTLY_SHARE = 0.3
# Demo cost to serve, so that small frequent orders and refunds cost money.
DEMO_SETTINGS = {
    "custseg.value_basis": "profit",
    "custseg.cost_per_invoice": "15",
    "custseg.cost_per_refund": "40",
    "custseg.cost_revenue_share": "0.01",
}


class CustsegDemo(models.AbstractModel):
    _name = "custseg.demo"
    _description = "Customer Segmentation Demo Data"

    @api.model
    def _create_demo_data(self, customer_count=300, prospect_count=20):
        """Customers with two to three years of invoices, varied enough that
        every segment has customers after the first run."""
        rng = random.Random(DEMO_SEED)
        # A second stream for the profit profile: the purchase rhythm of every
        # customer stays what it was before costs existed.
        profile_rng = random.Random(DEMO_SEED + 1)
        today = fields.Date.context_today(self)
        company = self.env.company
        journal = self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
        )
        if not journal:
            return  # no chart of accounts: nothing to invoice with
        products = self.env["product.product"].create(
            [
                {
                    "name": name,
                    "list_price": price,
                    "standard_price": cost,
                    "type": "service",
                    "taxes_id": False,
                }
                for name, price, cost in PRODUCTS
            ]
        )
        # sudo: system parameters, as the settings form writes them.
        params = self.env["ir.config_parameter"].sudo()
        for key, value in DEMO_SETTINGS.items():
            params.set_param(key, value)
        salespeople = self.env.ref("base.user_admin") | self.env.ref(
            "base.user_demo", raise_if_not_found=False
        )
        partners = self.env["res.partner"].create(
            [
                self._demo_partner_values(rng, index, salespeople)
                for index in range(customer_count + prospect_count)
            ]
        )
        invoice_values = []
        for partner in partners[:customer_count]:
            costly = profile_rng.random() < COSTLY_SHARE
            invoice_values += self._demo_invoice_values(
                rng, partner, products, journal, today, costly, profile_rng
            )
        moves = self.env["account.move"].create(invoice_values)
        self._post_in_batches(moves)

    @api.model
    def _demo_partner_values(self, rng, index, salespeople):
        country_code = rng.choice(list(GEOGRAPHY))
        country = self.env.ref(f"base.{country_code.lower()}")
        states = GEOGRAPHY[country_code]
        state = (
            self.env["res.country.state"].search(
                [("country_id", "=", country.id), ("code", "=", rng.choice(states))],
                limit=1,
            )
            if states
            else self.env["res.country.state"]
        )
        name = f"{rng.choice(NAME_PARTS)} {rng.choice(NAME_NOUNS)} {index + 1:03d}"
        return {
            "name": name,
            "is_company": True,
            "customer_rank": 1,
            "country_id": country.id,
            "state_id": state.id,
            "email": f"contact{index + 1:03d}@example.com",
            "phone": f"+1 555 {index + 1:04d}",
            "user_id": rng.choice(salespeople).id if rng.random() < 0.85 else False,
        }

    @api.model
    def _demo_invoice_values(
        self, rng, partner, products, journal, today, costly=False, profile_rng=None
    ):
        """A purchase rhythm per customer: a count of orders, a usual gap and a
        last order anywhere in the last three years. A ``costly`` customer
        orders twice as often, in small quantities, at a heavy discount, and
        returns goods often (``profile_rng`` draws those choices)."""
        profile_rng = profile_rng or random.Random(DEMO_SEED + 1)
        order_count = rng.choice([1, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 14])
        gap = rng.randint(10, 90)
        # About half the customers still buy at their own rhythm; the others
        # stopped at some point of the last three years.
        last_order = rng.randint(0, gap) if rng.random() < 0.45 else rng.randint(0, 900)
        favourite = rng.sample(list(products), 2)
        if costly:
            order_count *= 2
            gap = max(gap // 2, 5)
        values = []
        for order in range(order_count):
            days_ago = last_order + order * gap + rng.randint(0, gap // 3)
            if days_ago > 1000:
                break
            product = (
                rng.choice(favourite) if rng.random() < 0.7 else rng.choice(products)
            )
            quantity = rng.randint(1, 12)
            discount = 0.0
            if costly:
                # A quarter of the orders tiny, the others large at a price below cost.
                if profile_rng.random() < 0.25:
                    quantity = profile_rng.randint(1, 2)
                discount = profile_rng.choice([45.0, 55.0, 60.0, 65.0])
            values.append(
                self._demo_move(
                    partner,
                    journal,
                    today - timedelta(days=days_ago),
                    product,
                    quantity,
                    "out_invoice",
                    discount,
                )
            )
            returns = rng.random() < 0.06 or (costly and profile_rng.random() < 0.3)
            if returns:  # an occasional return; frequent for costly customers
                values.append(
                    self._demo_move(
                        partner,
                        journal,
                        today - timedelta(days=max(days_ago - 5, 0)),
                        product,
                        max(quantity // 2, 1),
                        "out_refund",
                        discount,
                    )
                )
        return values

    @api.model
    def _demo_move(
        self, partner, journal, date, product, quantity, move_type, discount=0.0
    ):
        return {
            "move_type": move_type,
            "partner_id": partner.id,
            "invoice_date": date,
            "date": date,
            "journal_id": journal.id,
            "invoice_user_id": partner.user_id.id,
            "invoice_line_ids": [
                Command.create(
                    {
                        "product_id": product.id,
                        "quantity": quantity,
                        "price_unit": product.list_price,
                        "discount": discount,
                        "tax_ids": [Command.clear()],
                    }
                )
            ],
        }

    @api.model
    def _post_in_batches(self, moves):
        # Posting many moves in one go makes the planner loop over rows it
        # thinks are absent; small batches with fresh statistics stay linear.
        for start in range(0, len(moves), POST_BATCH):
            moves[start : start + POST_BATCH].action_post()
            self.env.flush_all()
            self.env.cr.execute(
                "ANALYZE account_move, account_move_line, account_partial_reconcile"
            )
