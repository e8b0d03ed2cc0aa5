# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, timedelta

from odoo import Command
from odoo.tests import TransactionCase, new_test_user

AS_OF = date(2026, 6, 30)


class CustsegFixtures:
    """Builders of the shared fixtures, as a mixin for TransactionCase and
    HttpCase tests alike: call _setup_custseg_fixtures() from setUpClass."""

    @classmethod
    def _setup_custseg_fixtures(cls):
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.currency = cls.company.currency_id
        # Scores are ranks within the population: archive the customers of the
        # demo data so each test decides the whole population.
        cls.env["res.partner"].search(
            [
                ("customer_rank", ">", 0),
                ("user_ids", "=", False),
                ("id", "not in", cls.env["res.company"].search([]).partner_id.ids),
            ]
        ).action_archive()
        cls.env["account.move"].flush_model()
        # Tests count the follow-ups of every entrant; TestControlGroups turns
        # the control groups (on by default) back on.
        cls.env["ir.config_parameter"].set_param("custseg.control_groups", "False")

        cls.manager = new_test_user(
            cls.env,
            login="custseg_manager",
            groups="base.group_user,custseg_module.group_custseg_manager",
            name="Segment Manager",
        )
        cls.salesman = new_test_user(
            cls.env,
            login="custseg_salesman",
            groups="base.group_user,sales_team.group_sale_salesman",
            name="Sales Person",
        )
        cls.journal = cls.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", cls.company.id)], limit=1
        )
        cls.income_account = cls.env["account.account"].search(
            [
                ("account_type", "=", "income"),
                ("company_ids", "in", cls.company.id),
            ],
            limit=1,
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Segmentation Test Product", "type": "service", "taxes_id": False}
        )
        cls.segments = {
            segment.code: segment for segment in cls.env["custseg.segment"].search([])
        }

    @classmethod
    def _customer(cls, name, **values):
        return cls.env["res.partner"].create(
            {"name": name, "customer_rank": 1, **values}
        )

    @classmethod
    def _invoice_values(
        cls, partner, invoice_date, amount, *, company=None, currency=None
    ):
        company = company or cls.company
        refund = amount < 0
        journal = (
            cls.journal
            if company == cls.company
            else cls.env["account.journal"].search(
                [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
            )
        )
        return {
            "move_type": "out_refund" if refund else "out_invoice",
            "partner_id": partner.id,
            "invoice_date": invoice_date,
            "date": invoice_date,
            "company_id": company.id,
            "journal_id": journal.id,
            "currency_id": (currency or company.currency_id).id,
            "invoice_line_ids": [
                Command.create(
                    {
                        "product_id": cls.product.id,
                        "quantity": 1,
                        "price_unit": abs(amount),
                        "tax_ids": [Command.clear()],
                    }
                )
            ],
        }

    @classmethod
    def _invoices(cls, specs, **kwargs):
        """Create and post invoices from (partner, date, amount) tuples;
        a negative amount is a refund."""
        moves = cls.env["account.move"].create(
            [cls._invoice_values(p, d, a, **kwargs) for p, d, a in specs]
        )
        moves.action_post()
        return moves

    @classmethod
    def _foreign_company(cls, name):
        """A company with a chart of accounts and a currency other than ours."""
        currency = cls.env["res.currency"].search(
            [("id", "!=", cls.currency.id), ("active", "in", [True, False])], limit=1
        )
        currency.active = True
        company = cls.env["res.company"].create(
            {"name": name, "currency_id": currency.id}
        )
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=company, install_demo=False
        )
        # Loading the chart sets the template's currency; keep the foreign one.
        company.currency_id = currency
        return company, currency

    @classmethod
    def _days_ago(cls, days):
        return AS_OF - timedelta(days=days)

    # Grid customers (see CustsegGridCommon): last purchase RECENCY[r] days ago.
    RECENCY = {5: 10, 4: 40, 3: 80, 2: 150, 1: 400}

    @classmethod
    def _setup_grid_customers(cls, **values):
        """25 customers "Grid R<r> F<f>", one per cell of the 5 × 5 grid."""
        cls.grid_customers = {}
        specs = []
        for r_score, recency in cls.RECENCY.items():
            for f_score in range(1, 6):
                partner = cls._customer(f"Grid R{r_score} F{f_score}", **values)
                cls.grid_customers[r_score, f_score] = partner
                for purchase in range(f_score):
                    specs.append(
                        (
                            partner,
                            cls._days_ago(recency + 7 * purchase),
                            100.0 * r_score,
                        )
                    )
        cls._invoices(specs)


class CustsegCommon(CustsegFixtures, TransactionCase):
    """Shared fixtures: a controlled population of customers with real posted
    invoices, and users for each access level."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Failed runs are recorded through a separate cursor; in test mode that
        # cursor shares this test's transaction, so the test can see the record
        # and nothing is committed. (HttpCase enters test mode by itself.)
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls._setup_custseg_fixtures()

    def _run(self, as_of=AS_OF, user=None):
        runs = self.env["custseg.run"]
        if user:
            runs = runs.with_user(user)
        run = runs.run_segmentation(as_of=as_of)
        self.env.invalidate_all()
        return run


class CustsegGridCommon(CustsegCommon):
    """25 customers, one per cell of the 5 × 5 recency × frequency grid.

    Customer (r, f) bought on f distinct days, 7 days apart, the last one
    RECENCY[r] days before AS_OF. Five customers tie on each recency and on
    each frequency, so the rank quintiles land exactly on r and f.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_grid_customers()

    @classmethod
    def _expected_segment(cls, r_score, f_score):
        grid = cls.env["custseg.segment"]._rule_grid()
        return next(
            code
            for code, (r_min, r_max, f_min, f_max) in grid.items()
            if r_min <= r_score <= r_max and f_min <= f_score <= f_max
        )
