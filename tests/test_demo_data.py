"""The demo database (`make demo`) is a believable Chinese community.

These tests read the demo data the test database is installed with (`make test`
installs the addon with it), as the demo users who see it: the company is
Longhai's residents' committee, in yuan and Beijing time; its events sit in the
community and name a festival only on its day; the history reads in Chinese; and
no demo event makes Odoo's mail job render PDF tickets.
"""

import base64
import re
import unittest
from datetime import date

import pytz

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import file_open

# Festivals a demo event could be named after, and their days, from the Chinese
# calendar (the Double Ninth, 重阳节, is the ninth day of the ninth lunar month) or
# fixed in the Gregorian one (month, day).
LUNAR_FESTIVALS = {
    "重阳": {
        date(2024, 10, 11),
        date(2025, 10, 29),
        date(2026, 10, 18),
        date(2027, 10, 8),
        date(2028, 10, 26),
        date(2029, 10, 16),
        date(2030, 10, 5),
        date(2031, 10, 24),
        date(2032, 10, 12),
        date(2033, 10, 1),
        date(2034, 10, 20),
        date(2035, 10, 9),
        date(2036, 10, 27),
        date(2037, 10, 17),
        date(2038, 10, 7),
        date(2039, 10, 26),
        date(2040, 10, 14),
    },
    "中秋": {
        date(2024, 9, 17),
        date(2025, 10, 6),
        date(2026, 9, 25),
        date(2027, 9, 15),
        date(2028, 10, 3),
    },
    "端午": {
        date(2024, 6, 10),
        date(2025, 5, 31),
        date(2026, 6, 19),
        date(2027, 6, 9),
        date(2028, 5, 28),
    },
    "春节": {
        date(2024, 2, 10),
        date(2025, 1, 29),
        date(2026, 2, 17),
        date(2027, 2, 6),
        date(2028, 1, 26),
    },
}
FIXED_FESTIVALS = {"学雷锋": (3, 5), "国庆": (10, 1), "国际志愿者日": (12, 5), "元旦": (1, 1)}

DEMO_USERS = [
    "base.user_admin",
    "base.user_demo",
    "base.demo_user0",
    "community_credit.user_council_demo",
    "community_credit.user_gridworker_demo",
    "community_credit.user_reviewer_demo",
    "community_credit.user_finance_demo",
    "community_credit.user_resident_demo",
    "community_credit.user_merchant_demo",
]
CHINESE_USERS = [xmlid for xmlid in DEMO_USERS if xmlid.startswith("community_credit.")]
CJK = re.compile(r"[\u4e00-\u9fff]")


