import re
from datetime import datetime

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestMerchantPortal(HttpCase):
    """The merchant confirms hand-overs on the portal page, with CSRF."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        community = cls.env["credit.place"].create(
            {"name": "Portal Community", "place_type": "community"}
        )
        category = cls.env["credit.rule.category"].create({"name": "Portal"})
        rule = cls.env["credit.rule"].create(
            {"code": "PM1", "name": "Help", "category_id": category.id, "points": 10}
        )
        shop = cls.env["res.partner"].create({"name": "Portal Noodles", "is_company": True})
        other_shop = cls.env["res.partner"].create({"name": "Other Shop", "is_company": True})
        cls.merchant = new_test_user(
            cls.env, "pm_merchant", groups="base.group_portal", parent_id=shop.id,
            password="pm_merchant_pw",
        )  # fmt: skip
        cls.other = new_test_user(
            cls.env, "pm_other", groups="base.group_portal", parent_id=other_shop.id,
            password="pm_other_pw",
        )  # fmt: skip
        resident = cls.env["res.partner"].create(
            {
                "name": "Portal Resident",
                "credit_place_id": community.id,
                "credit_role_ids": [Command.set(cls.env.ref("community_credit.role_resident").ids)],
            }
        )
        cls.env["credit.ledger.line"]._post(
            [
                {
                    "partner_id": resident.id,
                    "rule_id": rule.id,
                    "origin": "manual",
                    "idempotency_key": "pm-earn",
                }
            ],
            check_rights=False,
        )
        product = cls.env["product.template"].create(
            {
                "name": "Portal bowl of noodles",
                "credit_is_reward": True,
                "credit_points_price": 6,
                "credit_merchant_id": shop.id,
                "credit_stock_ids": [
                    Command.create(
                        {"collection_point": "Shop", "community_id": community.id, "quantity": 5}
                    )
                ],
            }
        )
        cls.voucher = cls.env["credit.voucher"]._redeem(product.credit_stock_ids.id, resident.id)

    def honour(self, code):
        page = self.url_open("/my/credit/vouchers").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return self.url_open(
            "/my/credit/vouchers/honour", data={"code": code, "csrf_token": token}
        ).text

    def test_merchant_hands_over_on_the_portal(self):
        self.authenticate("pm_merchant", "pm_merchant_pw")
        page = self.url_open("/my/credit/vouchers").text
        # the code of a voucher not yet handed over is the resident's to show
        self.assertNotIn(self.voucher.code, page)
        self.assertNotIn("Portal bowl of noodles", page)
        self.assertIn("No hand-over confirmed yet", page)
        answer = self.honour(self.voucher.code)
        self.assertIn("Portal Resident", answer)
        self.assertEqual(self.voucher.state, "honoured")
        # now listed among the shop's hand-overs, at the time of the merchant's zone
        page = self.url_open("/my/credit/vouchers").text
        self.assertIn(self.voucher.code, page)
        self.assertIn("Portal bowl of noodles", page)
        self.assertEqual(page.count("o_credit_handed_over"), 1)
        again = self.honour(self.voucher.code)
        self.assertIn("already used", again)
        self.assertNotIn("Traceback", again)

    def test_hand_over_time_in_the_merchant_s_zone(self):
        self.merchant.tz = "Asia/Shanghai"
        self.voucher.sudo().write(
            {
                "state": "honoured",
                "honoured_by_id": self.merchant.id,
                "honoured_date": datetime(2025, 5, 6, 17, 30),  # UTC: 01:30 the next day
            }
        )
        self.authenticate("pm_merchant", "pm_merchant_pw")
        page = self.url_open("/my/credit/vouchers").text
        self.assertIn("05/07/2025 01:30", page)
        self.assertNotIn("05/06/2025 17:30", page)

    def test_no_code_no_hand_over(self):
        """Guessing is not handing over: a wrong or partial code confirms nothing."""
        self.authenticate("pm_merchant", "pm_merchant_pw")
        for code in ("", self.voucher.code[:-1], "ABCDEFGHJK"):
            answer = self.honour(code)
            self.assertNotIn("Traceback", answer)
        self.voucher.invalidate_recordset()
        self.assertEqual(self.voucher.state, "issued")

    def test_other_merchant_sees_nothing_and_cannot_hand_over(self):
        self.authenticate("pm_other", "pm_other_pw")
        page = self.url_open("/my/credit/vouchers").text
        self.assertNotIn(self.voucher.code, page)
        answer = self.honour(self.voucher.code)
        self.assertIn("another merchant", answer)
        self.voucher.invalidate_recordset()
        self.assertEqual(self.voucher.state, "issued")

    def test_form_without_csrf_is_refused(self):
        self.authenticate("pm_merchant", "pm_merchant_pw")
        response = self.url_open("/my/credit/vouchers/honour", data={"code": self.voucher.code})
        self.assertEqual(response.status_code, 400)
        self.voucher.invalidate_recordset()
        self.assertEqual(self.voucher.state, "issued")
