"""The backend as staff use it: what each view shows, to whom, and what its
buttons and menus lead to, checked as the staff user concerned (grid worker,
reviewer, council, finance) through the views the web client loads."""

from datetime import date, datetime

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import DAY, FINANCE, GRID, offered
from .common_claim import ClaimCase

EVENTS_GRID = f"{GRID},event.group_event_user"


@tagged("post_install", "-at_install")
class TestBackendViews(ClaimCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        merchant_role = cls.env.ref("community_credit.role_merchant")
        cls.merchant = Partner.create(
            {
                "name": "老王面馆",
                "is_company": True,
                "credit_role_ids": [Command.set(merchant_role.ids)],
                "credit_place_id": cls.estate_a.id,
            }
        )
        cls.supplier = Partner.create({"name": "某某建材公司", "is_company": True})
        cls.user_events = new_test_user(cls.env, "t_events_grid", groups=EVENTS_GRID)
        cls.user_events.credit_place_ids = cls.estate_a
        cls.user_finance_only = new_test_user(cls.env, "t_finance_only", groups=FINANCE)

    # ------------------------------------------------------------ helpers
    def arch(self, user, model, view_type, view_ref=None):
        """The view `user`'s web client gets (groups applied), parsed."""
        view_id = self.env.ref(view_ref).id if view_ref else False
        views = self.env[model].with_user(user).get_views([(view_id, view_type)])
        return etree.fromstring(views["views"][view_type]["arch"])

    def action(self, user, xmlid):
        return self.env["ir.actions.act_window"].with_user(user)._for_xml_id(xmlid)

    def visible_buttons(self, user, record, method):
        """The buttons calling `method` that `user` sees on `record`'s form."""
        form = self.arch(user, record._name, "form")
        record = record.with_user(user)
        # as the web client evaluates them: a many2one is its id
        values = {
            "uid": user.id,
            "context": {},
            "state": record.state,
            "submitted_by_id": record.submitted_by_id.id,
        }
        return [
            node
            for node in form.xpath(f"//button[@name='{method}']")
            if not safe_eval(node.get("invisible") or "False", values)
        ]

    def load_kanban(self, user, action_xmlid, domain=()):
        """Open the action's kanban view as `user`, as the web client does on a
        phone: its view, then its cards' fields read through web_search_read."""
        action = self.action(user, action_xmlid)
        self.assertIn("kanban", action["view_mode"].split(","))
        self.assertEqual(action.get("mobile_view_mode"), "kanban")
        view_id = next((vid for vid, mode in action["views"] if mode == "kanban"), False)
        Model = self.env[action["res_model"]].with_user(user)
        views = Model.get_views([(view_id, "kanban")])
        kanban = etree.fromstring(views["views"]["kanban"]["arch"])
        fields = views["models"][Model._name]["fields"]
        names = {node.get("name") for node in kanban.xpath("//field")}
        spec = {
            name: {"fields": {"display_name": {}}} if fields[name].get("relation") else {}
            for name in names
        }
        domain = list(safe_eval(action.get("domain") or "[]")) + list(domain)
        records = Model.web_search_read(domain, spec)["records"]
        return kanban, records

    # ------------------------------------------------------- settlements
    def test_settlement_lines_show_the_voucher_state_label(self):
        Line = self.env["credit.settlement.line"].with_user(self.user_finance)
        field = Line.fields_get(["voucher_state"])["voucher_state"]
        self.assertEqual(field["type"], "selection")
        self.assertEqual(
            [tuple(option) for option in field["selection"]],
            [
                ("issued", "Issued"),
                ("honoured", "Handed Over"),
                ("cancelled", "Cancelled"),
                ("expired", "Expired"),
            ],
        )
        # in Chinese: the voucher's own translated labels, never 'issued'
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["community_credit"], ["zh_CN"], overwrite=True
        )
        labels = dict(
            Line.with_context(lang="zh_CN").fields_get(["voucher_state"])["voucher_state"][
                "selection"
            ]
        )
        self.assertEqual(labels["issued"], "已开具")
        # what Compute stores is one of these values
        product = self.env["product.template"].create(
            {
                "name": "牛肉面一碗",
                "credit_is_reward": True,
                "credit_points_price": 2,
                "credit_donated_value": 6.0,
                "credit_merchant_id": self.merchant.id,
                "credit_stock_ids": [
                    Command.create(
                        {
                            "collection_point": "老王面馆",
                            "community_id": self.community.id,
                            "quantity": 3,
                        }
                    )
                ],
            }
        )
        self.post(self.res_a1, self.rule_clean, "views-earn")
        self.env["credit.voucher"].with_user(self.user_resident)._redeem(
            product.credit_stock_ids.id, None
        )
        settlement = (
            self.env["credit.settlement"]
            .with_user(self.user_finance)
            .create(
                {
                    "merchant_id": self.merchant.id,
                    "community_id": self.community.id,
                    "date_from": date(2025, 3, 1),
                    "date_to": date(2025, 3, 31),
                }
            )
        )
        settlement.action_compute()
        self.assertEqual(settlement.line_ids.mapped("voucher_state"), ["issued"])
        line_list = self.arch(self.user_finance, "credit.settlement", "form").xpath(
            "//field[@name='line_ids']/list/field[@name='voucher_state']"
        )[0]
        self.assertEqual(line_list.get("widget"), "badge")

    def test_settlement_period_defaults_to_last_month(self):
        Settlement = self.env["credit.settlement"].with_user(self.user_finance)
        self.travel(date(2026, 3, 12))
        form = Form(Settlement)
        self.assertEqual(form.date_from, date(2026, 2, 1))
        self.assertEqual(form.date_to, date(2026, 2, 28))
        form.merchant_id = self.merchant
        form.community_id = self.community
        settlement = form.save()
        self.assertEqual(settlement.name, "老王面馆 2026-02-01")
        self.travel(date(2026, 1, 5))
        form = Form(Settlement)
        self.assertEqual((form.date_from, form.date_to), (date(2025, 12, 1), date(2025, 12, 31)))

    def test_settlement_says_what_is_missing(self):
        Settlement = self.env["credit.settlement"].with_user(self.user_finance)
        vals = {"merchant_id": self.merchant.id, "community_id": self.community.id}
        for missing in ("date_from", "date_to"):
            with (
                self.subTest(missing=missing),
                self.assertRaisesRegex(UserError, "first and the last day of the period"),
            ):
                Settlement.create(dict(vals, **{missing: False}))
        settlement = Settlement.create(vals)
        with self.assertRaisesRegex(UserError, "first and the last day of the period"):
            settlement.write({"date_to": False})
        with self.assertRaisesRegex(ValidationError, "ends before it starts"):
            settlement.write({"date_to": settlement.date_from.replace(day=1, year=2000)})

    def test_settlement_merchant_picker_offers_merchants(self):
        form = Form(self.env["credit.settlement"].with_user(self.user_finance))
        merchants = offered(form, "merchant_id")
        self.assertIn(self.merchant, merchants)
        self.assertNotIn(self.supplier, merchants)
        self.assertNotIn(self.res_a1, merchants)
        merchant_role = self.env.ref("community_credit.role_merchant")
        self.assertTrue(all(merchant_role in m.sudo().credit_role_ids for m in merchants))

    # ------------------------------------------------------------ events
    def test_event_hours_have_a_unit(self):
        Event = self.env["event.event"]
        three = Event.create(
            {
                "name": "清扫楼道",
                "date_begin": datetime(2025, 3, 20, 9, 0),
                "date_end": datetime(2025, 3, 20, 12, 0),
            }
        )
        half = Event.create(
            {
                "name": "陪老人聊天",
                "date_begin": datetime(2025, 3, 21, 9, 0),
                "date_end": datetime(2025, 3, 21, 11, 30),
            }
        )
        staff = self.user_events
        self.assertEqual(three.with_user(staff).credit_hours_display, "3 hours")
        self.assertEqual(half.with_user(staff).credit_hours_display, "2.5 hours")
        for model, view_type in (("event.event", "form"), ("event.type", "form")):
            with self.subTest(model=model):
                arch = self.arch(staff, model, view_type)
                field = arch.xpath("//page[@name='credit']//field[@name='credit_hours']")[0]
                self.assertNotEqual(field.get("widget"), "float_time")
                unit = field.getparent().xpath("span/text()")
                self.assertEqual(unit, ["hours"])
        listed = self.arch(staff, "event.event", "list")
        self.assertTrue(listed.xpath("//field[@name='credit_hours_display']"))

    # ----------------------------------------------------- leaderboard
    def test_leaderboard_ranks_within_each_community(self):
        for n in range(3):
            self.post(self.res_a1, self.rule_help, f"rank-a1-{n}", day=DAY.replace(day=10 + n))
        for n in range(2):
            self.post(self.res_b1, self.rule_clean, f"rank-b1-{n}", day=DAY.replace(day=10 + n))
        self.post(self.res_a2, self.rule_help, "rank-a2")
        self.post(self.res_nd, self.rule_clean, "rank-nd")
        # 张三 9, 王五 4, 李四 3 in the test community; 赵六 2 alone in his
        Balance = self.env["credit.balance"]
        action = self.action(self.user_manager, "community_credit.credit_balance_action")
        self.assertEqual(safe_eval(action["context"]).get("search_default_group_by_community"), 1)
        search = self.arch(self.user_manager, "credit.balance", "search")
        group_by = search.xpath("//filter[@name='group_by_community']")[0]
        self.assertEqual(safe_eval(group_by.get("context")), {"group_by": "community_id"})
        listed = self.arch(self.user_manager, "credit.balance", "list")
        self.assertEqual(listed.xpath("//field")[0].get("name"), "community_rank")
        subjects = self.res_a1 | self.res_a2 | self.res_b1 | self.res_nd
        rows = Balance.with_user(self.user_manager).search([("partner_id", "in", subjects.ids)])
        self.assertEqual(
            {row.partner_id: row.community_rank for row in rows},
            {self.res_a1: 1, self.res_b1: 2, self.res_a2: 3, self.res_nd: 1},
        )
        # a grid worker of estate A sees 张三 and 李四 with their ranks in the community
        rows = Balance.with_user(self.user_grid).search([("partner_id", "in", subjects.ids)])
        self.assertEqual(
            {row.partner_id: row.community_rank for row in rows},
            {self.res_a1: 1, self.res_a2: 3},
        )
        # equal balances share a rank
        self.post(self.res_a2, self.rule_clean, "rank-a2-tie")
        rows.invalidate_recordset()
        self.assertEqual(
            {row.partner_id: row.community_rank for row in rows},
            {self.res_a1: 1, self.res_a2: 2},
        )

    # ---------------------------------------------------- ledger, rules
    def test_ledger_date_column_fits_a_chinese_date(self):
        listed = self.arch(self.user_grid, "credit.ledger.line", "list")
        width = listed.xpath("//field[@name='date']")[0].get("width") or "0"
        # 2026年12月31日: eight digits and three CJK characters
        self.assertGreaterEqual(int(width.removesuffix("px")), 120)

    def test_rules_list_adds_up_no_points_or_caps(self):
        names = ["points", "cap_day", "cap_week", "cap_month", "cap_year"]
        fields = self.env["credit.rule"].with_user(self.user_manager).fields_get(names)
        for name in names:
            with self.subTest(field=name):
                self.assertFalse(fields[name].get("aggregator"))
        listed = self.arch(self.user_manager, "credit.rule", "list")
        self.assertFalse(listed.xpath("//field[@sum]"))
        groups = (
            self.env["credit.rule"]
            .with_user(self.user_manager)
            .web_read_group([("id", "in", self.rule_help.ids)], ["points"], ["category_id"])
        )
        self.assertNotIn("points", groups["groups"][0])

    # ------------------------------------------------------------ claims
    def test_claim_subjects_have_a_label(self):
        form = self.arch(self.user_grid, "credit.claim", "form")
        for name in ("partner_ids", "description", "attachment_ids"):
            with self.subTest(field=name):
                node = form.xpath(f"//sheet//field[@name='{name}']")[0]
                in_group = node.getparent().tag == "group"
                labelled = form.xpath(f"//label[@for='{name}']")
                self.assertTrue(in_group or labelled, f"{name} is shown without a label")

    def test_claim_cancel_shown_to_who_may_cancel(self):
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_clean)
        self.assertEqual(claim.state, "review")
        # the reviewer of estate A sees no Cancel: it is not theirs to cancel
        self.assertFalse(self.visible_buttons(self.user_reviewer, claim, "action_cancel"))
        with self.assertRaisesRegex(AccessError, "Only the submitter"):
            claim.with_user(self.user_reviewer).action_cancel()
        # the submitter and the council see one Cancel, and it works for both
        for user in (self.user_grid, self.user_manager):
            with self.subTest(user=user.login), self.env.cr.savepoint() as savepoint:
                self.assertEqual(len(self.visible_buttons(user, claim, "action_cancel")), 1)
                claim.with_user(user).action_cancel()
                self.assertEqual(claim.state, "cancelled")
                # Back to Draft is the submitter's only
                shown = self.visible_buttons(user, claim, "action_reset_draft")
                self.assertEqual(bool(shown), user == self.user_grid)
                savepoint.rollback()

    def test_voucher_cancel_not_shown_to_finance(self):
        finance = self.arch(self.user_finance_only, "credit.voucher", "form")
        self.assertFalse(finance.xpath("//button[@name='action_cancel']"))
        staff = self.arch(self.user_grid, "credit.voucher", "form")
        self.assertTrue(staff.xpath("//button[@name='action_cancel']"))

    # ------------------------------------------------------------- rules
    def test_council_reads_rules_and_simulates_a_change(self):
        Menu = self.env["ir.ui.menu"]
        rules_menu = self.env.ref("community_credit.credit_rule_menu")
        simulate_menu = self.env.ref("community_credit.credit_rule_simulation_menu")
        council = Menu.with_user(self.user_manager)._visible_menu_ids()
        self.assertIn(rules_menu.id, council)
        self.assertIn(simulate_menu.id, council)
        grid = Menu.with_user(self.user_grid)._visible_menu_ids()
        self.assertNotIn(simulate_menu.id, grid)
        # the council reads the rule book (administrators change it)
        listed = self.arch(self.user_manager, "credit.rule", "list")
        self.assertEqual(listed.get("edit"), "False")
        form = self.arch(self.user_manager, "credit.rule", "form")
        self.assertTrue(form.xpath("//button[@name='action_simulate_change']"))
        # Simulate a Change from the menu: the council picks the rule
        action = self.action(
            self.user_manager, "community_credit.credit_rule_simulation_wizard_action"
        )
        self.assertEqual(
            (action["res_model"], action["target"]), ("credit.rule.simulation.wizard", "new")
        )
        Wizard = self.env["credit.rule.simulation.wizard"].with_user(self.user_manager)
        self.post(self.res_a1, self.rule_help, "simulate-a1")
        wizard_form = Form(Wizard)
        wizard_form.rule_id = self.rule_help
        self.assertEqual(wizard_form.points, 3)
        wizard_form.points = 2
        wizard = wizard_form.save()
        wizard.date_from, wizard.date_to = DAY.replace(day=1), DAY
        wizard.action_simulate()
        self.assertEqual((wizard.actual_total, wizard.simulated_total), (3, 2))
        # from a rule's form, the rule is that one
        opened = self.rule_help.with_user(self.user_manager).action_simulate_change()
        wizard_form = Form(Wizard.with_context(**opened["context"]))
        self.assertEqual(wizard_form.rule_id, self.rule_help)
        self.assertTrue(wizard_form._get_modifier("rule_id", "readonly"))

    # -------------------------------------------------------- on a phone
    def test_grid_worker_kanbans(self):
        mine = self.submitted(self.user_grid, self.res_a1, self.rule_clean)
        self.claim(self.user_grid, self.res_a2, self.rule_help)
        # claims: one column per state, cards never dragged into another state
        kanban, records = self.load_kanban(self.user_grid, "community_credit.credit_claim_action")
        self.assertEqual(kanban.get("default_group_by"), "state")
        self.assertEqual(kanban.get("records_draggable"), "0")
        self.assertEqual(kanban.get("quick_create"), "0")
        card = {r["id"]: r for r in records}[mine.id]
        self.assertEqual(card["partner_ids"], [{"id": self.res_a1.id, "display_name": "张三"}])
        self.assertEqual(card["total_points"], 2)
        groups = (
            self.env["credit.claim"]
            .with_user(self.user_grid)
            .web_read_group([("submitted_by_id", "=", self.user_grid.id)], ["state"], ["state"])
        )
        self.assertEqual(
            {g["state"]: g["state_count"] for g in groups["groups"]}, {"review": 1, "draft": 1}
        )
        # subjects: the residents with their place, phone and points
        kanban, records = self.load_kanban(
            self.user_grid,
            "community_credit.res_partner_action_credit_people",
            [("id", "in", (self.res_a1 | self.res_b1).ids)],
        )
        self.assertTrue(kanban.xpath("//field[@name='credit_place_id']"))
        self.assertTrue(kanban.xpath("//field[@name='phone']"))
        cards = {r["id"]: r for r in records}
        self.assertEqual(cards[self.res_a1.id]["credit_place_id"]["id"], self.building_a1.id)
        self.assertTrue(cards[self.res_a1.id]["credit_in_scope"])
        self.assertFalse(cards[self.res_b1.id]["credit_in_scope"])
        # vouchers: what to hand over
        kanban, _records = self.load_kanban(
            self.user_grid, "community_credit.credit_voucher_action"
        )
        for name in ("code", "product_tmpl_id", "partner_id", "points", "state"):
            self.assertTrue(kanban.xpath(f"//field[@name='{name}']"), name)
