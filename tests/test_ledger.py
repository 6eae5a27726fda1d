from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from psycopg2.errors import CheckViolation

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import DAY, CreditCase


@tagged("post_install", "-at_install")
class TestLedgerPosting(CreditCase):
    def test_post_awards_and_deductions_sum_to_balance(self):
        self.post(self.res_a1, self.rule_help, "k1")
        self.post(self.res_a1, self.rule_clean, "k2")
        self.post(self.res_a1, self.rule_fight, "k3")
        # 3 + 2 - 10, computed by hand
        self.assertEqual(self.balance(self.res_a1), -5)
        self.assertEqual(self.ledger_sum(self.res_a1), -5)
        row = self.env["credit.balance"].search([("partner_id", "=", self.res_a1.id)])
        self.assertEqual((row.total_earned, row.total_spent, row.line_count), (5, 10, 3))
        self.assertEqual(row.last_date, DAY)
        self.assertFalse(self.env["credit.balance"]._check_consistency())
        check = self.env["credit.balance"].with_user(self.user_admin).action_check_consistency()
        self.assertEqual(check["params"]["type"], "success")
        with self.assertRaises(AccessError):
            self.env["credit.balance"].with_user(self.user_manager).action_check_consistency()

    def test_line_records_who_where_and_why(self):
        line = self.post(self.res_a1, self.rule_help, "k1", description="扶老人过马路")
        self.assertEqual(line.points, 3)
        self.assertEqual(line.granted_by_id, self.user_manager)
        self.assertEqual(line.place_id, self.building_a1)
        self.assertEqual(line.community_id, self.community)
        self.assertEqual(line.household_id, self.household)
        self.assertEqual(line.category_id, self.category)
        self.assertEqual(line.state, "posted")
        self.assertEqual(line.origin, "manual")

    def test_workplace_gets_the_roll_up(self):
        unit = self.env["res.partner"].create({"name": "Test Unit", "is_company": True})
        self.res_a2.parent_id = unit
        line = self.post(self.res_a2, self.rule_help, "k1")
        self.assertEqual(line.organisation_id, unit)
        self.assertEqual(line.place_id, self.building_a1)

    def test_posted_lines_cannot_be_edited_or_deleted(self):
        line = self.post(self.res_a1, self.rule_help, "k1")
        with self.assertRaises(UserError):
            line.with_user(self.user_admin).write({"points": 30})
        with self.assertRaises(UserError):
            line.sudo().write({"points": 30})
        with self.assertRaises(UserError):
            line.sudo().write({"description": "changed"})
        with self.assertRaises(UserError):
            line.sudo().unlink()
        with self.assertRaises(UserError):
            line.sudo().copy()
        self.assertEqual(line.points, 3)

    def test_lines_cannot_be_created_around_the_posting_path(self):
        vals = {
            "partner_id": self.res_a1.id,
            "rule_id": self.rule_help.id,
            "points": 300,
            "date": DAY,
            "origin": "manual",
            "idempotency_key": "sneaky",
            "company_id": self.env.company.id,
        }
        with self.assertRaises(AccessError):
            self.Ledger.with_user(self.user_admin).create(vals)
        with self.assertRaises(UserError):
            self.Ledger.sudo().create(vals)
        with self.assertRaises(AccessError):
            self.Ledger.with_user(self.user_admin).with_context(credit_posting=True).create(vals)
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_same_key_posts_once(self):
        first = self.post(self.res_a1, self.rule_help, "claim:7:1")
        again = self.post(self.res_a1, self.rule_help, "claim:7:1")
        self.assertEqual(first, again)
        self.assertEqual(self.Ledger.search_count([("partner_id", "=", self.res_a1.id)]), 1)
        self.assertEqual(self.balance(self.res_a1), 3)

    def test_duplicate_key_in_one_batch_is_refused(self):
        vals = {
            "partner_id": self.res_a1.id,
            "rule_id": self.rule_help.id,
            "date": DAY,
            "origin": "manual",
            "idempotency_key": "dup",
        }
        with self.assertRaises(UserError):
            self.Ledger.with_user(self.user_manager)._post([vals, dict(vals)])
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_key_is_required(self):
        with self.assertRaises(UserError):
            self.Ledger.with_user(self.user_manager)._post(
                [
                    {
                        "partner_id": self.res_a1.id,
                        "rule_id": self.rule_help.id,
                        "origin": "manual",
                        "date": DAY,
                    }
                ]
            )

    def test_batch_is_all_or_nothing(self):
        vals = [
            {
                "partner_id": self.res_a1.id,
                "rule_id": self.rule_help.id,
                "date": DAY,
                "origin": "manual",
                "idempotency_key": "b1",
            },
            {
                "partner_id": self.res_nd.id,
                "rule_id": self.rule_fight.id,
                "date": DAY,
                "origin": "manual",
                "idempotency_key": "b2",
            },
        ]
        with self.assertRaises(UserError):
            self.Ledger.with_user(self.user_manager)._post(vals)
        self.assertEqual(self.Ledger.search_count([("idempotency_key", "in", ["b1", "b2"])]), 0)
        self.assertEqual(self.balance(self.res_a1), 0)


