# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue #16 points 4 and 6, checked over XML-RPC as an integration or a
user's browser would call the server: who reads the figures, who schedules
follow-ups, who creates runs, what a client's context cannot skip, and what
run_segmentation returns."""

from datetime import timedelta
from xmlrpc.client import Fault

from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import AS_OF, CustsegFixtures

# The segmentation figures a customer carries on res.partner.
FIGURES = [
    "customer_segment_id",
    "value_tier",
    "lifecycle_stage",
    "purchase_probability",
    "predicted_clv",
    "customer_cluster",
    "rfm_monetary",
    "rfm_recency_days",
]


@tagged("post_install", "-at_install")
class TestAccessOverXmlRpc(CustsegFixtures, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_custseg_fixtures()
        cls._setup_grid_customers(user_id=cls.salesman.id)
        cls.accountant = new_test_user(
            cls.env,
            login="custseg_accountant",
            groups="base.group_user,base.group_partner_manager",
            name="Accountant Without Sales Rights",
        )
        cls.customer = cls.grid_customers[5, 5]
        cls.customer.is_company = True
        cls.portal = new_test_user(
            cls.env,
            login="custseg_portal",
            groups="base.group_portal",
            name="Portal Contact",
        )
        cls.portal.partner_id.parent_id = cls.customer
        cls.baseline = cls.env["custseg.run"].run_segmentation(
            AS_OF - timedelta(days=30)
        )
        cls.latest = cls.env["custseg.run"].run_segmentation(AS_OF)
        cls.env.invalidate_all()

    def _rpc(self, user, model, method, *args, **kwargs):
        # XML-RPC on purpose: integrations call it. 19.0 logs that the endpoint
        # is deprecated, a notice to the client, not about the module.
        with mute_logger("odoo.addons.rpc.controllers.xmlrpc"):
            return self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                user.id,
                user.login,
                model,
                method,
                list(args),
                kwargs,
            )

    # -------------------------------------------------------------- point 6
    def test_run_segmentation_over_xmlrpc_returns_the_run_id(self):
        result = self._rpc(
            self.manager, "custseg.run", "run_segmentation", as_of=str(AS_OF)
        )
        self.assertIsInstance(result, list)
        self.assertEqual(len(result), 1)
        run = self.env["custseg.run"].browse(result[0])
        self.assertEqual(run.state, "done")
        self.assertEqual(run.as_of, AS_OF)
        self.assertFalse(run.baseline)

    # -------------------------------------------------------------- point 4
    def test_figures_are_for_segmentation_users_only(self):
        """Portal contacts of the customer and internal users without sales
        rights read none of the figures, nor search or sort by them;
        salespeople do."""
        row = self._rpc(
            self.salesman, "res.partner", "read", [self.customer.id], FIGURES
        )[0]
        self.assertEqual(row["customer_segment_id"][1], "Champions")
        for user in (self.portal, self.accountant):
            for method, args, kwargs in (
                ("read", ([self.customer.id], FIGURES), {}),
                ("read", ([self.customer.id], ["predicted_clv"]), {}),
                ("search", ([("predicted_clv", ">", 0)],), {}),
                ("search_read", ([],), {"order": "predicted_clv desc"}),
            ):
                with (
                    self.subTest(user=user.login, method=method, args=args),
                    self.assertRaises(Fault),
                ):
                    self._rpc(user, "res.partner", method, *args, **kwargs)
            # The fields they are told about (and that a read of all fields
            # returns) hold no figure either.
            described = self._rpc(user, "res.partner", "fields_get", [], ["type"])
            self.assertFalse(set(described) & set(FIGURES))

    def test_customer_views_work_without_segmentation_rights(self):
        """The partner views open for an internal user without sales rights,
        without the figures, and a contact they create under a segmented
        company still gets the company's segment."""
        Partner = self.env["res.partner"].with_user(self.accountant)
        views = Partner.get_views(
            [(False, "kanban"), (False, "list"), (False, "form"), (False, "search")]
        )["views"]
        for view_type, view in views.items():
            names = {node.get("name") for node in etree.fromstring(view["arch"]).iter()}
            with self.subTest(view=view_type):
                self.assertFalse(names & set(FIGURES))
        contact_id = self._rpc(
            self.accountant,
            "res.partner",
            "create",
            {"name": "New Buyer", "parent_id": self.customer.id},
        )
        contact = self.env["res.partner"].browse(contact_id)
        self.assertEqual(contact.customer_segment_id, self.customer.customer_segment_id)
        self.assertEqual(contact.value_tier, self.customer.value_tier)

    def test_only_segmentation_users_schedule_followups(self):
        Activity = self.env["mail.activity"]
        followups = [("custseg_partner_id", "=", self.customer.id)]
        Activity.search(followups).unlink()
        for user in (self.portal, self.accountant):
            with (
                self.subTest(user=user.login),
                self.assertRaisesRegex(Fault, "Only segmentation users"),
            ):
                self._rpc(
                    user, "res.partner", "action_schedule_followup", [self.customer.id]
                )
        self.assertFalse(Activity.search(followups))
        action = self._rpc(
            self.salesman, "res.partner", "action_schedule_followup", [self.customer.id]
        )
        self.assertEqual(action["params"]["type"], "success")
        self.assertTrue(Activity.search(followups))

    def test_runs_are_created_by_the_run_only(self):
        """Managers cannot forge a run or a run line; the latest completed run,
        which decides the baseline and recency, cannot be deleted."""
        for model, values in (
            (
                "custseg.run",
                {"as_of": "2030-01-01", "state": "done", "start_datetime": False},
            ),
            (
                "custseg.run.line",
                {"run_id": self.latest.id, "segment_id": self.segments["lost"].id},
            ),
        ):
            with self.subTest(model=model), self.assertRaises(Fault):
                self._rpc(self.manager, model, "create", values)
        with self.assertRaisesRegex(Fault, "latest completed run"):
            self._rpc(self.manager, "custseg.run", "unlink", [self.latest.id])
        self.assertTrue(self.latest.exists())
        # Older runs can go; the next run is still no baseline.
        self._rpc(self.manager, "custseg.run", "unlink", [self.baseline.id])
        self.assertFalse(self.baseline.exists())
        again = self.env["custseg.run"].run_segmentation(AS_OF)
        self.assertFalse(again.baseline)

    def test_grid_check_ignores_the_client_context(self):
        champions = self.segments["champions"]
        for context in ({"install_filename": "custseg_segment_data.xml"}, {}):
            with (
                self.subTest(context=context),
                self.assertRaisesRegex(Fault, "Cells in more than one segment"),
            ):
                self._rpc(
                    self.manager,
                    "custseg.segment",
                    "write",
                    [champions.id],
                    {"r_score_min": 4},
                    context=context,
                )
        self.assertEqual(champions.r_score_min, 5)

    def test_followups_stay_on_their_customer(self):
        """A salesperson cannot move a segment follow-up to another customer;
        nobody writes the day the last follow-up was closed but the module."""
        self.customer.with_user(self.salesman).action_schedule_followup()
        followup = self.env["mail.activity"].search(
            [("custseg_partner_id", "=", self.customer.id)]
        )
        self.assertTrue(followup)
        other = self.grid_customers[1, 1]
        with self.assertRaisesRegex(Fault, "stays on its customer"):
            self._rpc(
                self.salesman,
                "mail.activity",
                "write",
                followup.ids,
                {"res_id": other.id},
            )
        self.assertEqual(followup.res_id, self.customer.id)
        # Rescheduling is still the salesperson's.
        self._rpc(
            self.salesman,
            "mail.activity",
            "write",
            followup.ids,
            {"date_deadline": str(AS_OF + timedelta(days=9))},
        )
        for user in (self.accountant, self.manager):
            with (
                self.subTest(user=user.login),
                self.assertRaisesRegex(Fault, "segment_followup_done_date"),
            ):
                self._rpc(
                    user,
                    "res.partner",
                    "write",
                    [self.customer.id],
                    {"segment_followup_done_date": "2030-01-01"},
                )
        with self.assertRaises(AccessError):
            self.customer.with_user(self.accountant).write(
                {"segment_followup_done_date": "2030-01-01"}
            )
        self.assertFalse(self.customer.segment_followup_done_date)
