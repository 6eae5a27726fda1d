"""A resident redeems a reward, or signs up for an event, from their phone while
other residents commit the same stock or seats: on the last of Odoo's tries the
page says so and nothing is taken; earlier tries still fail, so Odoo retries.

Real HTTP requests through the test server, and real serialization failures:
the data is committed before the test transaction takes its snapshot, and
another connection commits a redemption (a sign-up) of the same row during the
test. The request runs in the test transaction, which keeps that snapshot
across Odoo's retries, so each of the 5 tries really fails to lock the row:
the case of the load test where all 5 tries lost the race.
"""

import re
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.service import model as service_model
from odoo.sql_db import db_connect
from odoo.tests import HttpCase, get_db_name, tagged
from odoo.tools import mute_logger

TRIES = service_model.MAX_TRIES_ON_CONCURRENCY_FAILURE


@tagged("post_install", "-at_install")
class TestPortalBusy(HttpCase):
    @classmethod
    def committed_cursor(cls):
        cr = db_connect(get_db_name()).cursor()
        cr.transaction = api.Transaction(Registry(get_db_name()))
        return cr

    @classmethod
    def setUpClass(cls):
        # Registered first, so it runs last: after the test transaction is rolled
        # back and closed, which holds locks on the residents' rows.
        cls.addClassCleanup(cls._delete_committed_data)
        cls.ids = {}
        with cls.committed_cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {"name": "Busy Portal", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Busy Portal"})
            rule = env["credit.rule"].create(
                {
                    "code": "BSY1",
                    "name": "Help (busy)",
                    "category_id": category.id,
                    "points": 6,
                    "community_id": community.id,
                }
            )
            cls.ids.update(community=community.id, category=category.id, rule=rule.id)
            users = env["res.users"].create(
                [
                    {
                        "name": f"Busy resident {i}",
                        "login": f"busy_resident_{i}",
                        "password": f"busy_resident_{i}",
                        "groups_id": [
                            Command.set(
                                [
                                    env.ref("base.group_portal").id,
                                    env.ref("community_credit.group_credit_resident").id,
                                ]
                            )
                        ],
                    }
                    for i in range(2)
                ]
            )
            cls.ids.update(users=users.ids, partners=users.partner_id.ids)
            users.partner_id.write(
                {
                    "credit_place_id": community.id,
                    "credit_role_ids": [Command.set(env.ref("community_credit.role_resident").ids)],
                }
            )
            env["credit.ledger.line"]._post(  # 6 points each: one bowl of noodles
                [
                    {
                        "partner_id": partner.id,
                        "rule_id": rule.id,
                        "origin": "manual",
                        "idempotency_key": f"busy-earn-{partner.id}",
                    }
                    for partner in users.partner_id
                ],
                check_rights=False,
            )
            product = env["product.template"].create(
                {
                    "name": "Noodles (busy)",
                    "credit_is_reward": True,
                    "credit_points_price": 6,
                    "credit_stock_ids": [
                        Command.create(
                            {
                                "collection_point": "Busy shop",
                                "community_id": community.id,
                                "quantity": 3,
                            }
                        )
                    ],
                }
            )
            cls.ids.update(product=product.id, stock=product.credit_stock_ids.id)
            start = fields.Datetime.now() + timedelta(days=3)
            event = env["event.event"].create(
                {
                    "name": "Tree planting (busy)",
                    "date_begin": start,
                    "date_end": start + timedelta(hours=2),
                    "credit_rule_id": rule.id,
                    "credit_community_id": community.id,
                    "seats_limited": True,
                    "seats_max": 5,
                }
            )
            cls.ids["event"] = event.id
            cr.commit()  # pylint: disable=invalid-commit
        # the test transaction starts here, and its snapshot sees the data above
        super().setUpClass()

    @classmethod
    def _delete_committed_data(cls):
        ids = cls.ids
        partners = ids.get("partners", [])
        with cls.committed_cursor() as cr:  # ledger lines cannot be deleted through the ORM
            if "event" in ids:
                cr.execute("DELETE FROM event_registration WHERE event_id = %s", [ids["event"]])
                cr.execute("DELETE FROM event_event WHERE id = %s", [ids["event"]])
            if "product" in ids:
                cr.execute(
                    "DELETE FROM credit_voucher WHERE product_tmpl_id = %s", [ids["product"]]
                )
            cr.execute("DELETE FROM credit_notice WHERE partner_id = ANY(%s)", [partners])
            cr.execute("DELETE FROM credit_ledger_line WHERE partner_id = ANY(%s)", [partners])
            cr.execute("DELETE FROM credit_balance WHERE partner_id = ANY(%s)", [partners])
            if "product" in ids:
                cr.execute(
                    "DELETE FROM product_product WHERE product_tmpl_id = %s", [ids["product"]]
                )
                cr.execute("DELETE FROM product_template WHERE id = %s", [ids["product"]])
            cr.execute("DELETE FROM res_users WHERE id = ANY(%s)", [ids.get("users", [])])
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [partners])
            cr.execute("DELETE FROM credit_rule WHERE id = %s", [ids.get("rule")])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids.get("category")])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids.get("community")])
            cr.commit()  # pylint: disable=invalid-commit

    # ------------------------------------------------------------- helpers
    def other_resident_commits(self, func):
        """Resident 1 does func(env) on another connection and commits: the row
        it locks changes after this test's snapshot."""
        with self.committed_cursor() as cr:
            env = api.Environment(cr, self.ids["users"][1], {})
            func(env)
            env.flush_all()
            cr.commit()  # pylint: disable=invalid-commit

    def post_as_resident(self, page_url, url, data):
        """Resident 0 posts the form of the page; returns the response and Odoo's
        waits between tries (one per try that failed and was retried)."""
        self.authenticate("busy_resident_0", "busy_resident_0")
        page = self.url_open(page_url).text
        self.assertIn(f'action="{url}"', page, "the resident is offered the form")
        data["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        waits = []
        # only the wait of retrying(), not its loop: the tries are real
        with patch.object(service_model, "time", SimpleNamespace(sleep=waits.append)):
            response = self.url_open(url, data=data)
        return response, waits

    def seen_by_request(self, query, *args):
        """What the request left: in the test transaction, not committed."""
        self.env.invalidate_all()
        self.env.cr.execute(query, args)
        return self.env.cr.fetchall()

    def committed(self, query, *args):
        with self.committed_cursor() as cr:
            cr.execute(query, args)
            return cr.fetchall()

    def assert_busy_page(self, response, waits, url, message):
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.url.endswith(url), "the page of the form, no redirection")
        self.assertIn("o_credit_error", response.text)
        self.assertIn(message, response.text)
        self.assertNotIn("Internal Server Error", response.text)
        # each earlier try raised the serialization failure, so Odoo waited and retried
        self.assertEqual(len(waits), TRIES - 1, f"Odoo retried after tries 1 to {TRIES - 1}")

    # --------------------------------------------------------------- tests
    @mute_logger("odoo.sql_db", "odoo.service.model")
    def test_redeem_last_try_says_busy(self):
        resident, other = self.ids["partners"]
        stock = self.ids["stock"]
        self.other_resident_commits(lambda env: env["credit.voucher"]._redeem(stock))

        response, waits = self.post_as_resident(
            "/my/credit/rewards", "/my/credit/rewards/redeem", {"stock_id": stock}
        )
        self.assert_busy_page(
            response,
            waits,
            "/my/credit/rewards/redeem",
            "Many residents are redeeming this reward at this very moment. "
            "Nothing was taken from your points: please try again.",
        )
        self.assertIn("Noodles (busy)", response.text, "the rewards page, with the reward")

        # nothing of the redemption is left: no voucher, no ledger line, same stock
        # and balance (the request's transaction is the test transaction)
        voucher_q = "SELECT COUNT(*) FROM credit_voucher WHERE partner_id = %s"
        lines_q = "SELECT COUNT(*) FROM credit_ledger_line WHERE partner_id = %s"
        balance_q = "SELECT balance FROM credit_balance WHERE partner_id = %s"
        stock_q = "SELECT quantity FROM credit_reward_stock WHERE id = %s"
        self.assertEqual(self.seen_by_request(voucher_q, resident), [(0,)])
        self.assertEqual(self.seen_by_request(lines_q, resident), [(1,)], "only the points earned")
        self.assertEqual(self.seen_by_request(balance_q, resident), [(6,)])
        self.assertEqual(self.seen_by_request(stock_q, stock), [(3,)], "as in its snapshot")
        # and in the database: only the other resident's redemption
        self.assertEqual(self.committed(voucher_q, resident), [(0,)])
        self.assertEqual(self.committed(voucher_q, other), [(1,)])
        self.assertEqual(self.committed(balance_q, resident), [(6,)])
        self.assertEqual(self.committed(stock_q, stock), [(2,)])

    @mute_logger("odoo.sql_db", "odoo.service.model")
    def test_event_sign_up_last_try_says_busy(self):
        resident, other = self.ids["partners"]
        event = self.ids["event"]
        self.other_resident_commits(lambda env: env["event.event"]._credit_portal_register(event))

        response, waits = self.post_as_resident(
            "/my/credit/events", f"/my/credit/events/{event}/register", {}
        )
        self.assert_busy_page(
            response,
            waits,
            f"/my/credit/events/{event}/register",
            "Many residents are signing up for this event at this very moment. "
            "You are not signed up yet: please try again.",
        )
        self.assertIn("Tree planting (busy)", response.text, "the events page, with the event")

        registrations_q = (
            "SELECT COUNT(*) FROM event_registration WHERE event_id = %s AND partner_id = %s"
        )
        self.assertEqual(self.seen_by_request(registrations_q, event, resident), [(0,)])
        self.assertEqual(self.committed(registrations_q, event, resident), [(0,)])
        self.assertEqual(self.committed(registrations_q, event, other), [(1,)])
