from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import DAY, CreditCase


@tagged("post_install", "-at_install")
class TestSecurity(CreditCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.line_a1 = cls.post(cls.res_a1, cls.rule_help, "sec:a1")
        cls.line_a2 = cls.post(cls.res_a2, cls.rule_clean, "sec:a2")
        cls.line_b1 = cls.post(cls.res_b1, cls.rule_help, "sec:b1")
        cls.mine = cls.line_a1 | cls.line_a2 | cls.line_b1

    def visible_lines(self, user):
        return self.Ledger.with_user(user).search([("id", "in", self.mine.ids)])

    def test_resident_sees_only_their_own(self):
        self.assertEqual(self.visible_lines(self.user_resident), self.line_a1)
        with self.assertRaises(AccessError):
            self.line_b1.with_user(self.user_resident).read(["points"])
        balances = self.env["credit.balance"].with_user(self.user_resident).search([])
        self.assertEqual(balances.partner_id, self.res_a1)
        households = self.env["credit.household"].with_user(self.user_resident).search([])
        self.assertEqual(households, self.household)
        self.assertFalse(self.env["credit.household"].with_user(self.user_resident_b).search([]))

    def test_resident_cannot_grant_or_configure(self):
        with self.assertRaises(AccessError):
            self.Ledger.with_user(self.user_resident)._post(
                [
                    {
                        "partner_id": self.res_a1.id,
                        "rule_id": self.rule_help.id,
                        "date": DAY,
                        "origin": "manual",
                        "idempotency_key": "self-service",
                    }
                ]
            )
        with self.assertRaises(AccessError):
            self.rule_help.with_user(self.user_resident).write({"points": 100})
        with self.assertRaises(AccessError):
            self.env["credit.grant.wizard"].with_user(self.user_resident).create(
                {
                    "rule_id": self.rule_help.id,
                    "description": "me",
                    "partner_ids": [Command.set(self.res_a1.ids)],
                }
            )
        self.assertEqual(self.balance(self.res_a1), 3)

    def test_grid_worker_is_kept_to_their_places(self):
        self.assertEqual(self.visible_lines(self.user_grid), self.line_a1 | self.line_a2)
        with self.assertRaises(AccessError):
            self.line_b1.with_user(self.user_grid).read(["points"])
        balances = (
            self.env["credit.balance"]
            .with_user(self.user_grid)
            .search([("partner_id", "in", (self.res_a1 | self.res_b1).ids)])
        )
        self.assertEqual(balances.partner_id, self.res_a1)
        # may grant in their estate, not in another one
        self.post(self.res_a2, self.rule_clean, "grid:ok", user=self.user_grid)
        with self.assertRaisesRegex(AccessError, "places you look after"):
            self.post(self.res_b1, self.rule_clean, "grid:no", user=self.user_grid)
        self.assertEqual(self.balance(self.res_b1), 3)

    def test_grid_worker_cannot_configure_rules_or_places(self):
        with self.assertRaises(AccessError):
            self.env["credit.rule"].with_user(self.user_grid).create(
                {
                    "code": "G1",
                    "name": "mine",
                    "category_id": self.category.id,
                    "points": 50,
                }
            )
        with self.assertRaises(AccessError):
            self.community.with_user(self.user_grid).write({"allow_deduction": False})
        with self.assertRaises(AccessError):
            self.line_a1.with_user(self.user_grid).action_reverse()

    def test_rule_reserved_to_groups(self):
        self.rule_clean.granter_group_ids = self.env.ref("community_credit.group_credit_manager")
        with self.assertRaisesRegex(AccessError, "reserved"):
            self.post(self.res_a1, self.rule_clean, "g1", user=self.user_grid)
        self.post(self.res_a1, self.rule_clean, "g2", user=self.user_manager)
        self.assertEqual(self.balance(self.res_a1), 5)

    def test_reviewer_sees_their_community(self):
        self.assertEqual(self.visible_lines(self.user_reviewer), self.mine)
        nd_line = self.post(self.res_nd, self.rule_help, "rev:nd")
        with self.assertRaises(AccessError):
            nd_line.with_user(self.user_reviewer).read(["points"])

    def test_finance_reads_all_and_grants_nothing(self):
        self.assertEqual(self.visible_lines(self.user_finance), self.mine)
        with self.assertRaises(AccessError):
            self.post(self.res_a1, self.rule_help, "fin:1", user=self.user_finance)
        with self.assertRaises(AccessError):
            self.env["credit.grant.wizard"].with_user(self.user_finance).create(
                {
                    "rule_id": self.rule_help.id,
                    "description": "x",
                    "partner_ids": [Command.set(self.res_a1.ids)],
                }
            )
        with self.assertRaises(AccessError):
            self.rule_help.with_user(self.user_finance).write({"points": 1})

    def test_manager_and_admin(self):
        self.assertEqual(self.visible_lines(self.user_manager), self.mine)
        self.line_a1.with_user(self.user_manager).action_reverse()
        with self.assertRaises(AccessError):
            self.env["credit.rule"].with_user(self.user_manager).create(
                {
                    "code": "M1",
                    "name": "x",
                    "category_id": self.category.id,
                    "points": 1,
                }
            )
        rule = (
            self.env["credit.rule"]
            .with_user(self.user_admin)
            .create(
                {
                    "code": "A1",
                    "name": "Admin rule",
                    "category_id": self.category.id,
                    "points": 1,
                }
            )
        )
        self.assertTrue(rule.exists())

    def test_nobody_edits_the_ledger(self):
        for user in (
            self.user_resident,
            self.user_grid,
            self.user_manager,
            self.user_finance,
            self.user_admin,
        ):
            with self.assertRaises(AccessError):
                self.line_a1.with_user(user).write({"points": 99})
            with self.assertRaises(AccessError):
                self.line_a1.with_user(user).unlink()
        self.assertEqual(self.line_a1.points, 3)

    def test_id_number_is_for_managers_only(self):
        self.res_a1.credit_id_number = "500113199001011234"
        with self.assertRaises(AccessError):
            self.res_a1.with_user(self.user_grid).read(["credit_id_number"])
        self.assertEqual(
            self.res_a1.with_user(self.user_manager).credit_id_number, "500113199001011234"
        )

    def test_multi_company(self):
        other = self.env["res.company"].create({"name": "Other Council"})
        city2 = self.env["credit.place"].create(
            {"name": "Other City", "place_type": "city", "company_id": other.id}
        )
        com2 = self.env["credit.place"].create(
            {
                "name": "Other Community",
                "place_type": "community",
                "parent_id": city2.id,
                "company_id": other.id,
            }
        )
        stranger = self.env["res.partner"].create(
            {
                "name": "Other resident",
                "credit_place_id": com2.id,
                "credit_role_ids": [
                    Command.set(self.env.ref("community_credit.role_resident").ids)
                ],
            }
        )
        with self.assertRaisesRegex(UserError, "another company"):
            self.Ledger.sudo()._post(
                [
                    {
                        "partner_id": stranger.id,
                        "rule_id": self.rule_clean.id,
                        "date": DAY,
                        "origin": "manual",
                        "idempotency_key": "mc:0",
                    }
                ],
                check_rights=False,
            )
        rule2 = self.env["credit.rule"].create(
            {
                "code": "O1",
                "name": "Other rule",
                "category_id": self.category.id,
                "points": 4,
                "company_id": other.id,
            }
        )
        line = self.Ledger.sudo()._post(
            [
                {
                    "partner_id": stranger.id,
                    "rule_id": rule2.id,
                    "date": DAY,
                    "origin": "manual",
                    "idempotency_key": "mc:1",
                }
            ],
            check_rights=False,
        )
        self.assertEqual(line.company_id, other)
        self.assertFalse(self.Ledger.with_user(self.user_manager).search([("id", "=", line.id)]))
        self.assertFalse(
            self.env["credit.place"].with_user(self.user_manager).search([("id", "=", com2.id)])
        )
