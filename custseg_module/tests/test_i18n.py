# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Simplified Chinese translation: complete, current, and loaded."""

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.misc import file_path
from odoo.tools.translate import TranslationModuleReader

MODULE = "custseg_module"
ZH_SEGMENTS = {
    "prospect": "潜在客户",
    "champions": "冠军客户",
    "loyal": "忠诚客户",
    "potential_loyalist": "准忠诚客户",
    "new": "新客户",
    "promising": "有潜力客户",
    "need_attention": "需要关注",
    "about_to_sleep": "即将沉睡",
    "at_risk": "风险客户",
    "cant_lose": "务必挽回客户",
    "hibernating": "休眠客户",
    "lost": "失联客户",
}


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pot = polib.pofile(file_path(f"{MODULE}/i18n/{MODULE}.pot"))
        cls.po = polib.pofile(file_path(f"{MODULE}/i18n/zh_CN.po"))

    def test_zh_cn_po_is_complete(self):
        """Every msgid of zh_CN.po has a translation, none is fuzzy, and the
        .po covers every msgid of the template."""
        entries = [entry for entry in self.po if not entry.obsolete]
        self.assertGreater(len(entries), 300)
        self.assertEqual(
            [entry.msgid for entry in entries if not entry.msgstr.strip()], []
        )
        self.assertEqual([entry.msgid for entry in entries if entry.fuzzy], [])
        self.assertEqual(
            {entry.msgid for entry in self.pot} - {entry.msgid for entry in entries},
            set(),
        )
        self.assertEqual(self.po.metadata.get("Language"), "zh_CN")

    def test_pot_has_every_string_of_the_module(self):
        """The template lists every translatable term Odoo finds in the module
        (fields, selections, views, menus, data, Python and JavaScript code):
        regenerate it with odoo-bin --i18n-export when this fails."""
        terms = {
            source
            for module, _type, _name, _res_id, source, _value, _comments in (
                TranslationModuleReader(self.env.cr, modules=[MODULE])
            )
            if module == MODULE and source
        }
        template = {entry.msgid for entry in self.pot}
        self.assertEqual(sorted(terms - template), [], "missing from the .pot")
        self.assertEqual(sorted(template - terms), [], "stale in the .pot")

    def test_segments_read_in_chinese(self):
        """With zh_CN loaded, segment names, playbooks, field labels and the
        rendered R × F grid are Chinese."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            [MODULE], ["zh_CN"], overwrite=True
        )
        segments = (
            self.env["custseg.segment"]
            .with_context(lang="zh_CN", active_test=False)
            .search([("code", "in", list(ZH_SEGMENTS))])
        )
        self.assertEqual(
            {segment.code: segment.name for segment in segments}, ZH_SEGMENTS
        )
        champions = segments.filtered(lambda segment: segment.code == "champions")
        self.assertIn("最近购买过，购买频繁且消费最多。", champions.playbook)
        # English stays English.
        self.assertEqual(champions.with_context(lang="en_US").name, "Champions")
        labels = (
            self.env["res.partner"]
            .with_context(lang="zh_CN")
            .fields_get(["customer_segment_id", "purchase_probability"], ["string"])
        )
        self.assertEqual(labels["customer_segment_id"]["string"], "细分")
        self.assertEqual(labels["purchase_probability"]["string"], "购买可能性")
        # One vocabulary in Chinese too: no stage label shares a two-character
        # word with a rule segment's name ("客户", customer, aside).
        stages = (
            self.env["res.partner"]
            .with_context(lang="zh_CN")
            .fields_get(["lifecycle_stage"], ["selection"])["lifecycle_stage"]
        )

        def words(text):
            return {text[i : i + 2] for i in range(len(text) - 1)} - {"客户"}

        for _code, label in stages["selection"]:
            for code, name in ZH_SEGMENTS.items():
                if code != "prospect":
                    self.assertFalse(words(label) & words(name), (label, name))
        grid = champions.rule_grid_html
        self.assertIn("冠军客户", grid)
        self.assertIn("行：最近购买评分", grid)
