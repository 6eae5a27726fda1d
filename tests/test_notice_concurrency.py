"""A resident double-taps 'Send my appeal' on a slow phone: the two requests
reach the server at the same instant, on two real database connections. One
appeal is kept, the other gets a clear message (the partial unique index holds
where the check in Python cannot see the other transaction)."""

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase


@tagged("post_install", "-at_install")
class TestConcurrentAppeal(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {"name": "Appeal Concurrency", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Appeal Concurrency"})
            rule = env["credit.rule"].create(
                {
                    "code": "ACC1",
                    "name": "Noise at night",
                    "category_id": category.id,
                    "points": -5,
                    "community_id": community.id,
                }
            )
            user = env["res.users"].create(
                {
                    "name": "Appeal resident",
                    "login": "acc_resident",
                    "groups_id": [
                        Command.set(
                            [
                                env.ref("base.group_portal").id,
                                env.ref("community_credit.group_credit_resident").id,
                            ]
                        )
                    ],
                }
            )
            user.partner_id.write(
                {
                    "credit_place_id": community.id,
                    "credit_role_ids": [Command.set(env.ref("community_credit.role_resident").ids)],
                }
            )
            line = env["credit.ledger.line"]._post(
                [
                    {
                        "partner_id": user.partner_id.id,
                        "rule_id": rule.id,
                        "origin": "manual",
                        "idempotency_key": "acc-noise",
                        "description": "Loud music after midnight",
                    }
                ],
                check_rights=False,
            )
            notice = env["credit.notice"].search([("ledger_line_id", "=", line.id)])
            assert notice.state == "sent", notice.failure_reason
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rule": rule.id,
                "users": [user.id, user.id],
                "partner": user.partner_id.id,
                "line": line.id,
                "notice": notice.id,
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:
            cr.execute("DELETE FROM credit_appeal WHERE notice_id = %s", [ids["notice"]])
            cr.execute(
                "DELETE FROM mail_message WHERE (model = 'credit.notice' AND res_id = %s)"
                " OR model = 'credit.appeal' OR author_id = %s",
                [ids["notice"], ids["partner"]],
            )
            cr.execute("DELETE FROM credit_notice WHERE id = %s", [ids["notice"]])
            cr.execute("DELETE FROM credit_ledger_line WHERE id = %s", [ids["line"]])
            cr.execute("DELETE FROM credit_balance WHERE partner_id = %s", [ids["partner"]])
            cr.execute("DELETE FROM res_users WHERE id = %s", [ids["users"][0]])
            cr.execute("DELETE FROM res_partner WHERE id = %s", [ids["partner"]])
            cr.execute("DELETE FROM credit_rule WHERE id = %s", [ids["rule"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    @mute_logger("odoo.sql_db")
    def test_double_tap_gives_one_appeal(self):
        def appeal(env, index):
            notice = env["credit.notice"].browse(self.ids["notice"])
            return notice._appeal(f"I was asleep ({index})").id

        outcomes = self.run_pair(appeal)
        self.assertEqual(sorted(o[0] for o in outcomes), ["ok", "refused"], outcomes)
        refused = next(o[1] for o in outcomes if o[0] == "refused")
        self.assertRegex(refused, "arrived a moment ago|already appealed")
        with self.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM credit_appeal WHERE notice_id = %s AND state = 'open'",
                [self.ids["notice"]],
            )
            self.assertEqual(cr.fetchone()[0], 1)
