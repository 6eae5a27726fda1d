import os
import re

import polib

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader


@tagged("post_install", "-at_install")
class TestChineseTranslation(TransactionCase):
    """Most residents read Chinese only: every term of the addon has a zh_CN translation."""

    def test_zh_cn_po_is_complete(self):
        path = os.path.join(get_module_path("community_credit"), "i18n", "zh_CN.po")
        po = polib.pofile(path)
        translated = {entry.msgid for entry in po if entry.msgstr.strip() and not entry.obsolete}
        reader = TranslationModuleReader(self.env.cr, ["community_credit"])
        # the demo's records (templates, rewards, teams: data files since 18.0.1.4.0)
        # are written in Chinese: a term with Chinese and no Latin letter reads in
        # Chinese already and is not a term of the interface to translate
        terms = {
            src
            for module, _type, _name, _res_id, src, _comments, _value in reader
            if module == "community_credit"
            and src
            and not (re.search(r"[\u4e00-\u9fff]", src) and not re.search(r"[A-Za-z]", src))
        }
        missing = sorted(terms - translated)
        self.assertFalse(
            missing,
            f"{len(missing)} terms lack a zh_CN translation (run scripts/update-i18n.sh, "
            f"then translate): {missing[:20]}",
        )

    def test_zh_cn_po_has_each_term_once(self):
        # a term defined twice (two merged branches translating it) makes gettext's msgfmt
        # refuse the file, and which translation Odoo loads is left to chance
        path = os.path.join(get_module_path("community_credit"), "i18n", "zh_CN.po")
        keys = [(entry.msgctxt, entry.msgid) for entry in polib.pofile(path)]
        twice = sorted({msgid for ctxt, msgid in keys if keys.count((ctxt, msgid)) > 1})
        self.assertFalse(twice, f"terms defined more than once in zh_CN.po: {twice[:20]}")

    def test_chinese_error_messages(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["community_credit"], ["zh_CN"], overwrite=True
        )
        ledger = self.env["credit.ledger.line"].with_context(lang="zh_CN")
        message = ledger.env._("Every ledger line needs an idempotency key.")
        self.assertNotEqual(message, "Every ledger line needs an idempotency key.")