@tagged("post_install", "-at_install")
class TestDemoData(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.community = cls.env.ref("community_credit.community_longhai_demo", False)
        if not cls.community:
            raise unittest.SkipTest("the database has no demo data")
        cls.council = cls.env.ref("community_credit.user_council_demo")
        cls.resident = cls.env.ref("community_credit.user_resident_demo")
        cls.company = cls.env.ref("base.main_company")

    def test_company_is_the_community(self):
        company = self.company.with_user(self.council)
        self.assertEqual(company.currency_id, self.env.ref("base.CNY"))
        self.assertTrue(company.currency_id.active)
        self.assertEqual(company.name, "龙海社区居民委员会")
        partner = company.partner_id
        self.assertEqual(partner.tz, "Asia/Shanghai")
        self.assertEqual(partner.country_id, self.env.ref("base.cn"))
        self.assertEqual(partner.state_id, self.env.ref("base.state_cn_CQ"))
        address = partner._display_address()
        for foreign in ("YourCompany", "San Francisco", "Executive Park"):
            self.assertNotIn(foreign, address)
            self.assertNotIn(foreign, company.name)
        self.assertIn("龙海大道100号", address)
        # Odoo's "Your logo" image is gone: the community's own logo
        with file_open("base/static/img/res_company_logo.png", "rb") as odoo_logo:
            self.assertNotEqual(company.logo, base64.b64encode(odoo_logo.read()))
        with file_open("community_credit/static/description/demo_company_logo.png", "rb") as logo:
            self.assertEqual(company.logo, base64.b64encode(logo.read()))

    # events are read as the superuser: of the demo users only the administrator has
    # Odoo's Events app (residents see the upcoming ones on the portal)

    def test_events_sit_in_the_community(self):
        events = self.env["event.event"].search([])
        self.assertTrue(events.filtered("credit_community_id"))
        for event in events:
            venue = (event.address_inline or "") + (event.address_id.contact_address or "")
            for foreign in ("YourCompany", "San Francisco", "Los Angeles", "Reno", "London"):
                self.assertNotIn(foreign, venue, event.name)
        # Odoo's sample events (a design fair in Los Angeles...) are archived
        samples = self.env["event.event"].with_context(active_test=False)
        for n in range(8):
            samples |= self.env.ref(f"event.event_{n}")
        self.assertFalse(samples.filtered("active"))
        demo = events.filtered(lambda e: e.credit_community_id == self.community)
        self.assertTrue(all(CJK.search(name) for name in demo.mapped("name")))
        self.assertEqual(
            demo.address_id, self.env.ref("community_credit.partner_longhai_centre_demo")
        )
        self.assertEqual(set(demo.mapped("date_tz")), {"Asia/Shanghai"})

    def test_festival_events_fall_on_their_day(self):
        events = self.env["event.event"].search([])
        named = 0
        for event in events:
            day = (
                pytz.utc.localize(event.date_begin)
                .astimezone(pytz.timezone(event.date_tz or "Asia/Shanghai"))
                .date()
            )
            for festival, days in LUNAR_FESTIVALS.items():
                if festival in event.name:
                    named += 1
                    self.assertIn(day, days, f"{event.name} is held on {day}, not on {festival}")
            for festival, (month, mday) in FIXED_FESTIVALS.items():
                if festival in event.name:
                    named += 1
                    self.assertEqual((day.month, day.day), (month, mday), event.name)
        # the last Double Ninth's visits to elders are in the demo (on its day; the
        # demo's table of Double Ninths ends in 2040)
        self.assertTrue(named)

    def test_behaviours_are_readable_words(self):
        rules = (
            self.env["credit.rule"]
            .with_user(self.council)
            .search([("community_id", "child_of", self.community.id)])
        )
        rules |= self.env.ref("community_credit.rule_db01_demo")
        self.assertGreater(len(rules), 25)
        english = rules.filtered(lambda r: r.behaviour and r.behaviour.isascii())
        self.assertFalse(english, english.mapped("behaviour"))
        self.assertEqual(self.env.ref("community_credit.rule_lh13_demo").behaviour, "邻里互助")

    def test_history_reads_in_chinese(self):
        # the resident's passbook: her redemptions and the rest of her lines
        lines = self.env["credit.ledger.line"].with_user(self.resident).search([])
        self.assertTrue(lines)
        redemptions = self.env["credit.ledger.line"].search([("origin", "=", "redemption")])
        self.assertTrue(redemptions)
        for line in list(lines) + list(redemptions):
            self.assertNotIn("Redeemed", line.description or "")
            self.assertTrue(CJK.search(line.description or ""), line.description)
        # the review steps in the claims' chatter, as the council reads them
        claims = (
            self.env["credit.claim"]
            .with_user(self.council)
            .search([("community_id", "=", self.community.id)])
        )
        self.assertTrue(claims)
        bodies = claims.sudo().message_ids.mapped(lambda m: str(m.body or ""))
        for english in ("Certified by the review group", "Submitted for review", "Credit Claim"):
            self.assertFalse([b for b in bodies if english in b], english)
        self.assertTrue([b for b in bodies if "评议小组已审核认定" in b])

    def test_demo_users_live_in_beijing_time(self):
        for xmlid in DEMO_USERS:
            user = self.env.ref(xmlid)
            self.assertEqual(user.tz, "Asia/Shanghai", xmlid)
        for xmlid in CHINESE_USERS:
            self.assertEqual(self.env.ref(xmlid).lang, "zh_CN", xmlid)
        # the administrator reads English, as the README says
        self.assertEqual(self.env.ref("base.user_admin").lang, "en_US")

    def test_no_event_renders_tickets_by_mail(self):
        # Odoo's default schedulers render a PDF ticket per registration (in the sign-up
        # request, or in the hourly mail job, past the cron's time limit): the
        # community's events send no e-mail at all (residents hear of them from their
        # grid worker and the portal), and Odoo's sample events are archived (the job
        # skips archived events)
        events = self.env["event.event"].search([("credit_community_id", "=", self.community.id)])
        self.assertEqual(len(events), 14)  # 12 past, the Double Ninth, one to come
        self.assertFalse(events.event_mail_ids)
        self.assertFalse(events.event_type_id.event_type_mail_ids)
        upcoming = events.filtered(lambda e: e.date_end > fields.Datetime.now())
        self.assertEqual(len(upcoming), 1)
        # a resident signs up on the portal: no mail is scheduled for her
        registration = (
            self.env["event.event"].with_user(self.resident)._credit_portal_register(upcoming.id)
        )
        self.assertEqual(registration.sudo().partner_id, self.resident.partner_id)
        self.assertFalse(registration.sudo().mail_registration_ids)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("model", "=", "event.registration"), ("res_id", "=", registration.id)]
            )
        )

    def test_no_demo_job_calls_home(self):
        # offline, Odoo's weekly report to services.odoo.com logs a traceback: a demo
        # that stays up for days does not run it
        cron = self.env.ref("mail.ir_cron_module_update_notification")
        self.assertFalse(cron.active)

    def test_fixed_records_are_data_files(self):
        # the demo's fixed records are records of its XML files (with xml ids), as in
        # Odoo's own apps; only their history is generated, by credit.demo, which
        # lives in demo/, not among the models of a production database (other tests
        # may add records of their own: only the demo's named ones are counted)
        def named(model):
            data = (
                self.env["ir.model.data"]
                .sudo()
                .search([("module", "=", "community_credit"), ("model", "=", model)])
            )
            return self.env[model].with_user(self.council).browse(data.mapped("res_id")).exists()

        expected = {
            "credit.commitment.template": 8,
            "credit.commitment.obligation": 18,
            "credit.volunteer.team": 3,
            "credit.review.group": 6,
            "credit.reward.stock": 5,
            "credit.merchant.pledge": 3,
        }
        for model, count in expected.items():
            records = named(model)
            self.assertEqual(len(records), count, model)
        for model in ("credit.commitment.template", "credit.volunteer.team", "credit.review.group"):
            self.assertEqual(named(model).community_id, self.community, model)
        templates = named("credit.commitment.template")
        self.assertEqual(templates.obligation_ids, named("credit.commitment.obligation"))
        self.assertTrue(all(t.obligation_ids for t in templates))
        stock = named("credit.reward.stock")
        self.assertEqual(stock.community_id, self.community)
        rewards = named("product.template").filtered("credit_is_reward")
        self.assertEqual(stock.product_tmpl_id, rewards)
        self.assertEqual(
            set(rewards.mapped("name")), {"重庆小面一碗", "馒头一个", "理发一次", "免费健康检查"}
        )
        # the generated history refers to them: vouchers of the demo's rewards, events
        # of its teams, commitments under its templates
        self.assertTrue(self.env["credit.voucher"].search([("product_tmpl_id", "in", rewards.ids)]))
        self.assertTrue(
            self.env["event.event"].search(
                [("credit_team_id", "in", named("credit.volunteer.team").ids)]
            )
        )
        self.assertTrue(
            self.env["credit.commitment"].search([("template_id", "in", templates.ids)])
        )
        # every household names its head among the members it lists
        households = named("credit.household")
        self.assertEqual(len(households), 24)
        for household in households:
            self.assertIn(household.head_id, household.member_ids, household.name)
        # the generator: an abstract model (no table) of demo/credit_demo.py
        Demo = self.env["credit.demo"]
        self.assertTrue(Demo._abstract)
        modules = {
            klass.__module__
            for klass in type(Demo).mro()
            if klass.__module__.startswith("odoo.addons.community_credit")
        }
        self.assertEqual(modules, {"odoo.addons.community_credit.demo.credit_demo"})
