# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue #15 points 5-11: the grid editor and its preview, averages and
currencies, tier and stage order, one vocabulary, manual moves in the
history, settings errors in the user's words."""

import warnings

from lxml import etree

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import AS_OF, CustsegGridCommon

RANGES = ("r_score_min", "r_score_max", "f_score_min", "f_score_max")


def _web_read_group(model, *args, **kwargs):
    """The group rows the web client's list and pivot show: read_group in
    18.0, still there but deprecated in 19.0 (its views call
    formatted_read_group, whose rows have another shape)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return model.read_group(*args, **kwargs)


@tagged("post_install", "-at_install")
class TestGridEditor(CustsegGridCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["custseg.run"].run_segmentation(as_of=AS_OF)
        cls.env.invalidate_all()
        cls.loyal = cls.segments["loyal"]
        cls.need_attention = cls.segments["need_attention"]

    def _editor(self, bins=None, user=None):
        editors = self.env["custseg.grid.editor"]
        if user:
            editors = editors.with_user(user)
        action = editors._action_open(bins)
        return editors.browse(action["res_id"])

    def _line(self, editor, segment):
        return editor.line_ids.filtered(lambda line: line.segment_id == segment)

    def _ranges(self, segment):
        return tuple(segment[name] for name in RANGES)

    def test_moving_cells_one_segment_at_a_time_fails_in_either_order(self):
        """The per-segment check still guards the grid: that is why the editor
        exists."""
        with self.assertRaisesRegex(ValidationError, r"Cells without a segment"):
            self.loyal.r_score_min = 4
        # The refused write left its value pending in the cache: drop it.
        self.env.cr.clear()
        with self.assertRaisesRegex(
            ValidationError, r"R3 F4 \(Loyal Customers, Need Attention\)"
        ):
            self.need_attention.f_score_max = 5

    def test_editor_moves_cells_in_one_save(self):
        editor = self._editor(user=self.manager)
        self.assertEqual(editor.bins, 5)
        self.assertEqual(len(editor.line_ids), 11)
        self.assertEqual(self._ranges(self._line(editor, self.loyal)), (3, 4, 4, 5))
        self.assertFalse(editor.problems)
        self.assertEqual(editor.moving_count, 0)
        self.assertEqual(editor.scored_count, 25)

        self._line(editor, self.loyal).r_score_min = 4
        self._line(editor, self.need_attention).f_score_max = 5
        # The preview: R3 F4 and R3 F5 would move, nothing is saved yet.
        self.assertFalse(editor.problems)
        self.assertEqual(editor.moving_count, 2)
        self.assertIn("Loyal Customers", editor.preview_html)
        self.assertIn("Need Attention", editor.preview_html)
        self.assertEqual(self._ranges(self.loyal), (3, 4, 4, 5))
        self.assertEqual(self._ranges(self.need_attention), (3, 3, 3, 3))

        editor.action_confirm()
        self.assertEqual(self._ranges(self.loyal), (4, 4, 4, 5))
        self.assertEqual(self._ranges(self.need_attention), (3, 3, 3, 5))
        # The next run moves exactly the customers the preview counted.
        moved = [self.grid_customers[3, 4], self.grid_customers[3, 5]]
        self.assertEqual({p.customer_segment_id for p in moved}, {self.loyal})
        self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.env.invalidate_all()
        self.assertEqual({p.customer_segment_id for p in moved}, {self.need_attention})

    def test_invalid_grid_is_named_and_not_saved(self):
        editor = self._editor()
        self._line(editor, self.loyal).r_score_min = 4
        self.assertIn("Cells without a segment: R3 F4, R3 F5.", editor.problems)
        self.assertFalse(editor.preview_html)
        self._line(editor, self.need_attention).f_score_max = 5
        self._line(editor, self.segments["champions"]).r_score_min = 4
        self.assertIn(
            "Cells in more than one segment: R4 F4 (Champions, Loyal Customers)",
            editor.problems,
        )
        self._line(editor, self.segments["lost"]).write(
            {"r_score_min": 2, "r_score_max": 1}
        )
        self.assertIn("Lost: a range cannot end below its start", editor.problems)
        with self.assertRaisesRegex(ValidationError, "Lost: a range cannot end"):
            editor.action_confirm()
        self.assertEqual(self._ranges(self.loyal), (3, 4, 4, 5))
        self.assertEqual(self._ranges(self.segments["champions"]), (5, 5, 4, 5))

    def test_locked_customers_do_not_move_in_the_preview(self):
        self.grid_customers[3, 4].segment_locked = True
        editor = self._editor()
        self._line(editor, self.loyal).r_score_min = 4
        self._line(editor, self.need_attention).f_score_max = 5
        self.assertEqual(editor.moving_count, 1)

    def test_only_managers_open_the_editor(self):
        with self.assertRaises(AccessError):
            self._editor(user=self.salesman)

    def test_bins_preview_from_the_settings(self):
        """The settings' Preview opens the editor on the grid moved onto the
        typed bins; customers are scored anew; nothing is saved until
        confirmed, and confirming stores the bins."""
        settings = self.env["res.config.settings"].create({"custseg_bins": 3})
        action = settings.action_custseg_preview_bins()
        editor = self.env["custseg.grid.editor"].browse(action["res_id"])
        self.assertEqual(editor.bins, 3)
        self.assertTrue(editor.bins_changed)
        self.assertTrue(editor.archived_segment_names)
        self.assertFalse(editor.problems)
        self.assertEqual(editor.scored_count, 25)
        self.assertGreater(editor.moving_count, 0)
        self.assertEqual(self.env["custseg.segment"]._score_bins(), 5)
        # The preview agrees with a run on 3 bins.
        expected_moves = editor.moving_count
        before = {
            cell: partner.customer_segment_id
            for cell, partner in self.grid_customers.items()
        }
        editor.action_confirm()
        self.assertEqual(self.env["custseg.segment"]._score_bins(), 3)
        self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.env.invalidate_all()
        moved = sum(
            1
            for cell, partner in self.grid_customers.items()
            if partner.customer_segment_id != before[cell]
        )
        self.assertEqual(moved, expected_moves)

    def test_bins_preview_refuses_bins_out_of_range(self):
        settings = self.env["res.config.settings"].create({"custseg_bins": 12})
        with self.assertRaisesRegex(ValidationError, r"Score Bins \(12\)"):
            settings.action_custseg_preview_bins()


@tagged("post_install", "-at_install")
class TestNumbersReadRight(CustsegGridCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        partners = cls.env["res.partner"].concat(*cls.grid_customers.values())
        partners.user_id = cls.salesman
        cls.env["custseg.run"].run_segmentation(as_of=AS_OF)
        cls.env.invalidate_all()
        cls.partners = partners

    def test_rates_and_scores_are_averaged_money_summed(self):
        Partner = self.env["res.partner"]
        for name in (
            "purchase_probability",
            "rfm_r_score",
            "rfm_f_score",
            "rfm_m_score",
            "rfm_recency_days",
        ):
            self.assertEqual(Partner._fields[name].aggregator, "avg", name)
        for name in ("rfm_monetary", "predicted_clv"):
            self.assertEqual(Partner._fields[name].aggregator, "sum", name)
        domain = [("id", "in", self.partners.ids)]
        [group] = _web_read_group(
            Partner,
            domain,
            # As the web client asks for them: each field with its aggregator.
            ["purchase_probability:avg", "rfm_r_score:avg", "rfm_monetary:sum"],
            ["user_id"],
        )
        probabilities = self.partners.mapped("purchase_probability")
        self.assertAlmostEqual(
            group["purchase_probability"], sum(probabilities) / 25, places=6
        )
        self.assertLessEqual(group["purchase_probability"], 1.0)
        self.assertAlmostEqual(group["rfm_r_score"], 3.0)
        self.assertAlmostEqual(
            group["rfm_monetary"], sum(self.partners.mapped("rfm_monetary"))
        )

    def test_every_monetary_field_has_its_currency_for_a_salesperson(self):
        """Each amount a salesperson sees comes with its currency field, in
        the view as the salesperson gets it (groups applied)."""
        checks = [
            ("res.partner", None, "form"),
            ("res.partner", "custseg_module.res_partner_view_kanban_segment", "kanban"),
            ("res.partner", "custseg_module.res_partner_view_list_segment", "list"),
            ("res.partner", "custseg_module.res_partner_view_list_best", "list"),
            ("custseg.segment", "custseg_module.custseg_segment_view_list", "list"),
            ("custseg.segment", "custseg_module.custseg_segment_view_form", "form"),
        ]
        amounts_checked = 0
        for model, xmlid, view_type in checks:
            records = self.env[model].with_user(self.salesman)
            view_id = self.env.ref(xmlid).id if xmlid else None
            arch = etree.fromstring(records.get_view(view_id, view_type)["arch"])
            names = {node.get("name") for node in arch.iter("field")}
            for name in names:
                field = records._fields.get(name)
                if field is not None and field.type == "monetary":
                    self.assertIn(
                        field.get_currency_field(records), names, (xmlid, name)
                    )
                    amounts_checked += 1
        self.assertGreaterEqual(amounts_checked, 8)

    def test_tiers_and_stages_group_in_their_meaning_order(self):
        Partner = self.env["res.partner"]
        domain = [("id", "in", self.partners.ids)]
        tiers = [
            g["value_tier"]
            for g in _web_read_group(Partner, domain, [], ["value_tier"])
        ]
        order = ["key", "important", "ordinary", "small", "negative"]
        self.assertGreater(len(tiers), 2)
        self.assertEqual(tiers, sorted(tiers, key=order.index))
        stages_order = [
            "prospect",
            "new",
            "repeat",
            "loyal",
            "at_risk",
            "churned",
            "reactivated",
        ]
        stages = [
            g["lifecycle_stage"]
            for g in _web_read_group(
                Partner, domain, [], ["lifecycle_stage"], lazy=False
            )
        ]
        self.assertGreater(len(stages), 2)
        self.assertEqual(stages, sorted(stages, key=stages_order.index))
        # Descending, and as the second level of a pivot.
        tiers_desc = [
            g["value_tier"]
            for g in _web_read_group(
                Partner, domain, [], ["value_tier"], orderby="value_tier desc"
            )
        ]
        self.assertEqual(tiers_desc, list(reversed(tiers)))
        pairs = [
            (g["user_id"][0], g["value_tier"])
            for g in _web_read_group(
                Partner, domain, [], ["user_id", "value_tier"], lazy=False
            )
        ]
        self.assertEqual([tier for _user, tier in pairs], tiers)


@tagged("post_install", "-at_install")
class TestVocabularyAndManualMoves(CustsegGridCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param(
            "custseg.followups_on_baseline", "True"
        )
        partners = cls.env["res.partner"].concat(*cls.grid_customers.values())
        partners.user_id = cls.salesman
        cls.partners = partners

    def test_stage_names_share_no_word_with_segment_names(self):
        stage_words = {
            word.lower()
            for _value, label in self.env["res.partner"]
            ._fields["lifecycle_stage"]
            .selection
            for word in label.split()
        }
        segments = self.env["custseg.segment"].search([("kind", "=", "rule")])
        for segment in segments:
            shared = stage_words & {w.lower() for w in segment.name.split()}
            self.assertFalse(shared, f"{segment.name} shares {shared} with a stage")
        partner_fields = self.env["res.partner"]._fields
        self.assertIn("lifecycle stage", partner_fields["customer_segment_id"].help)
        self.assertIn("segment", partner_fields["lifecycle_stage"].help)
        kanban = self.env.ref("custseg_module.res_partner_view_kanban_segment")
        self.assertIn("Column = segment", kanban.arch)

    def test_winback_followups_need_a_minimum_likelihood(self):
        winback = ("about_to_sleep", "at_risk", "cant_lose")
        for code in winback:
            self.assertEqual(self.segments[code].followup_min_probability, 0.05)
        run = self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.env.invalidate_all()
        self.assertEqual(run.state, "done")
        activities = self.env["mail.activity"].search(
            [("custseg_segment_id", "!=", False)]
        )
        for activity in activities:
            segment = activity.custseg_segment_id
            partner = activity.custseg_partner_id
            self.assertGreaterEqual(
                partner.purchase_probability, segment.followup_min_probability
            )
        # Every customer left without a call was below its segment's minimum.
        called = activities.custseg_partner_id
        for partner in self.partners - called:
            segment = partner.customer_segment_id
            if segment.followup_enabled:
                self.assertLess(
                    partner.purchase_probability, segment.followup_min_probability
                )

    def test_minimum_clv_and_likelihood_filter_followups(self):
        at_risk = self.segments["at_risk"]
        at_risk.write({"followup_min_probability": 0.0, "followup_min_clv": 1e9})
        self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.env.invalidate_all()
        at_risk_customers = self.partners.filtered(
            lambda p: p.customer_segment_id == at_risk
        )
        self.assertTrue(at_risk_customers)
        activities = self.env["mail.activity"].search(
            [("custseg_segment_id", "=", at_risk.id)]
        )
        self.assertFalse(activities)
        with self.assertRaisesRegex(ValidationError, r"minimum likelihood \(150 %\)"):
            at_risk.followup_min_probability = 1.5
        self.env.cr.clear()
        with self.assertRaisesRegex(ValidationError, r"CLV cannot be negative"):
            at_risk.followup_min_clv = -1

    def test_customer_with_purchases_cannot_be_dragged_to_prospects(self):
        self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.env.invalidate_all()
        buyer = self.grid_customers[5, 1]
        segment = buyer.customer_segment_id
        with self.assertRaisesRegex(
            UserError, r"Grid R5 F1 cannot go to Prospects.*without a purchase"
        ):
            buyer.with_user(self.manager).customer_segment_id = self.segments[
                "prospect"
            ]
        self.assertEqual(buyer.customer_segment_id, segment)
        # A customer who never bought may be put there.
        lead = self._customer("Never Bought")
        lead.with_user(self.manager).customer_segment_id = self.segments["prospect"]
        self.assertEqual(lead.customer_segment_id, self.segments["prospect"])

    def test_manual_move_and_unlock_are_in_the_history(self):
        self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        self.env.invalidate_all()
        customer = self.grid_customers[5, 1]
        new, loyal = self.segments["new"], self.segments["loyal"]
        self.assertEqual(customer.customer_segment_id, new)
        History = self.env["custseg.partner.history"]
        before = History.search([("partner_id", "=", customer.id)])

        customer.with_user(self.manager).customer_segment_id = loyal
        moved = History.search([("partner_id", "=", customer.id)]) - before
        self.assertEqual(len(moved), 1)
        self.assertEqual(moved.change_kind, "manual")
        self.assertEqual(moved.create_uid, self.manager)
        self.assertEqual((moved.old_segment_id, moved.new_segment_id), (new, loyal))
        self.assertFalse(moved.run_id)
        self.assertTrue(moved.date)
        self.assertTrue(customer.segment_locked)

        customer.with_user(self.manager).action_unlock_segment()
        unlocked = History.search([("partner_id", "=", customer.id)]) - before - moved
        self.assertEqual(len(unlocked), 1)
        self.assertEqual(unlocked.change_kind, "unlock")
        self.assertEqual(unlocked.create_uid, self.manager)
        self.assertEqual(unlocked.old_segment_id, loyal)
        self.assertFalse(customer.segment_locked)
        # Unlocking an unlocked customer or re-setting the same segment logs
        # nothing; the next run's move back is a run row.
        customer.with_user(self.manager).action_unlock_segment()
        self.assertEqual(
            History.search_count([("partner_id", "=", customer.id)]),
            len(before) + 2,
        )
        run = self.env["custseg.run"].run_segmentation(as_of=AS_OF)
        back = History.search(
            [("partner_id", "=", customer.id), ("run_id", "=", run.id)]
        )
        self.assertEqual(back.change_kind, "run")
        self.assertEqual((back.old_segment_id, back.new_segment_id), (loyal, new))


@tagged("post_install", "-at_install")
class TestSettingsInUserWords(CustsegGridCommon):
    def _refused(self, values, pattern):
        with self.assertRaisesRegex(ValidationError, pattern):
            self.env["res.config.settings"].create(values).execute()

    def test_tier_shares_named_with_percentages(self):
        self._refused(
            {
                "custseg_tier_key_cut": 0.9,
                "custseg_tier_important_cut": 0.8,
                "custseg_tier_ordinary_cut": 0.95,
            },
            r"^Key Customers' Share \(90 %\) must be below Important Customers' "
            r"Share \(80 %\)\.$",
        )

    def test_churned_after_must_be_at_least_lapsing_at_latest(self):
        params = self.env["ir.config_parameter"]
        churn = params.get_param("custseg.churn_days")
        self._refused(
            {"custseg_churn_days": 100, "custseg_at_risk_max_days": 180},
            r"^Churned After \(100 days\) must be at least Lapsing At Latest "
            r"\(180 days\)\.$",
        )
        self.assertEqual(params.get_param("custseg.churn_days"), churn)
        self.env["res.config.settings"].create(
            {"custseg_churn_days": 180, "custseg_at_risk_max_days": 180}
        ).execute()
        self.assertEqual(params.get_param("custseg.churn_days"), "180")

    def test_messages_follow_the_users_language(self):
        """Labels come from the field descriptions, so a translated screen
        gets translated labels; no technical parameter name leaks."""
        settings = self.env["res.config.settings"].create({"custseg_k_min": 1})
        problems = settings._custseg_user_problems()
        self.assertEqual(problems, ["Clusters From (1) must be at least 2."])
        for problem in problems:
            self.assertNotIn("custseg_", problem)
            self.assertNotIn("k_min", problem)

    def test_checkboxes_sit_beside_their_labels(self):
        view = self.env.ref("custseg_module.res_config_settings_view_form")
        arch = etree.fromstring(view.arch)
        settings_fields = self.env["res.config.settings"]._fields
        checked = 0
        for field in arch.iter("field"):
            name = field.get("name")
            if (
                not name.startswith("custseg_")
                or settings_fields[name].type != "boolean"
            ):
                continue
            parent = field.getparent()
            if parent.tag == "setting":
                continue  # Odoo's setting box puts the checkbox beside its title.
            label = field.getnext()
            self.assertIsNotNone(label, name)
            self.assertEqual((label.tag, label.get("for")), ("label", name))
            self.assertNotIn("row", parent.get("class", "").split())
            checked += 1
        self.assertEqual(checked, 3)
