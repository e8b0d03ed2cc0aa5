# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A sales team's first week with follow-ups (issue #15, points 1 to 4)."""

from lxml import etree

from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import CustsegGridCommon
from .test_followups import FollowupAssertions


@tagged("post_install", "-at_install")
class TestFollowupWeek(FollowupAssertions, CustsegGridCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._followups_on_baseline()
        cls.customers = cls.env["res.partner"].concat(*cls.grid_customers.values())
        cls.customers.user_id = cls.salesman
        cls._followups_whatever_the_likelihood()
        cls.env["custseg.segment"].search([]).owner_id = False
        cls.env["ir.config_parameter"].set_param("custseg.followup_user_id", "")
        cls.colleague = new_test_user(
            cls.env,
            login="custseg_colleague",
            groups="base.group_user,sales_team.group_sale_salesman",
            name="Colleague",
        )
        cls.portal = new_test_user(
            cls.env, login="custseg_portal", groups="base.group_portal"
        )
        # At Risk (R2 F4) and Can't Lose (R1 F5): both due a follow-up.
        cls.at_risk = cls.grid_customers[2, 4]
        cls.cant_lose = cls.grid_customers[1, 5]

    # ------------------------------------------------------------------ 1
    def test_followups_never_go_to_a_non_person(self):
        root = self.env.ref("base.user_root")
        self.assertFalse(root.active)
        inactive = new_test_user(
            self.env, login="custseg_gone", groups="base.group_user"
        )
        inactive.active = False
        self.at_risk.user_id = root
        self.cant_lose.user_id = inactive
        self.grid_customers[5, 5].user_id = self.portal
        # The cron runs as OdooBot: the run's user is never a fallback.
        run = self._run(user=root)
        self.assertEqual(run.user_id, root)
        nobody = self.at_risk | self.cant_lose | self.grid_customers[5, 5]
        self.assertFalse(self._followups(nobody))
        self.assertEqual(run.activity_not_assigned_count, 3)
        everyone = self._followups()
        self.assertTrue(everyone)
        self.assertEqual(everyone.user_id, self.salesman)
        warning = run.message_ids.filtered(lambda m: "nobody to call" in str(m.body))
        self.assertEqual(len(warning), 1)
        self.assertIn("segment owner", str(warning.body))
        self.assertIn("Default Follow-up User", str(warning.body))

        # The fix the warning names: a segment owner, then a default user.
        self.segments["at_risk"].owner_id = self.manager
        self.env["ir.config_parameter"].set_param(
            "custseg.followup_user_id", str(self.colleague.id)
        )
        self.env.flush_all()
        self.env["custseg.followup"]._schedule_now(nobody)
        self.assertEqual(self._followups(self.at_risk).user_id, self.manager)
        self.assertEqual(self._followups(self.cant_lose).user_id, self.colleague)
        self.assertEqual(
            self._followups(self.grid_customers[5, 5]).user_id, self.colleague
        )

    def test_run_form_shows_not_assigned(self):
        arch = self.env["custseg.run"].get_view(view_type="form")["arch"]
        form = etree.fromstring(arch)
        self.assertTrue(form.xpath("//field[@name='activity_not_assigned_count']"))
        self.assertTrue(form.xpath("//chatter"))

    # ------------------------------------------------------------------ 2
    def test_followups_follow_the_new_salesperson(self):
        self.segments["at_risk"].owner_id = self.manager
        self.cant_lose.user_id = False
        self.env["ir.config_parameter"].set_param(
            "custseg.followup_user_id", str(self.manager.id)
        )
        self._run()
        moved = self.at_risk | self.cant_lose | self.grid_customers[2, 5]
        before = self._followups(moved)
        self.assertEqual(len(before), 3)
        untouched = self._followups(self.customers - moved)
        self.assertTrue(untouched)
        queries_before = self.env.cr.sql_log_count
        moved.user_id = self.colleague
        self.env.flush_all()
        self.assertLess(self.env.cr.sql_log_count - queries_before, 40)
        self.assertEqual(self._followups(moved), before)
        self.assertEqual(before.user_id, self.colleague)
        self.assertEqual(untouched.user_id, self.salesman)
        # The colleague's queue now lists them.
        mine = (
            self.env["mail.activity"]
            .with_user(self.colleague)
            .search(
                [
                    ("custseg_segment_id", "!=", False),
                    ("user_id", "=", self.colleague.id),
                ]
            )
        )
        self.assertEqual(mine.ids, before.ids)
        # No salesperson any more: the follow-ups stay where they are.
        moved.user_id = False
        self.assertEqual(before.user_id, self.colleague)

    # ------------------------------------------------------------------ 3
    def test_done_asks_for_an_outcome_stored_on_the_message(self):
        self._run()
        followups = self._followups(self.at_risk | self.grid_customers[2, 5])
        self.assertEqual(len(followups), 2)
        self.assertEqual(len(followups.custseg_segment_id), 2)
        segments = followups.custseg_segment_id
        action = followups.with_user(self.salesman).action_done()
        self.assertEqual(action["res_model"], "custseg.followup.done")
        self.assertTrue(followups.exists(), "nothing is done before the outcome")
        wizard = (
            self.env["custseg.followup.done"]
            .with_user(self.salesman)
            .with_context(**action["context"])
            .create({"outcome": "not_interested", "feedback": "Moved to a rival"})
        )
        self.assertEqual(wizard.activity_ids, followups)
        wizard.action_confirm()
        self.assertFalse(self._followups(self.at_risk | self.grid_customers[2, 5]))
        messages = self.env["mail.message"].search([("custseg_outcome", "!=", False)])
        self.assertEqual(len(messages), 2)
        self.assertEqual(
            set(messages.mapped("res_id")),
            {self.at_risk.id, self.grid_customers[2, 5].id},
        )
        self.assertEqual(set(messages.mapped("custseg_outcome")), {"not_interested"})
        self.assertIn("Moved to a rival", str(messages[0].body))
        # Reports group done follow-ups by outcome and segment.
        groups = self.env["mail.message"]._read_group(
            [("custseg_segment_id", "!=", False)],
            ["custseg_segment_id", "custseg_outcome"],
            ["__count"],
        )
        self.assertEqual(
            sorted(groups, key=lambda group: group[0].id),
            sorted(
                ((segment, "not_interested", 1) for segment in segments),
                key=lambda group: group[0].id,
            ),
        )
        # A follow-up done elsewhere (the chatter) still records its segment.
        other = self._followups(self.cant_lose)
        other.with_user(self.salesman).action_feedback(feedback="Called")
        message = self.env["mail.message"].search(
            [
                ("custseg_segment_id", "=", self.segments["cant_lose"].id),
                ("res_id", "=", self.cant_lose.id),
            ]
        )
        self.assertEqual(len(message), 1)
        self.assertFalse(message.custseg_outcome)
        # An ordinary activity is done at once, as in Odoo.
        todo = self.env["mail.activity"].create(
            {
                "res_model_id": self.env["ir.model"]._get_id("res.partner"),
                "res_id": self.at_risk.id,
                "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                "user_id": self.salesman.id,
            }
        )
        self.assertFalse(isinstance(todo.action_done(), dict))
        self.assertFalse(todo.exists().filtered("active"))

    # ------------------------------------------------------------------ 4
    def _visible_columns(self, view_xmlid):
        arch = self.env.ref(view_xmlid).arch
        tree = etree.fromstring(arch)
        fields = [
            node
            for node in tree.xpath("/list/field")
            if node.get("column_invisible") != "1" and node.get("optional") != "hide"
        ]
        buttons = tree.xpath("/list/button")
        return fields, buttons, tree

    def test_my_followups_reads_at_1440_px(self):
        fields, buttons, tree = self._visible_columns(
            "custseg_module.mail_activity_view_list_custseg_followup"
        )
        names = [node.get("name") for node in fields]
        # The row buttons share one column.
        self.assertLessEqual(len(fields) + (1 if buttons else 0), 8)
        for name in ("res_name", "summary"):
            self.assertIn(name, names)
            node = fields[names.index(name)]
            self.assertIn("o_custseg_wrap", node.get("class", ""))
        # A click opens the activity (form with its note), not an inline edit.
        self.assertFalse(tree.get("editable"))
        action = self.env.ref("custseg_module.mail_activity_action_my_followups")
        form = action.view_ids.filtered(lambda view: view.view_mode == "form")
        arch = self.env["mail.activity"].get_view(form.view_id.id, "form")["arch"]
        self.assertIn('name="note"', arch)

    def test_managers_see_the_team(self):
        team = self.env["crm.team"].create(
            {"name": "Team Lead", "user_id": self.manager.id}
        )
        self.env["crm.team.member"].create(
            {"crm_team_id": team.id, "user_id": self.salesman.id}
        )
        self._run()
        manager_group = self.env.ref("custseg_module.group_custseg_manager")
        for menu in ("menu_custseg_all_followups", "menu_custseg_team_best_list"):
            menu = self.env.ref(f"custseg_module.{menu}")
            menu_groups = menu.groups_id if "groups_id" in menu else menu.group_ids
            self.assertEqual(menu_groups, manager_group)
        for xmlid, model in (
            ("custseg_module.mail_activity_action_all_followups", "mail.activity"),
            ("custseg_module.res_partner_action_team_best_list", "res.partner"),
        ):
            data = self.env["ir.actions.actions"]._for_xml_id(xmlid)
            domain = safe_eval(data["domain"], {"uid": self.manager.id})
            team_filter = [
                "|",
                ("user_id.sale_team_id.user_id", "=", self.manager.id),
                ("user_id", "=", self.manager.id),
            ]
            found = self.env[model].with_user(self.manager).search(domain + team_filter)
            self.assertTrue(found, xmlid)
            self.assertEqual(found.user_id, self.salesman)

    def test_best_list_bulk_schedule_and_toast(self):
        self._run()
        tree = etree.fromstring(
            self.env.ref("custseg_module.res_partner_view_list_best").arch
        )
        self.assertTrue(
            tree.xpath("/list/header/button[@name='action_schedule_followup']")
        )
        # Customers of segments without automatic follow-ups have none yet.
        without = self.customers.filtered(
            lambda partner: not partner.customer_segment_id.followup_enabled
        )
        self.assertGreaterEqual(len(without), 3)
        self.assertFalse(self._followups(without))
        one = without[0].with_user(self.salesman)
        result = one.action_schedule_followup()
        self.assertEqual(result["params"]["message"], "1 follow-up scheduled")
        two = without[1:3].with_user(self.salesman)
        result = two.action_schedule_followup()
        self.assertEqual(result["params"]["message"], "2 follow-ups scheduled")
        self.assertEqual(len(self._followups(two)), 2)
        self._assert_never_two_open()
