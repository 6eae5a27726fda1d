"""Commitments on two real database connections: a resident who signs twice at
the same instant signs once; the cron and a council member evaluating the same
commitment at once post its bonus once."""

from datetime import date

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase


@tagged("post_install", "-at_install")
class TestConcurrentCommitments(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {"name": "Commitment Concurrency", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Commitment Concurrency"})
            rules = env["credit.rule"].create(
                [
                    {"code": "CCC1", "name": "Help", "category_id": category.id, "points": 6},
                    {"code": "CCC2", "name": "Kept", "category_id": category.id, "points": 5},
                ]
            )
            role = env.ref("community_credit.role_resident")
            template = env["credit.commitment.template"].create(
                {
                    "name": "Concurrent commitment",
                    "role_id": role.id,
                    "community_id": community.id,
                    "text": "<p>Help.</p>",
                    "bonus_rule_id": rules[1].id,
                    "obligation_ids": [
                        Command.create({"name": "5 points", "kind": "points", "target": 5})
                    ],
                }
            )
            resident = env["res.users"].create(
                {
                    "name": "Concurrent signer",
                    "login": "ccc_resident",
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
            manager = env["res.users"].create(
                {
                    "name": "Concurrent council",
                    "login": "ccc_manager",
                    "groups_id": [
                        Command.set(
                            [
                                env.ref("base.group_user").id,
                                env.ref("community_credit.group_credit_manager").id,
                            ]
                        )
                    ],
                }
            )
            subject = env["res.partner"].create(
                {
                    "name": "Last year's signer",
                    "credit_place_id": community.id,
                    "credit_role_ids": [Command.set(role.ids)],
                }
            )
            resident.partner_id.write(
                {"credit_place_id": community.id, "credit_role_ids": [Command.set(role.ids)]}
            )
            # a commitment of last year, kept: 6 points earned in June
            commitment = env["credit.commitment"].create(
                {"template_id": template.id, "partner_id": subject.id}
            )
            commitment.action_sign()
            env.flush_all()
            cr.execute(
                "UPDATE credit_commitment SET date_from = %s, date_to = %s WHERE id = %s",
                [date(2025, 1, 1), date(2025, 12, 31), commitment.id],
            )
            env["credit.ledger.line"]._post(
                [
                    {
                        "partner_id": subject.id,
                        "rule_id": rules[0].id,
                        "origin": "manual",
                        "date": date(2025, 6, 1),
                        "idempotency_key": "ccc-earn",
                    }
                ],
                check_rights=False,
            )
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rules": rules.ids,
                "template": template.id,
                "commitment": commitment.id,
                "resident": resident.id,
                "manager": manager.id,
                "users": [resident.id, resident.id],
                "partners": [resident.partner_id.id, manager.partner_id.id, subject.id],
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute("DELETE FROM credit_commitment WHERE template_id = %s", [ids["template"]])
            cr.execute(
                "DELETE FROM credit_ledger_line WHERE partner_id = ANY(%s)", [ids["partners"]]
            )
            cr.execute("DELETE FROM credit_balance WHERE partner_id = ANY(%s)", [ids["partners"]])
            cr.execute("DELETE FROM credit_commitment_template WHERE id = %s", [ids["template"]])
            cr.execute(
                "DELETE FROM res_users WHERE id = ANY(%s)", [[ids["resident"], ids["manager"]]]
            )
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [ids["partners"]])
            cr.execute("DELETE FROM credit_rule WHERE id = ANY(%s)", [ids["rules"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    def count(self, query, params):
        with self.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchone()[0]

    @mute_logger("odoo.sql_db")
    def test_1_signing_twice_at_once(self):
        def sign(env, _index):
            return env["credit.commitment"]._portal_sign(self.ids["template"]).id

        outcomes = self.run_pair(sign)
        self.assertEqual(sorted(o[0] for o in outcomes), ["ok", "refused"], outcomes)
        refused = next(o for o in outcomes if o[0] == "refused")
        self.assertIn("already signed", refused[1])
        self.assertEqual(
            self.count(
                "SELECT COUNT(*) FROM credit_commitment WHERE partner_id = %s AND state = 'signed'",
                [self.ids["partners"][0]],
            ),
            1,
        )

    @mute_logger("odoo.sql_db")
    def test_2_cron_and_council_evaluate_at_once(self):
        self.ids = dict(self.ids, users=[SUPERUSER_ID, self.ids["manager"]])  # this test only

        def evaluate(env, index):
            commitment = env["credit.commitment"].browse(self.ids["commitment"])
            if index == 0:
                return env["credit.commitment"]._cron_evaluate().ids
            return commitment.action_evaluate()  # True: RPC carries no recordset

        outcomes = self.run_pair(evaluate)
        self.assertEqual([o[0] for o in outcomes], ["ok", "ok"], outcomes)
        subject = self.ids["partners"][2]
        self.assertEqual(
            self.count(
                "SELECT COUNT(*) FROM credit_ledger_line WHERE partner_id = %s "
                "AND origin = 'contract'",
                [subject],
            ),
            1,
        )
        self.assertEqual(
            self.count("SELECT balance FROM credit_balance WHERE partner_id = %s", [subject]),
            11,
        )
        self.assertEqual(
            self.count(
                "SELECT state FROM credit_commitment WHERE id = %s", [self.ids["commitment"]]
            ),
            "fulfilled",
        )
