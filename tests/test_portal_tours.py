from odoo.tests import tagged

from .common_portal import PortalCase


@tagged("post_install", "-at_install")
class TestPortalTours(PortalCase):
    """The resident's three main paths in a real browser (headless Chromium):
    declare → review → points, sign up → attend → points, redeem → voucher.
    The reviewer's and the organiser's part happens in between, as those users."""

    def test_declare_review_points(self):
        self.start_tour("/my/credit", "community_credit_declare", login="t_resident")
        claim = self.claims_of(self.res_a1)
        self.assertEqual(claim.state, "review")
        self.assertEqual(claim.description, "Swept the stairs of building A1")
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(claim.state, "published")
        # the publication window closes without objection (as after 7 days)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE credit_claim SET publish_until = publish_date - 1 WHERE id = %s", [claim.id]
        )
        self.env.invalidate_all()
        self.Claim._cron_close_publications()
        self.assertEqual(claim.state, "done")
        self.assertEqual(self.balance(self.res_a1), 2)
        self.start_tour("/my/credit", "community_credit_see_points", login="t_resident")

    def test_sign_up_attend_points(self):
        self.start_tour("/my/credit", "community_credit_event_signup", login="t_resident")
        registration = self.env["event.registration"].search(
            [("partner_id", "=", self.res_a1.id), ("event_id", "=", self.event.id)]
        )
        self.assertEqual(registration.state, "open")
        registration.with_user(self.user_organiser).action_set_done()
        self.assertEqual(self.balance(self.res_a1), 4)
        self.start_tour("/my/credit/events", "community_credit_event_hours", login="t_resident")

    def test_redeem_voucher(self):
        for n in range(3):  # 3 × 2 = 6 points, the price of the noodles
            self.post(self.res_a1, self.rule_clean, f"tour-earn-{n}")
        self.start_tour("/my/credit", "community_credit_redeem", login="t_resident")
        voucher = self.env["credit.voucher"].search([("partner_id", "=", self.res_a1.id)])
        self.assertEqual(voucher.state, "issued")
        self.assertEqual(self.balance(self.res_a1), 0)
        self.assertEqual(self.stock.quantity, 2)
