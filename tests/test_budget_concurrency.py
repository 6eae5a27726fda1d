"""The last 10 points of a budget, granted by two grid workers at the same instant
on two real database connections: one grant passes, the other gets the budget
error, and exactly the budget is issued."""

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase


@tagged("post_install", "-at_install")
class TestConcurrentBudget(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(
                cr, SUPERUSER_ID, {"tracking_disable": True, "mail_create_nosubscribe": True}
            )
            community = env["credit.place"].create(
                {"name": "Budget Concurrency", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Budget Concurrency"})
            rule = env["credit.rule"].create(
                {
                    "code": "BCC1",
                    "name": "Help",
                    "category_id": category.id,
                    "points": 10,
                    "community_id": community.id,
                }
            )
            role = env.ref("community_credit.role_resident")
            residents = env["res.partner"].create(
                [
                    {
                        "name": f"Budget resident {i}",
                        "credit_place_id": community.id,
                        "credit_role_ids": [Command.set(role.ids)],
                    }
                    for i in range(3)
                ]
            )
            grid = env.ref("community_credit.group_credit_grid_worker")
            users = env["res.users"].create(
                [
                    {
                        "name": f"Budget grid worker {i}",
                        "login": f"bcc_grid_{i}",
                        "groups_id": [Command.set([env.ref("base.group_user").id, grid.id])],
                        "credit_place_ids": [Command.set(community.ids)],
                    }
                    for i in range(2)
                ]
            )
            today = fields.Date.context_today(env["credit.budget"])
            budget = env["credit.budget"].create(
                {"place_id": community.id, "period": "month", "date_from": today, "points": 30}
            )
            # 20 of the 30 points already issued this month
            env["credit.ledger.line"]._post(
                [
                    {
                        "partner_id": residents[0].id,
                        "rule_id": rule.id,
                        "origin": "manual",
                        "idempotency_key": f"bcc-earn-{n}",
                    }
                    for n in range(2)
                ],
                check_rights=False,
            )
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rule": rule.id,
                "users": users.ids,
                "partners": residents.ids,
                "budget": budget.id,
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute("DELETE FROM credit_budget_overrun WHERE budget_id = %s", [ids["budget"]])
            cr.execute(
                "DELETE FROM mail_message WHERE model = 'credit.budget' AND res_id = %s",
                [ids["budget"]],
            )
            cr.execute("DELETE FROM credit_budget WHERE id = %s", [ids["budget"]])
            cr.execute(
                "DELETE FROM credit_ledger_line WHERE partner_id = ANY(%s)", [ids["partners"]]
            )
            cr.execute("DELETE FROM credit_balance WHERE partner_id = ANY(%s)", [ids["partners"]])
            cr.execute("DELETE FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            cr.execute(
                "DELETE FROM res_partner WHERE id = ANY(%s) OR name LIKE 'Budget grid worker %%'",
                [ids["partners"]],
            )
            cr.execute("DELETE FROM credit_rule WHERE id = %s", [ids["rule"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    def issued(self):
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            return env["credit.budget"].browse(self.ids["budget"]).issued

    @mute_logger("odoo.sql_db")
    def test_last_points_of_a_budget(self):
        def grant(env, index):
            # each grid worker grants a different resident: only the budget is shared
            return (
                env["credit.ledger.line"]
                ._post(
                    [
                        {
                            "partner_id": self.ids["partners"][index + 1],
                            "rule_id": self.ids["rule"],
                            "origin": "manual",
                            "idempotency_key": f"bcc-grant-{index}",
                        }
                    ]
                )
                .id
            )

        outcomes = self.run_pair(grant)
        self.assertEqual(sorted(o[0] for o in outcomes), ["ok", "refused"], outcomes)
        refused = next(o for o in outcomes if o[0] == "refused")
        self.assertIn("would exceed the", refused[1])
        self.assertIn("(30, 30 issued)", refused[1])
        self.assertEqual(self.issued(), 30)