@tagged("post_install", "-at_install")
class TestLedgerRules(CreditCase):
    def test_monthly_cap(self):
        for n in range(3):  # 3 x 3 points = the cap of 9
            self.post(self.res_a1, self.rule_help, f"m{n}", day=DAY + timedelta(days=n))
        with self.assertRaisesRegex(UserError, "Cap reached"):
            self.post(self.res_a1, self.rule_help, "m3", day=DAY + timedelta(days=5))
        # the next month starts again; another subject has their own cap
        self.post(self.res_a1, self.rule_help, "m4", day=DAY + relativedelta(months=1))
        self.post(self.res_a2, self.rule_help, "m5", day=DAY)
        self.assertEqual(self.balance(self.res_a1), 12)

    def test_cap_counts_lines_of_the_same_batch(self):
        vals = [
            {
                "partner_id": self.res_a1.id,
                "rule_id": self.rule_help.id,
                "date": DAY,
                "origin": "manual",
                "idempotency_key": f"c{n}",
            }
            for n in range(4)
        ]
        with self.assertRaisesRegex(UserError, "Cap reached"):
            self.Ledger.with_user(self.user_manager)._post(vals)
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_day_week_and_year_caps(self):
        self.rule_clean.write({"cap_day": 2, "cap_week": 4, "cap_year": 6})
        self.post(self.res_a1, self.rule_clean, "d1", day=DAY)  # Wednesday
        with self.assertRaisesRegex(UserError, "day"):
            self.post(self.res_a1, self.rule_clean, "d2", day=DAY)
        self.post(self.res_a1, self.rule_clean, "d3", day=DAY + timedelta(days=1))
        with self.assertRaisesRegex(UserError, "week"):  # Friday, same ISO week
            self.post(self.res_a1, self.rule_clean, "d4", day=DAY + timedelta(days=2))
        self.post(self.res_a1, self.rule_clean, "d5", day=DAY + timedelta(days=5))  # Monday
        with self.assertRaisesRegex(UserError, "year"):
            self.post(self.res_a1, self.rule_clean, "d6", day=DAY + timedelta(days=14))
        self.assertEqual(self.balance(self.res_a1), 6)

    def test_week_cap_across_new_year(self):
        self.rule_clean.cap_week = 2
        # Wednesday 31 December 2025 and Thursday 1 January 2026: one ISO week
        self.post(self.res_a1, self.rule_clean, "w1", day=date(2026, 1, 1))
        with self.assertRaisesRegex(UserError, "week"):
            self.post(self.res_a1, self.rule_clean, "w2", day=date(2025, 12, 31))
        self.post(self.res_a2, self.rule_clean, "w3", day=date(2025, 12, 31))
        with self.assertRaisesRegex(UserError, "week"):
            self.post(self.res_a2, self.rule_clean, "w4", day=date(2026, 1, 2))
        self.post(self.res_a2, self.rule_clean, "w5", day=date(2026, 1, 5))  # next Monday
        self.assertEqual(self.balance(self.res_a2), 4)

    def test_reversal_frees_the_cap(self):
        lines = [self.post(self.res_a1, self.rule_help, f"r{n}") for n in range(3)]
        lines[0]._reverse("granted by mistake", DAY)
        self.post(self.res_a1, self.rule_help, "r3")
        self.assertEqual(self.balance(self.res_a1), 9)

    def test_deduction_refused_in_no_deduction_community(self):
        with self.assertRaisesRegex(UserError, "does not deduct"):
            self.post(self.res_nd, self.rule_fight, "nd1")
        self.post(self.res_nd, self.rule_help, "nd2")
        self.assertEqual(self.balance(self.res_nd), 3)

    def test_deduction_rule_refused_for_no_deduction_community(self):
        with self.assertRaisesRegex(ValidationError, "does not deduct"):
            self.env["credit.rule"].create(
                {
                    "code": "ND1",
                    "name": "Littering",
                    "category_id": self.category.id,
                    "points": -2,
                    "community_id": self.community_nd.id,
                }
            )

    def test_behaviour_cannot_both_add_and_deduct(self):
        with self.assertRaisesRegex(ValidationError, "both about the behaviour"):
            self.env["credit.rule"].create(
                {
                    "code": "T90",
                    "name": "Not helping",
                    "category_id": self.category.id,
                    "points": -3,
                    "behaviour": "Help-Neighbour",
                }
            )
        # a community-scoped rule also conflicts with a global one
        with self.assertRaises(ValidationError):
            self.env["credit.rule"].create(
                {
                    "code": "T91",
                    "name": "Fight settled",
                    "category_id": self.category.id,
                    "points": 2,
                    "behaviour": "fighting",
                    "community_id": self.community.id,
                }
            )

    @mute_logger("odoo.sql_db")
    def test_rule_sanity_constraints(self):
        Rule = self.env["credit.rule"]
        base = {"name": "x", "category_id": self.category.id}
        with self.assertRaises(ValidationError):
            Rule.create({**base, "code": "Z1", "points": 5, "cap_month": 3})
        with self.assertRaises(ValidationError):
            Rule.create({**base, "code": "T01", "points": 1})  # code taken
        with self.assertRaises(CheckViolation), self.env.cr.savepoint():
            Rule.create({**base, "code": "Z2", "points": 0})
        with self.assertRaises(CheckViolation):
            with self.env.cr.savepoint():
                Rule.create(
                    {
                        **base,
                        "code": "Z3",
                        "points": 1,
                        "date_from": DAY,
                        "date_to": DAY - timedelta(days=1),
                    }
                )

    def test_validity_scope_and_dates(self):
        self.rule_clean.write({"date_from": DAY, "date_to": DAY + timedelta(days=30)})
        with self.assertRaisesRegex(UserError, "not valid on"):
            self.post(self.res_a1, self.rule_clean, "v1", day=DAY - timedelta(days=1))
        self.post(self.res_a1, self.rule_clean, "v2", day=DAY)
        future = fields.Date.today() + timedelta(days=1)
        with self.assertRaisesRegex(UserError, "future"):
            self.post(self.res_a1, self.rule_help, "v3", day=future)
        local = self.env["credit.rule"].create(
            {
                "code": "L1",
                "name": "Local only",
                "category_id": self.category.id,
                "points": 1,
                "community_id": self.community_nd.id,
            }
        )
        with self.assertRaisesRegex(UserError, "belongs to"):
            self.post(self.res_a1, local, "v4")
        self.rule_help.active = False
        with self.assertRaisesRegex(UserError, "archived"):
            self.post(self.res_a1, self.rule_help, "v5")

    def test_rule_sign_and_subject_checks(self):
        with self.assertRaisesRegex(UserError, "opposite"):
            self.post(self.res_a1, self.rule_help, "s1", points=-3)
        stranger = self.env["res.partner"].create({"name": "No role"})
        with self.assertRaisesRegex(UserError, "not a credit subject"):
            self.post(stranger, self.rule_help, "s2")
        self.rule_clean.subject_type = "organisation"
        with self.assertRaisesRegex(UserError, "does not apply"):
            self.post(self.res_a1, self.rule_clean, "s3")

    def test_evidence_required(self):
        with self.assertRaisesRegex(UserError, "requires evidence"):
            self.post(self.res_a1, self.rule_photo, "e1")
        photo = self.env["ir.attachment"].create({"name": "family.jpg", "raw": b"jpeg"})
        line = self.post(
            self.res_a1, self.rule_photo, "e2", attachment_ids=[Command.set(photo.ids)]
        )
        self.assertEqual(line.attachment_ids, photo)
        self.assertEqual(self.balance(self.res_a1), 5)


