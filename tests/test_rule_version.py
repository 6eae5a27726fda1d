import base64
import io
from datetime import date, timedelta

from freezegun import freeze_time
from openpyxl import load_workbook

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.modules.migration import load_script
from odoo.tests import Form, tagged
from odoo.tools.misc import file_path

from .common import DAY, CreditCase

MARCH = (date(2025, 3, 1), date(2025, 3, 31))


@tagged("post_install", "-at_install")
class TestRuleVersion(CreditCase):
    def test_v1_at_creation(self):
        today = fields.Date.context_today(self.rule_clean)
        v1 = self.rule_clean.version_ids
        self.assertEqual(len(v1), 1)
        self.assertEqual((v1.number, v1.date_from, v1.date_to), (1, today, False))
        self.assertEqual((v1.name, v1.points, v1.cap_month), ("Clean the stairwell", 2, 0))
        self.assertEqual(
            (self.rule_help.version_ids.points, self.rule_help.version_ids.cap_month), (3, 9)
        )

    def test_changing_points_makes_v2_and_closes_v1(self):
        today = fields.Date.context_today(self.rule_clean)
        v1 = self.rule_clean.version_ids
        before = self.post(self.res_a1, self.rule_clean, "before", day=today)
        self.rule_clean.with_user(self.user_admin)._write_versioned(
            {"points": 4, "cap_week": 8}, note="council decision"
        )
        v2 = self.rule_clean.version_ids - v1
        self.assertEqual((v2.number, v2.date_from, v2.date_to), (2, today, False))
        self.assertEqual((v2.points, v2.cap_week, v2.note), (4, 8, "council decision"))
        self.assertEqual(v2.create_uid, self.user_admin)
        self.assertEqual(v1.date_to, today)
        self.assertEqual((v1.points, v1.cap_week), (2, 0))  # v1 keeps the old terms
        after = self.post(self.res_a1, self.rule_clean, "after", day=today)
        self.assertEqual(before.rule_version_id, v1)
        self.assertEqual(after.rule_version_id, v2)
        self.assertEqual(after.points, 4)
        self.assertEqual(self.rule_clean._version_on(today), v2)
        # the reversal of a line posted under v1 is a v1 line too
        reversal = before._reverse("granted by mistake")
        self.assertEqual(reversal.rule_version_id, v1)
        self.assertEqual(reversal.points, -2)

    def test_name_and_description_make_versions(self):
        self.rule_clean.with_user(self.user_admin).name = "Clean the stairs"
        self.rule_clean.with_user(self.user_admin).description = "<p>Sweep and mop</p>"
        versions = self.rule_clean.version_ids.sorted("number")
        self.assertEqual(versions.mapped("number"), [1, 2, 3])
        self.assertEqual(
            versions.mapped("name"), ["Clean the stairwell", "Clean the stairs", "Clean the stairs"]
        )
        self.assertIn("Sweep and mop", versions[2].description)
        self.assertFalse(versions[1].description)

    def test_unrelated_fields_make_no_version(self):
        rule = self.rule_clean.with_user(self.user_admin)
        rule.write({"sequence": 99, "evidence_required": False, "behaviour": "clean-stairs"})
        rule.active = False
        rule.active = True
        rule.points = 2  # the same terms again
        self.assertEqual(len(self.rule_clean.version_ids), 1)
        self.assertFalse(self.rule_clean.version_ids.date_to)

    def test_version_on_a_date(self):
        with freeze_time("2025-01-10"):
            rule = self.env["credit.rule"].create(
                {"code": "V1", "name": "Plant a tree", "category_id": self.category.id, "points": 2}
            )
        with freeze_time("2025-03-01"):
            rule.points = 3
        with freeze_time("2025-03-20"):
            rule.cap_month = 6
        v1, v2, v3 = rule.version_ids.sorted("number")
        self.assertEqual(v1.date_to, date(2025, 3, 1))
        self.assertEqual(v2.date_to, date(2025, 3, 20))
        self.assertEqual(rule._version_on(date(2024, 12, 1)), v1)  # before v1: the first terms
        self.assertEqual(rule._version_on(date(2025, 1, 10)), v1)
        self.assertEqual(rule._version_on(date(2025, 2, 28)), v1)
        self.assertEqual(rule._version_on(date(2025, 3, 1)), v2)
        self.assertEqual(rule._version_on(date(2025, 3, 19)), v2)
        self.assertEqual(rule._version_on(date(2025, 3, 20)), v3)
        self.assertEqual(rule._version_on(date(2026, 1, 1)), v3)
        # a batch of backdated lines, two rules: posted now, they are granted at
        # today's terms (3 points), so they keep today's version, whatever their date
        lines = self.Ledger.with_user(self.user_manager)._post(
            [
                {
                    "partner_id": self.res_a1.id,
                    "rule_id": rule.id,
                    "date": day,
                    "origin": "manual",
                    "idempotency_key": f"b{n}",
                }
                for n, day in enumerate([date(2025, 2, 1), date(2025, 3, 5), date(2025, 3, 25)])
            ]
            + [
                {
                    "partner_id": self.res_a1.id,
                    "rule_id": self.rule_help.id,
                    "date": DAY,
                    "origin": "manual",
                    "idempotency_key": "b-help",
                }
            ]
        )
        self.assertEqual(
            [line.rule_version_id for line in lines], [v3, v3, v3, self.rule_help.version_ids]
        )
        self.assertEqual(lines[:3].mapped("points"), [v3.points] * 3)
        # lines without a rule (redemptions, expiry) have no version
        expiry = self.Ledger.sudo()._post(
            [
                {
                    "partner_id": self.res_a1.id,
                    "points": -1,
                    "origin": "expiry",
                    "idempotency_key": "no-rule",
                    "date": DAY,
                }
            ],
            check_rights=False,
        )
        self.assertFalse(expiry.rule_version_id)

    def test_versions_cannot_be_edited(self):
        version = self.rule_clean.version_ids
        with self.assertRaises(AccessError):
            version.with_user(self.user_admin).write({"points": 7})
        with self.assertRaises(UserError):
            version.sudo().write({"points": 7})
        with self.assertRaises(AccessError):
            self.env["credit.rule.version"].with_user(self.user_admin).create(
                {"rule_id": self.rule_clean.id, "number": 5, "date_from": DAY, "points": 1}
            )
        # the residents and the staff may read the terms the points were given under
        self.assertEqual(version.with_user(self.user_resident).points, 2)
        self.assertEqual(version.with_user(self.user_grid).points, 2)

    def test_migration_gives_v1_to_rules_without_versions(self):
        line = self.post(self.res_a1, self.rule_clean, "m1")
        other = self.post(self.res_a1, self.rule_help, "m2")
        help_version = other.rule_version_id
        # the database as it was before 18.0.1.2.0: no versions for this rule
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE credit_ledger_line SET rule_version_id = NULL WHERE rule_id = %s",
            [self.rule_clean.id],
        )
        self.env.cr.execute(
            "DELETE FROM credit_rule_version WHERE rule_id = %s", [self.rule_clean.id]
        )
        self.env.invalidate_all()
        self.assertFalse(self.rule_clean.version_ids)
        script = load_script(
            file_path("community_credit/migrations/18.0.1.2.0/post-migrate.py"), "post_migrate"
        )
        script.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()
        v1 = self.rule_clean.version_ids
        self.assertEqual(len(v1), 1)
        self.assertEqual((v1.number, v1.points, v1.name), (1, 2, "Clean the stairwell"))
        # in force from the first line under the rule (before the rule's creation here)
        self.assertEqual(v1.date_from, DAY)
        self.assertEqual(line.rule_version_id, v1)
        self.assertEqual(other.rule_version_id, help_version)  # untouched
        # a second run changes nothing
        self.assertEqual(self.env["credit.rule.version"]._create_missing_versions(), 0)
        self.assertEqual(len(self.rule_clean.version_ids), 1)


