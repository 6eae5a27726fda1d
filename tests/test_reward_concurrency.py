"""The last unit and the last points, redeemed twice at the same instant on two
real database connections: one redemption succeeds, the other gets a clear error."""

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase


@tagged("post_install", "-at_install")
class TestConcurrentRedemption(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {"name": "Redemption Concurrency", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Redemption Concurrency"})
            rule = env["credit.rule"].create(
                {
                    "code": "RCC1",
                    "name": "Help",
                    "category_id": category.id,
                    "points": 6,
                    "community_id": community.id,
                }
            )
            role = env.ref("community_credit.role_resident")
            resident = env.ref("community_credit.group_credit_resident")
            portal = env.ref("base.group_portal")
            users = env["res.users"].create(
                [
                    {
                        "name": f"Concurrent resident {i}",
                        "login": f"rcc_resident_{i}",
                        "groups_id": [Command.set([portal.id, resident.id])],
                    }
                    for i in range(2)
                ]
            )
            users.partner_id.write(
                {"credit_place_id": community.id, "credit_role_ids": [Command.set(role.ids)]}
            )
            # each resident has 6 points: one noodle bowl
            env["credit.ledger.line"]._post(
                [
                    {
                        "partner_id": partner.id,
                        "rule_id": rule.id,
                        "origin": "manual",
                        "idempotency_key": f"rcc-earn-{partner.id}",
                    }
                    for partner in users.partner_id
                ],
                check_rights=False,
            )
            product = env["product.template"].create(
                {
                    "name": "Noodles (concurrency)",
                    "credit_is_reward": True,
                    "credit_points_price": 6,
                    "credit_stock_ids": [
                        Command.create(
                            {
                                "collection_point": "Shop",
                                "community_id": community.id,
                                "quantity": 1,
                            }
                        )
                    ],
                }
            )
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rule": rule.id,
                "users": users.ids,
                "partners": users.partner_id.ids,
                "product": product.id,
                "stock": product.credit_stock_ids.id,
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute("DELETE FROM credit_voucher WHERE product_tmpl_id = %s", [ids["product"]])
            cr.execute(
                "DELETE FROM credit_ledger_line WHERE partner_id = ANY(%s)", [ids["partners"]]
            )
            cr.execute("DELETE FROM credit_balance WHERE partner_id = ANY(%s)", [ids["partners"]])
            cr.execute("DELETE FROM product_product WHERE product_tmpl_id = %s", [ids["product"]])
            cr.execute("DELETE FROM product_template WHERE id = %s", [ids["product"]])
            cr.execute("DELETE FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [ids["partners"]])
            cr.execute("DELETE FROM credit_rule WHERE id = %s", [ids["rule"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    def state(self):
        with self.cursor() as cr:
            cr.execute(
                "SELECT quantity FROM credit_reward_stock WHERE id = %s", [self.ids["stock"]]
            )
            quantity = cr.fetchone()[0]
            cr.execute(
                "SELECT COUNT(*) FROM credit_voucher WHERE product_tmpl_id = %s",
                [self.ids["product"]],
            )
            vouchers = cr.fetchone()[0]
            cr.execute(
                "SELECT partner_id, balance FROM credit_balance WHERE partner_id = ANY(%s)",
                [self.ids["partners"]],
            )
            balances = dict(cr.fetchall())
        return quantity, vouchers, balances

    @mute_logger("odoo.sql_db")
    def test_1_last_unit_two_residents(self):
        def redeem(env, _index):
            return env["credit.voucher"]._redeem(self.ids["stock"]).id

        outcomes = self.run_pair(redeem)
        self.assertEqual(sorted(o[0] for o in outcomes), ["ok", "refused"], outcomes)
        refused = next(o for o in outcomes if o[0] == "refused")
        self.assertIn("no longer available", refused[1])
        quantity, vouchers, balances = self.state()
        self.assertEqual((quantity, vouchers), (0, 1))
        self.assertEqual(sorted(balances.values()), [0, 6])

    @mute_logger("odoo.sql_db")
    def test_2_last_points_twice(self):
        # more stock: only the points are short now; the resident who still has 6
        # points redeems twice at once
        with self.cursor() as cr:
            cr.execute(
                "UPDATE credit_reward_stock SET quantity = 5 WHERE id = %s", [self.ids["stock"]]
            )
            cr.execute(
                "SELECT partner_id FROM credit_balance WHERE partner_id = ANY(%s) AND balance = 6",
                [self.ids["partners"]],
            )
            rich = cr.fetchone()[0]
            cr.commit()  # pylint: disable=invalid-commit
        uid = self.ids["users"][self.ids["partners"].index(rich)]
        self.ids = dict(self.ids, users=[uid, uid])  # this test only

        def redeem(env, _index):
            return env["credit.voucher"]._redeem(self.ids["stock"]).id

        outcomes = self.run_pair(redeem)
        self.assertEqual(sorted(o[0] for o in outcomes), ["ok", "refused"], outcomes)
        refused = next(o for o in outcomes if o[0] == "refused")
        self.assertIn("not enough", refused[1])
        quantity, vouchers, balances = self.state()
        self.assertEqual((quantity, vouchers), (4, 2))
        self.assertEqual(balances[rich], 0)