@tagged("post_install", "-at_install")
class TestReversal(CreditCase):
    def test_reverse_adds_opposite_line(self):
        line = self.post(self.res_a1, self.rule_fight, "f1")
        wizard = (
            self.env["credit.reverse.wizard"]
            .with_user(self.user_manager)
            .create(
                {
                    "line_ids": [Command.set(line.ids)],
                    "reason": "Wrong person",
                }
            )
        )
        wizard.action_reverse()
        reversal = line.reversal_ids
        self.assertEqual(len(reversal), 1)
        self.assertEqual(
            (reversal.points, reversal.origin, reversal.reversal_of_id), (10, "reversal", line)
        )
        self.assertEqual(line.state, "reversed")
        self.assertEqual(self.balance(self.res_a1), 0)
        # the original is kept, reversed; neither can be reversed again
        with self.assertRaisesRegex(UserError, "already been reversed"):
            line._reverse("again")
        with self.assertRaisesRegex(UserError, "itself a reversal"):
            reversal._reverse("again")

    def test_reversal_of_deduction_allowed_when_community_stops_deducting(self):
        line = self.post(self.res_a1, self.rule_fight, "f1")
        self.community.allow_deduction = False
        line._reverse("appeal upheld")
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_reversal_needs_a_reason_and_a_manager(self):
        line = self.post(self.res_a1, self.rule_help, "h1")
        with self.assertRaises(UserError):
            line._reverse("  ")
        with self.assertRaises(AccessError):
            line.with_user(self.user_grid).action_reverse()
        with self.assertRaises(AccessError):
            self.env["credit.reverse.wizard"].with_user(self.user_grid).create(
                {
                    "line_ids": [Command.set(line.ids)],
                    "reason": "no",
                }
            )
        self.assertEqual(line.state, "posted")