@tagged("post_install", "-at_install")
class TestRuleSimulation(CreditCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # March 2025 under "Clean the stairwell" (2 points, no cap): 2, 5 and 1 lines
        for partner, count in ((cls.res_a1, 2), (cls.res_a2, 5), (cls.res_b1, 1)):
            for n in range(count):
                cls.post(
                    partner, cls.rule_clean, f"s-{partner.id}-{n}", day=MARCH[0] + timedelta(days=n)
                )
        # outside the period, and a reversed grant with its reversal: not counted
        cls.post(cls.res_a1, cls.rule_clean, "s-feb", day=date(2025, 2, 27))
        cls.post(cls.res_a1, cls.rule_clean, "s-apr", day=date(2025, 4, 1))
        cls.post(cls.res_a1, cls.rule_clean, "s-rev", day=DAY)._reverse("by mistake", DAY)
        # another rule in the same month: not counted
        cls.post(cls.res_a1, cls.rule_help, "s-help", day=DAY)

    def wizard(self, user=None, **vals):
        return (
            self.env["credit.rule.simulation.wizard"]
            .with_user(user or self.user_manager)
            .create(
                {
                    "rule_id": self.rule_clean.id,
                    "period": "custom",
                    "date_from": MARCH[0],
                    "date_to": MARCH[1],
                    **vals,
                }
            )
        )

    def results(self, wizard):
        return {
            line.partner_id: (
                line.line_count,
                line.actual_points,
                line.simulated_points,
                line.difference,
            )
            for line in wizard.line_ids
        }

    def test_simulation_with_a_monthly_cap(self):
        wizard = self.wizard(points=3, cap_month=9)
        action = wizard.action_simulate()
        self.assertEqual(action["res_id"], wizard.id)
        # by hand: 2 x 3 = 6; 5 x 3 = 15, but 9 / 3 = 3 lines a month = 9; 1 x 3 = 3
        self.assertEqual(
            self.results(wizard),
            {
                self.res_a1: (2, 4, 6, 2),
                self.res_a2: (5, 10, 9, -1),
                self.res_b1: (1, 2, 3, 1),
            },
        )
        self.assertEqual(
            (wizard.subject_count, wizard.affected_count, wizard.actual_total),
            (3, 3, 16),
        )
        self.assertEqual((wizard.simulated_total, wizard.difference), (18, 2))
        # simulating again replaces the results; a lower cap that is not a multiple
        # of the points lets through whole lines only: 5 // 2 = 2 lines = 4 points
        wizard.write({"points": 2, "cap_month": 5})
        wizard.action_simulate()
        self.assertEqual(
            self.results(wizard),
            {
                self.res_a1: (2, 4, 4, 0),
                self.res_a2: (5, 10, 4, -6),
                self.res_b1: (1, 2, 2, 0),
            },
        )
        self.assertEqual(
            (wizard.affected_count, wizard.simulated_total, wizard.difference), (1, 10, -6)
        )
        # nothing was posted or changed by simulating
        self.assertEqual(len(self.rule_clean.version_ids), 1)
        self.assertEqual(self.rule_clean.points, 2)

    def test_terms_are_prefilled_from_the_rule(self):
        wizard = (
            self.env["credit.rule.simulation.wizard"]
            .with_user(self.user_manager)
            .create({"rule_id": self.rule_help.id})
        )
        self.assertEqual((wizard.points, wizard.cap_month, wizard.cap_day), (3, 9, 0))
        self.assertEqual(wizard.current_version_id, self.rule_help.version_ids)
        # last calendar month by default; last quarter and last year on request
        today = fields.Date.context_today(wizard)
        first = today.replace(day=1)
        self.assertEqual(wizard.date_to, first - timedelta(days=1))
        self.assertEqual(wizard.date_from, (first - timedelta(days=1)).replace(day=1))
        wizard.period = "year"
        self.assertEqual(
            (wizard.date_from, wizard.date_to),
            (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
        )
        wizard.period = "quarter"
        quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        self.assertEqual(wizard.date_to, quarter_start - timedelta(days=1))
        self.assertEqual(wizard.date_from.day, 1)
        self.assertEqual((wizard.date_to - wizard.date_from).days // 28, 3)

    def test_simulation_with_day_and_year_caps(self):
        # a2 earned 2 lines in February: a yearly cap remembers them
        self.post(self.res_a2, self.rule_clean, "s-a2-feb1", day=date(2025, 2, 3))
        self.post(self.res_a2, self.rule_clean, "s-a2-feb2", day=date(2025, 2, 3))
        self.post(self.res_a1, self.rule_clean, "s-a1-same-day", day=MARCH[0])
        wizard = self.wizard(points=3, cap_day=3, cap_year=12)
        wizard.action_simulate()
        # by hand, one line a day and 4 lines a year:
        # a1: 3 March lines on 2 days -> 2 lines; Feb 27 used 1 of 4 -> 2 lines = 6
        # a2: 5 March lines on 5 days; February used 1 (same day) of 4 -> 3 lines = 9
        # b1: 1 line -> 3
        self.assertEqual(
            self.results(wizard),
            {
                self.res_a1: (3, 6, 6, 0),
                self.res_a2: (5, 10, 9, -1),
                self.res_b1: (1, 2, 3, 1),
            },
        )
        self.assertEqual((wizard.actual_total, wizard.simulated_total), (18, 18))

    def test_the_form_as_the_council_uses_it(self):
        action = self.rule_help.with_user(self.user_manager).action_simulate_change()
        Wizard = self.env["credit.rule.simulation.wizard"].with_user(self.user_manager)
        form = Form(Wizard.with_context(**action["context"]))
        self.assertEqual((form.points, form.cap_month), (3, 9))
        form.period = "custom"
        form.date_from = MARCH[0]
        form.date_to = MARCH[1]
        form.points = 2
        form.cap_month = 0
        wizard = form.save()
        wizard.action_simulate()
        # one help line of setUpClass: 3 points, 2 under the proposal
        self.assertEqual(self.results(wizard), {self.res_a1: (1, 3, 2, -1)})

    def test_queries_do_not_grow_with_the_lines(self):
        wizard = self.wizard(points=3, cap_month=9, cap_week=6)
        wizard.action_simulate()
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        wizard.action_simulate()
        self.env.flush_all()
        few = self.env.cr.sql_log_count - before
        for n in range(20):  # four times as many lines, same subjects
            self.post(
                self.res_a2, self.rule_clean, f"more-{n}", day=MARCH[0] + timedelta(days=n % 28)
            )
        wizard.action_simulate()  # caches warm again after the postings
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        wizard.action_simulate()
        self.env.flush_all()
        self.assertEqual(self.env.cr.sql_log_count - before, few)
        # a2: 25 March lines, 2 a week at most (6 // 3), 3 a month -> 9
        self.assertEqual(self.results(wizard)[self.res_a2], (25, 50, 9, -41))

    def test_simulation_of_a_deduction(self):
        self.post(self.res_a1, self.rule_fight, "f1", day=DAY)
        self.post(self.res_a1, self.rule_fight, "f2", day=DAY)
        wizard = self.wizard(rule_id=self.rule_fight.id, points=-6, cap_month=6)
        wizard.action_simulate()
        self.assertEqual(self.results(wizard), {self.res_a1: (2, -20, -6, 14)})

    def test_export(self):
        wizard = self.wizard(points=3, cap_month=9)
        wizard.action_simulate()
        action = wizard.action_export_xlsx()
        self.assertEqual(action["type"], "ir.actions.act_url")
        attachment = self.env["ir.attachment"].browse(
            int(action["url"].split("/")[3].split("?")[0])
        )
        self.assertTrue(attachment.name.endswith(".xlsx"))
        sheet = load_workbook(io.BytesIO(base64.b64decode(attachment.datas))).active
        rows = list(sheet.iter_rows(min_row=3, values_only=True))
        self.assertEqual(rows[-1], ("Total", 8, 16, 18, 2))
        self.assertEqual(
            sorted(rows[:-1]),
            sorted([("张三", 2, 4, 6, 2), ("李四", 5, 10, 9, -1), ("王五", 1, 2, 3, 1)]),
        )

    def test_refused_terms(self):
        wizard = self.wizard(points=3, cap_month=2)
        with self.assertRaisesRegex(UserError, "smaller than"):
            wizard.action_simulate()
        wizard.write({"cap_month": 0, "points": 0})
        with self.assertRaises(UserError):
            wizard.action_simulate()
        wizard.write({"points": 3, "date_from": MARCH[1], "date_to": MARCH[0]})
        with self.assertRaisesRegex(UserError, "end after"):
            wizard.action_simulate()

    def test_residents_and_grid_workers_cannot_simulate(self):
        for user in (self.user_resident, self.user_grid, self.user_reviewer, self.user_finance):
            with self.assertRaises(AccessError):
                self.wizard(user=user, points=3)
            with self.assertRaises(AccessError):
                self.rule_clean.with_user(user).action_simulate_change()
        wizard = self.wizard(points=3)
        with self.assertRaises(AccessError):
            wizard.with_user(self.user_grid).action_simulate()
        with self.assertRaises(AccessError):
            wizard.with_user(self.user_grid).action_export_xlsx()
        action = self.rule_clean.with_user(self.user_manager).action_simulate_change()
        self.assertEqual(action["context"], {"default_rule_id": self.rule_clean.id})

    def test_apply_the_change(self):
        wizard = self.wizard(
            points=3, cap_month=9, note="评议会 2025-04-02: fewer times, more points"
        )
        wizard.action_simulate()
        # the council simulates; only administrators change rules
        with self.assertRaises(AccessError):
            wizard.action_apply()
        self.assertEqual(self.rule_clean.points, 2)
        admin_wizard = self.wizard(user=self.user_admin, points=3, cap_month=9, note=" ")
        with self.assertRaisesRegex(UserError, "Say why"):
            admin_wizard.action_apply()
        admin_wizard.note = "评议会 2025-04-02: fewer times, more points"
        admin_wizard.action_apply()
        self.assertEqual((self.rule_clean.points, self.rule_clean.cap_month), (3, 9))
        v1, v2 = self.rule_clean.version_ids.sorted("number")
        self.assertEqual((v2.points, v2.cap_month, v2.create_uid), (3, 9, self.user_admin))
        self.assertEqual(v2.note, "评议会 2025-04-02: fewer times, more points")
        self.assertEqual(v1.date_to, fields.Date.context_today(v1))
        with self.assertRaisesRegex(UserError, "nothing to apply"):
            admin_wizard.action_apply()
