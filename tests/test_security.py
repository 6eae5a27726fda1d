from datetime import date

import odoo
from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .common import DAY, MANAGER, CreditCase


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


# every context key the addon ever read as a guard: none opens a door
FORGED = {
    "credit_claim_workflow": True,
    "credit_posting": True,
    "credit_board_publishing": True,
    "credit_notice_sending": True,
    "install_mode": True,
}


@tagged("post_install", "-at_install")
class TestPartnerScope(CreditCase):
    """Grid workers see the credit figures of the subjects of their places only,
    and place, house and give roles only to them, only within their places; the
    council and finance see every subject; residents change none of their own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.post(cls.res_a1, cls.rule_help, "scope:a1")
        cls.post(cls.res_b1, cls.rule_help, "scope:b1", day=date.today())
        cls.res_b1.credit_role_ids |= cls.env.ref("community_credit.role_party_member")
        cls.grid_partner = cls.user_grid.partner_id

    def rpc_write(self, user, records, vals):
        model = records._name
        env = self.env[model].with_user(user).with_context(**FORGED)
        return odoo.api.call_kw(env, "write", [records.ids, vals], {})

    def figures(self, user, partner):
        partner = partner.with_user(user)
        return (
            partner.credit_balance,
            partner.credit_level_id.id,
            partner.credit_line_count,
            partner.credit_points_year,
            partner.credit_services_year,
            partner.credit_duty_progress,
        )

    def test_grid_worker_reads_the_figures_of_their_places_only(self):
        self.assertEqual(self.figures(self.user_grid, self.res_a1)[0], 3)
        self.assertEqual(self.figures(self.user_grid, self.res_a1)[2], 1)
        # estate B is not theirs: nothing to read, not even the duty of a party member
        self.assertEqual(self.figures(self.user_grid, self.res_b1), (0, False, 0, 0, 0, False))
        for user in (self.user_manager, self.user_finance, self.user_reviewer):
            figures = self.figures(user, self.res_b1)
            self.assertEqual((figures[0], figures[2], figures[3]), (3, 1, 3), user.login)
            self.assertEqual(figures[5], "0 / 12 services, 3 / 5 points", user.login)
        self.assertEqual(
            (self.res_a1 | self.res_b1).with_user(self.user_grid).mapped("credit_in_scope"),
            [True, False],
        )
        # read in one request with others, as a list view does
        both = (self.res_a1 | self.res_b1).with_user(self.user_grid)
        self.assertEqual(both.mapped("credit_balance"), [3, 0])
        self.assertEqual(
            both.with_user(self.user_manager).mapped("credit_balance"),
            [3, 3],
            "the council's figures are not the grid worker's cache",
        )

    def test_contact_form_opens_for_each_group(self):
        for user in (self.user_grid, self.user_finance, self.user_manager):
            for partner in (self.res_a1, self.res_b1):
                form = Form(partner.with_user(user))
                self.assertEqual(form.name, partner.name)
        self.assertEqual(Form(self.res_b1.with_user(self.user_grid)).credit_balance, 0)
        self.assertEqual(Form(self.res_b1.with_user(self.user_manager)).credit_balance, 3)

    def test_nobody_finds_anothers_points_by_searching(self):
        Partner = self.env["res.partner"]
        people = (self.res_a1 | self.res_a2 | self.res_b1 | self.res_nd).ids
        found = Partner.with_user(self.user_grid).search(
            [("id", "in", people), ("credit_balance", ">=", 3)]
        )
        self.assertEqual(found, self.res_a1)
        zero = Partner.with_user(self.user_grid).search(
            [("id", "in", people), ("credit_balance", "=", 0)]
        )
        self.assertEqual(zero, self.res_a2, "estate B's and the other community's are unseen")
        found = Partner.with_user(self.user_manager).search(
            [("id", "in", people), ("credit_balance", ">=", 3)]
        )
        self.assertEqual(found, self.res_a1 | self.res_b1)
        mine = Partner.with_user(self.user_resident_b).search([("credit_balance", ">", 0)])
        self.assertEqual(mine, self.res_b1, "a resident finds their own only")

    def test_grid_worker_keeps_subjects_within_their_places(self):
        # within estate A: a building to the estate, a role, back again
        self.rpc_write(self.user_grid, self.res_a2, {"credit_place_id": self.estate_a.id})
        self.assertEqual(self.res_a2.credit_place_id, self.estate_a)
        role = self.env.ref("community_credit.role_volunteer")
        self.rpc_write(self.user_grid, self.res_a2, {"credit_role_ids": [Command.link(role.id)]})
        self.assertIn(role, self.res_a2.credit_role_ids)
        # out of their places: refused, and nothing changes
        with self.assertRaisesRegex(AccessError, "only to the places you look after"):
            self.rpc_write(self.user_grid, self.res_a1, {"credit_place_id": self.building_b1.id})
        with self.assertRaisesRegex(AccessError, "only to the places you look after"):
            self.rpc_write(self.user_grid, self.res_a1, {"credit_place_id": False})
        # into their places, a subject of another estate: refused
        for vals in (
            {"credit_place_id": self.building_a1.id},
            {"credit_household_id": self.household.id},
            {"credit_role_ids": [Command.link(role.id)]},
            {"credit_notice_channel": "email"},
        ):
            with self.assertRaisesRegex(AccessError, "do not live in the places you look after"):
                self.rpc_write(self.user_grid, self.res_b1, vals)
        # nor themselves, from nowhere, to grant their own points
        with self.assertRaisesRegex(AccessError, "do not live in the places you look after"):
            self.rpc_write(self.user_grid, self.grid_partner, {"credit_place_id": self.estate_a.id})
        self.assertEqual(self.res_a1.credit_place_id, self.building_a1)
        self.assertEqual(self.res_b1.credit_place_id, self.building_b1)
        self.assertNotIn(role, self.res_b1.credit_role_ids)
        self.assertEqual(self.res_b1.credit_notice_channel, "portal")
        self.assertFalse(self.grid_partner.credit_place_id)
        # the council places anybody anywhere
        self.rpc_write(self.user_manager, self.res_b1, {"credit_place_id": self.building_a1.id})
        self.assertEqual(self.res_b1.credit_place_id, self.building_a1)

    def test_grid_worker_registers_residents_in_their_places_only(self):
        Partner = self.env["res.partner"].with_user(self.user_grid)
        new = Partner.create({"name": "New neighbour", "credit_place_id": self.building_a1.id})
        self.assertEqual(new.credit_community_id, self.community)
        with self.assertRaisesRegex(AccessError, "only to the places you look after"):
            Partner.create({"name": "Elsewhere", "credit_place_id": self.building_b1.id})
        with self.assertRaisesRegex(AccessError, "only to the places you look after"):
            Partner.with_context(default_credit_place_id=self.building_b1.id).create(
                {"name": "By the context"}
            )
        with self.assertRaisesRegex(AccessError, "Give the new subject one of the places"):
            Partner.create({"name": "Nowhere", "credit_household_id": self.household.id})
        # a plain contact is no subject: anybody may create it
        plain = Partner.create({"name": "Plumber"})
        self.assertFalse(plain.credit_place_id)
        self.assertFalse(Partner.search([("name", "in", ["Elsewhere", "By the context"])]))

    def test_residents_and_finance_change_no_credit_field(self):
        resident = self.user_resident
        for vals in (
            {"credit_place_id": self.building_b1.id},
            {"credit_household_id": False},
            {"credit_role_ids": [Command.clear()]},
            {"credit_notice_channel": "email"},
        ):
            with self.assertRaisesRegex(AccessError, "Only grid workers and the council"):
                self.rpc_write(resident, self.res_a1, vals)
            with self.assertRaisesRegex(AccessError, "Only grid workers and the council"):
                self.rpc_write(self.user_finance, self.res_a1, vals)
        self.assertEqual(self.res_a1.credit_place_id, self.building_a1)
        self.assertEqual(self.res_a1.credit_household_id, self.household)
        self.assertTrue(self.res_a1.credit_role_ids)

    def test_derived_fields_are_the_server_s(self):
        for user in (self.user_grid, self.user_manager):
            with self.assertRaisesRegex(AccessError, "never by hand"):
                self.rpc_write(user, self.res_a1, {"credit_community_id": self.community_nd.id})
            with self.assertRaisesRegex(AccessError, "never by hand"):
                self.rpc_write(user, self.res_a2, {"credit_is_subject": False})
        self.assertEqual(self.res_a1.credit_community_id, self.community)
        self.assertTrue(self.res_a2.credit_is_subject)

    def test_places_looked_after_are_the_administrators(self):
        for user in (self.user_grid, self.user_manager):
            with self.assertRaisesRegex(AccessError, "Only credit administrators"):
                self.rpc_write(user, user, {"credit_place_ids": [Command.set(self.city.ids)]})
        self.assertEqual(self.user_grid.credit_place_ids, self.estate_a)
        self.assertFalse(self.user_manager.credit_place_ids)
        admin = self.user_admin
        admin.groups_id |= self.env.ref("base.group_erp_manager")
        self.rpc_write(admin, self.user_grid, {"credit_place_ids": [Command.set(self.city.ids)]})
        self.assertEqual(self.user_grid.credit_place_ids, self.city)

    def test_partner_buttons_check_their_caller(self):
        with self.assertRaisesRegex(AccessError, "reserved for credit staff"):
            self.res_a1.with_user(self.user_resident).action_view_credit_ledger()
        with self.assertRaisesRegex(AccessError, "do not live in the places you look after"):
            self.res_b1.with_user(self.user_grid).action_grant_credit_points()
        with self.assertRaisesRegex(AccessError, "do not live in the places you look after"):
            self.res_b1.with_user(self.user_grid).action_view_credit_ledger()
        action = self.res_a1.with_user(self.user_grid).action_grant_credit_points()
        self.assertEqual(action["context"]["default_partner_ids"], self.res_a1.ids)
        action = self.res_b1.with_user(self.user_finance).action_view_credit_ledger()
        self.assertEqual(action["domain"], [("partner_id", "=", self.res_b1.id)])


@tagged("post_install", "-at_install")
class TestRewardFields(CreditCase):
    """What a reward costs and who donates it: credit managers only, not any
    Inventory or Sales user who may edit products."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product_user = new_test_user(
            cls.env, "t_products", groups="base.group_user,product.group_product_manager"
        )
        cls.reward_manager = new_test_user(
            cls.env, "t_reward_manager", groups=f"{MANAGER},product.group_product_manager"
        )
        cls.product = cls.env["product.template"].create(
            {"name": "Haircut", "credit_is_reward": True, "credit_points_price": 15}
        )

    def test_product_managers_set_no_reward_field(self):
        Product = self.env["product.template"].with_user(self.product_user)
        for vals in (
            {"credit_points_price": 1},
            {"credit_is_reward": False},
            {"credit_donated_value": 100.0},
            {"credit_merchant_id": self.res_a1.id},
            {"credit_person_limit": 99},
        ):
            with self.assertRaisesRegex(AccessError, "Only credit managers"):
                odoo.api.call_kw(
                    Product.with_context(**FORGED), "write", [self.product.ids, vals], {}
                )
        with self.assertRaisesRegex(AccessError, "Only credit managers"):
            Product.create({"name": "Free lunch", "credit_is_reward": True,
                            "credit_points_price": 1})  # fmt: skip
        with self.assertRaisesRegex(AccessError, "Only credit managers"):
            Product.with_context(default_credit_is_reward=True).create(
                {"name": "Free lunch", "credit_points_price": 1}
            )
        self.assertEqual(self.product.credit_points_price, 15)
        # their own work on products goes on
        Product.browse(self.product.id).write({"name": "Haircut and wash"})
        self.assertTrue(Product.create({"name": "Shampoo"}))

    def test_credit_managers_set_them(self):
        Product = self.env["product.template"].with_user(self.reward_manager)
        Product.browse(self.product.id).write({"credit_points_price": 12})
        self.assertEqual(self.product.credit_points_price, 12)
        reward = Product.create(
            {"name": "Bowl of noodles", "credit_is_reward": True, "credit_points_price": 6}
        )
        self.assertTrue(reward.credit_is_reward)