@tagged("post_install", "-at_install")
class TestBalancesLevelsHouseholds(CreditCase):
    def test_levels_follow_thresholds(self):
        Level = self.env["credit.level"]
        Level.search([("community_id", "=", self.community.id)]).unlink()
        own = Level.create(
            [
                {"code": "A+", "name": "Top", "min_points": 5, "community_id": self.community.id},
                {"code": "B", "name": "Base", "min_points": 0, "community_id": self.community.id},
            ]
        )
        self.post(self.res_a1, self.rule_help, "l1")  # 3 points -> B
        self.res_a1.invalidate_recordset()
        self.assertEqual(self.res_a1.credit_level_id, own[1])
        self.post(self.res_a1, self.rule_clean, "l2")  # 5 points -> A+
        self.res_a1.invalidate_recordset()
        self.assertEqual(self.res_a1.credit_level_id, own[0])
        self.post(self.res_a1, self.rule_fight, "l3")  # -5: below the lowest -> lowest
        self.res_a1.invalidate_recordset()
        self.assertEqual(self.res_a1.credit_level_id, own[1])
        # a community without levels of its own uses the general ones
        self.post(self.res_nd, self.rule_help, "l4")
        general = Level.search([("community_id", "=", False), ("min_points", "<=", 3)], limit=1)
        self.res_nd.invalidate_recordset()
        self.assertEqual(self.res_nd.credit_level_id, general)

    def test_household_points_sum_or_average(self):
        self.post(self.res_a1, self.rule_help, "h1")  # 3
        self.post(self.res_a2, self.rule_clean, "h2")  # 2
        self.post(self.res_a2, self.rule_help, "h3")  # 3
        self.household.invalidate_recordset()
        self.assertEqual((self.household.points, self.household.member_count), (8, 2))
        self.community.household_points_mode = "average"
        self.household.invalidate_recordset()
        self.assertEqual(self.household.points, 4)

    def test_period_totals_on_the_subject(self):
        today = fields.Date.today()
        first_of_month = today.replace(day=1)
        self.post(self.res_a1, self.rule_clean, "p1", day=first_of_month)
        last_year = today.replace(month=1, day=1) - timedelta(days=1)
        self.post(self.res_a1, self.rule_clean, "p2", day=last_year)
        self.res_a1.invalidate_recordset()
        self.assertEqual(self.res_a1.credit_points_month, 2)
        self.assertEqual(self.res_a1.credit_points_year, 2)
        self.assertEqual(self.res_a1.credit_balance, 4)

    def test_search_subjects_by_balance(self):
        self.post(self.res_a1, self.rule_help, "s1")
        rich = self.env["res.partner"].search(
            [("credit_balance", ">=", 3), ("id", "in", [self.res_a1.id, self.res_a2.id])]
        )
        self.assertEqual(rich, self.res_a1)
        poor = self.env["res.partner"].search(
            [("credit_balance", "=", 0), ("id", "in", [self.res_a1.id, self.res_a2.id])]
        )
        self.assertEqual(poor, self.res_a2)

    def test_moving_house_moves_the_balance_row(self):
        self.post(self.res_a1, self.rule_help, "m1")
        self.res_a1.credit_place_id = self.building_b1
        self.res_a1.credit_household_id = False
        row = self.env["credit.balance"].search([("partner_id", "=", self.res_a1.id)])
        self.assertEqual(row.place_id, self.building_b1)


