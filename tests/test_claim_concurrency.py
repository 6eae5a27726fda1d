"""Claims under concurrent requests, with two real database connections.

Like test_concurrency, the data is committed so that both connections see it,
and removed at the end.
"""

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase


@tagged("post_install", "-at_install")
class TestConcurrentClaims(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {
                    "name": "Claim Concurrency Community",
                    "place_type": "community",
                    "claim_council_stage": False,
                    "claim_publication": False,
                }
            )
            category = env["credit.rule.category"].create({"name": "Claim Concurrency"})
            rule = env["credit.rule"].create(
                {
                    "code": "CCC1",
                    "name": "Clean up",
                    "category_id": category.id,
                    "points": 2,
                    "community_id": community.id,
                }
            )
            partner = env["res.partner"].create(
                {
                    "name": "Claim concurrency resident",
                    "credit_place_id": community.id,
                    "credit_role_ids": [Command.set(env.ref("community_credit.role_resident").ids)],
                }
            )
            users = env["res.users"].create(
                [
                    {
                        "name": f"Claim concurrency council {i}",
                        "login": f"ccc_council_{i}",
                        "groups_id": [
                            Command.set([env.ref("community_credit.group_credit_manager").id])
                        ],
                    }
                    for i in range(2)
                ]
            )
            claims = env["credit.claim"].create(
                [
                    {
                        "rule_id": rule.id,
                        "date": "2025-03-12",
                        "partner_ids": [Command.set(partner.ids)],
                        "company_id": community.company_id.id,
                    }
                    for _i in range(2)
                ]
            )
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rule": rule.id,
                "partner": partner.id,
                "users": users.ids,
                "claims": claims.ids,
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute("DELETE FROM credit_claim_line WHERE claim_id = ANY(%s)", [ids["claims"]])
            cr.execute("DELETE FROM credit_claim WHERE id = ANY(%s)", [ids["claims"]])
            cr.execute("DELETE FROM credit_ledger_line WHERE partner_id = %s", [ids["partner"]])
            cr.execute("DELETE FROM credit_balance WHERE partner_id = %s", [ids["partner"]])
            cr.execute(
                "DELETE FROM mail_message WHERE model = 'credit.claim' AND res_id = ANY(%s)",
                [ids["claims"]],
            )
            cr.execute(
                "DELETE FROM mail_activity WHERE res_model = 'credit.claim' AND res_id = ANY(%s)",
                [ids["claims"]],
            )
            cr.execute("SELECT partner_id FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            user_partners = [row[0] for row in cr.fetchall()]
            cr.execute("DELETE FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [user_partners])
            cr.execute("DELETE FROM res_partner WHERE id = %s", [ids["partner"]])
            cr.execute("DELETE FROM credit_rule WHERE id = %s", [ids["rule"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    def ledger(self):
        with self.cursor() as cr:
            cr.execute(
                "SELECT COUNT(*), COALESCE(SUM(points), 0) FROM credit_ledger_line "
                "WHERE partner_id = %s",
                [self.ids["partner"]],
            )
            return cr.fetchone()

    @mute_logger("odoo.sql_db")
    def test_1_same_deed_submitted_twice_at_once(self):
        """Two claims for the same subject, rule and day: one is accepted."""

        def submit(env, index):
            env["credit.claim"].browse(self.ids["claims"][index]).action_submit()
            return True

        outcomes = self.run_pair(submit)
        kinds = sorted(o[0] for o in outcomes)
        self.assertEqual(kinds, ["ok", "refused"], outcomes)
        with self.cursor() as cr:
            cr.execute(
                "SELECT state, COUNT(*) FROM credit_claim WHERE id = ANY(%s) GROUP BY state",
                [self.ids["claims"]],
            )
            self.assertEqual(dict(cr.fetchall()), {"review": 1, "draft": 1})

    @mute_logger("odoo.sql_db")
    def test_2_same_claim_approved_twice_at_once(self):
        """Two council members approve the same claim: its points post once."""
        with self.cursor() as cr:
            cr.execute(
                "SELECT id FROM credit_claim WHERE id = ANY(%s) AND state = 'review'",
                [self.ids["claims"]],
            )
            claim_id = cr.fetchone()[0]
            cr.execute("SELECT submitted_by_id FROM credit_claim WHERE id = %s", [claim_id])
            submitter = cr.fetchone()[0]
        if submitter in self.ids["users"]:
            # the submitter may not decide: hand the submission to nobody of the pair
            with self.cursor() as cr:
                cr.execute(
                    "UPDATE credit_claim SET submitted_by_id = %s WHERE id = %s",
                    [SUPERUSER_ID, claim_id],
                )
                cr.commit()  # pylint: disable=invalid-commit

        def approve(env, _index):
            env["credit.claim"].browse(claim_id).action_approve()
            return True

        outcomes = self.run_pair(approve)
        kinds = sorted(o[0] for o in outcomes)
        self.assertEqual(kinds, ["ok", "refused"], outcomes)
        refused = next(o for o in outcomes if o[0] == "refused")
        self.assertIn("not waiting for a review", refused[1])
        self.assertEqual(self.ledger(), (1, 2))