@tagged("post_install", "-at_install")
class TestExpiry(CreditCase):
    def test_unspent_points_expire_oldest_first(self):
        self.community.write({"points_expire": True, "expiry_months": 12})
        today = fields.Date.today()
        self.post(self.res_a1, self.rule_clean, "x1", day=today - relativedelta(months=14))
        self.post(self.res_a1, self.rule_help, "x2", day=today - relativedelta(months=13))
        self.post(self.res_a1, self.rule_help, "x3", day=today - relativedelta(months=2))
        self.post(self.res_a1, self.rule_fight, "x4", day=today - relativedelta(months=1))
        # old points 2 + 3 = 5, all consumed by the -10 deduction: nothing expires
        self.Ledger._cron_expire_points()
        self.assertFalse(self.Ledger.search([("origin", "=", "expiry")]))

    def test_expiry_amount_and_rerun(self):
        self.community.write({"points_expire": True, "expiry_months": 12})
        today = fields.Date.today()
        self.post(self.res_a2, self.rule_help, "z1", day=today - relativedelta(months=14))
        self.post(self.res_a2, self.rule_clean, "z2", day=today - relativedelta(months=13))
        self.post(self.res_a2, self.rule_help, "z3", day=today - relativedelta(months=1))
        line = self.post(
            self.res_a2, self.rule_clean, "z4", day=today - relativedelta(months=12, days=5)
        )
        line._reverse("not confirmed", today - relativedelta(months=2))
        # old credit: 3 + 2 + 2 = 7; taken away: the reversal 2 -> 5 expire
        self.Ledger._cron_expire_points()
        expired = self.Ledger.search([("origin", "=", "expiry")])
        self.assertEqual(expired.points, -5)
        self.assertEqual(expired.partner_id, self.res_a2)
        self.Ledger._cron_expire_points()
        self.assertEqual(self.Ledger.search_count([("origin", "=", "expiry")]), 1)
        self.assertEqual(self.balance(self.res_a2), 3)
        # a community that does not expire points keeps them
        self.post(self.res_nd, self.rule_help, "z5", day=today - relativedelta(months=30))
        self.Ledger._cron_expire_points()
        self.assertEqual(self.balance(self.res_nd), 3)
