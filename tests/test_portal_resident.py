from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common_portal import PNG, PortalCase


@tagged("post_install", "-at_install")
class TestPortalDeclare(PortalCase):
    """A resident declares a good deed from their phone, with photos; bad input
    comes back with a clear message and the form as typed, and nothing is saved."""

    def test_declare_with_photo(self):
        self.authenticate("t_resident", "t_resident")
        form = self.url_open("/my/credit/declare").text
        for rule in (self.rule_help, self.rule_clean, self.rule_photo):
            self.assertIn(rule.name, form)
        self.assertNotIn(self.rule_fight.name, form, "a deduction is not self-declared")
        self.assertNotIn(self.rule_other.name, form, "another community's rule")
        self.assertIn('capture="environment"', form, "the phone's camera opens")

        response = self.declare(
            self.rule_photo,
            description="Our family of six",
            files=[("photos", ("family.png", PNG, "image/png"))],
        )
        claim = self.claims_of(self.res_a1)
        self.assertEqual(len(claim), 1)
        self.assertEqual(claim.state, "review")
        self.assertEqual(claim.declared_as, "self")
        self.assertEqual(claim.description, "Our family of six")
        self.assertEqual(claim.attachment_ids.mapped("name"), ["family.png"])
        self.assertEqual(claim.attachment_ids.mimetype, "image/png")
        self.assertTrue(response.url.endswith(f"/my/credit/claims/{claim.id}?submitted=1"))
        self.assertIn("with the review group", response.text)
        self.assertIn(claim.name, response.text)
        listing = self.url_open("/my/credit/claims").text
        self.assertIn(f"/my/credit/claims/{claim.id}", listing)

    def assert_refused(self, response, message, description="Helped"):
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("Traceback", response.text)
        self.assertIn("o_credit_error", response.text)
        self.assertIn(message, response.text)
        self.assertIn(description, response.text, "what the resident typed is kept")
        self.assertFalse(self.claims_of(self.res_a1), "nothing is half-written")
        orphans = self.env["ir.attachment"].search(
            [("res_model", "=", "credit.claim"), ("create_uid", "=", self.user_resident.id)]
        )
        self.assertFalse(orphans, "no photo is left behind")

    @mute_logger("odoo.http")
    def test_declare_refusals(self):
        self.authenticate("t_resident", "t_resident")
        tomorrow = fields.Date.today() + timedelta(days=1)
        self.assert_refused(self.declare(self.rule_help, date=tomorrow), "in the future")
        self.assert_refused(self.declare(self.rule_photo), "evidence")
        text = [("photos", ("notes.txt", b"just text", "text/plain"))]
        self.assert_refused(self.declare(self.rule_help, files=text), "is not a photo or a PDF")
        big = [("photos", ("big.png", PNG + b"\0" * (5 * 1024 * 1024), "image/png"))]
        self.assert_refused(self.declare(self.rule_help, files=big), "larger than 5 MB")
        six = [("photos", (f"p{n}.png", PNG, "image/png")) for n in range(6)]
        self.assert_refused(self.declare(self.rule_help, files=six), "at most 5 photos")
        for rule in (self.rule_fight, self.rule_other, 0, "x"):
            self.assert_refused(self.declare(rule), "Choose one of the good deeds")
        token = self.csrf("/my/credit/declare")
        bad_date = self.url_open(
            "/my/credit/declare",
            data={"rule_id": self.rule_help.id, "date": "31/02", "description": "Helped",
                  "csrf_token": token},
        )  # fmt: skip
        self.assert_refused(bad_date, "Say on which day")

    @mute_logger("odoo.http")
    def test_declare_needs_csrf_token(self):
        self.authenticate("t_resident", "t_resident")
        response = self.url_open(
            "/my/credit/declare",
            data={"rule_id": self.rule_help.id, "date": fields.Date.to_string(fields.Date.today()),
                  "csrf_token": "forged"},
        )  # fmt: skip
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.claims_of(self.res_a1))

    def test_daily_limit(self):
        self.authenticate("t_resident", "t_resident")
        today = fields.Date.today()
        for days_ago, rule in enumerate((self.rule_help, self.rule_clean, self.rule_help)):
            response = self.declare(rule, date=today - timedelta(days=days_ago))
            self.assertIn("with the review group", response.text)
        refused = self.declare(self.rule_clean, date=today - timedelta(days=5))
        self.assertIn("already declared 3 good deeds today", refused.text)
        self.assertEqual(len(self.claims_of(self.res_a1)), 3)

    def test_claim_pages_are_private(self):
        mine = self.Claim.with_user(self.user_resident)._portal_declare(
            self.rule_help.id, fields.Date.today(), "My private note", []
        )
        self.authenticate("t_resident_b", "t_resident_b")
        response = self.url_open(f"/my/credit/claims/{mine.id}")
        self.assertTrue(response.url.endswith("/my/credit/claims"))
        self.assertNotIn("My private note", response.text)
        self.assertNotIn(mine.name, self.url_open("/my/credit/claims").text)
        token = self.csrf("/my/credit/declare")
        self.url_open(f"/my/credit/claims/{mine.id}/resubmit", data={"csrf_token": token})
        self.assertEqual(mine.state, "review", "nobody else can touch it")

    def test_sent_back_then_completed(self):
        claim = self.Claim.with_user(self.user_resident)._portal_declare(
            self.rule_help.id, fields.Date.today(), "Helped Mrs Li", []
        )
        claim.with_user(self.user_reviewer).action_send_back("Add a photo of the help, please.")
        self.authenticate("t_resident", "t_resident")
        page = self.url_open(f"/my/credit/claims/{claim.id}").text
        self.assertIn("Add a photo of the help, please.", page)
        self.assertIn("Submit Again", page)
        token = self.csrf(f"/my/credit/claims/{claim.id}")
        response = self.url_open(
            f"/my/credit/claims/{claim.id}/resubmit",
            data={"csrf_token": token},
            files=[("photos", ("help.png", PNG, "image/png"))],
        )
        self.assertIn("with the review group", response.text)
        self.assertEqual(claim.state, "review")
        self.assertEqual(len(claim.attachment_ids), 1)


@tagged("post_install", "-at_install")
class TestPortalPublication(PortalCase):
    """Residents of the estate see its published claims, names masked, and
    object to one; residents of another estate can neither see nor object."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.published = cls.Claim.with_user(cls.user_resident_a2)._portal_declare(
            cls.rule_help.id, fields.Date.today(), "Carried shopping for 张三", []
        )
        cls.published.with_user(cls.user_reviewer).action_approve()

    def test_object_to_published_claim(self):
        self.assertEqual(self.published.state, "published")
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/publications").text
        self.assertIn(self.rule_help.name, page)
        self.assertIn("李*", page, "names are masked")
        self.assertNotIn("李四", page)
        token = self.csrf()
        url = f"/my/credit/publications/{self.published.id}/object"
        empty = self.url_open(url, data={"csrf_token": token, "reason": "  "})
        self.assertIn("o_credit_error", empty.text)
        self.assertFalse(self.published.objection_ids.exists())
        done = self.url_open(url, data={"csrf_token": token, "reason": "He was away that day."})
        self.assertIn("the council will look into your objection", done.text)
        objection = self.env["credit.claim.objection"].search(
            [("claim_id", "=", self.published.id)]
        )
        self.assertEqual(objection.objector_id, self.res_a1)
        self.assertEqual(objection.reason, "He was away that day.")
        self.assertIn("You have objected", self.url_open("/my/credit/publications").text)

    def test_objections_per_day_are_limited(self):
        self.community.objection_daily_limit = 1
        second = self.Claim.with_user(self.user_resident_a2)._portal_declare(
            self.rule_clean.id, fields.Date.today(), "Swept the stairwell", []
        )
        second.with_user(self.user_reviewer).action_approve()
        self.assertEqual(second.state, "published")
        self.authenticate("t_resident", "t_resident")
        token = self.csrf()
        first = self.url_open(
            f"/my/credit/publications/{self.published.id}/object",
            data={"csrf_token": token, "reason": "He was away that day."},
        )
        self.assertIn("the council will look into your objection", first.text)
        refused = self.url_open(
            f"/my/credit/publications/{second.id}/object",
            data={"csrf_token": token, "reason": "And this one too."},
        )
        self.assertIn("You have already objected to 1 claims today", refused.text)
        Objection = self.env["credit.claim.objection"]
        self.assertFalse(
            Objection.search([("claim_id", "=", second.id)]), "the refused objection is not kept"
        )
        self.assertEqual(Objection.search_count([("claim_id", "=", self.published.id)]), 1)

    def test_other_estate_cannot_object(self):
        self.authenticate("t_resident_b", "t_resident_b")
        page = self.url_open("/my/credit/publications").text
        self.assertNotIn(self.rule_help.name + "</strong>", page)
        token = self.csrf()
        refused = self.url_open(
            f"/my/credit/publications/{self.published.id}/object",
            data={"csrf_token": token, "reason": "I object from elsewhere"},
        )
        self.assertIn("not open for objections", refused.text)
        self.assertFalse(self.published.objection_ids)


@tagged("post_install", "-at_install")
class TestPortalEvents(PortalCase):
    """Residents see their community's volunteer events, sign up once, cancel
    their own sign-up, and see their hours; other residents' sign-ups and other
    communities' events are out of reach."""

    def registrations(self, partner, event=None):
        return self.env["event.registration"].search(
            [("partner_id", "=", partner.id), ("event_id", "=", (event or self.event).id),
             ("state", "!=", "cancel")]
        )  # fmt: skip

    def sign_up(self, event):
        token = self.csrf()
        return self.url_open(f"/my/credit/events/{event.id}/register", data={"csrf_token": token})

    def test_sign_up_attend_cancel(self):
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/events").text
        self.assertIn("Stairwell patrol", page)
        self.assertNotIn("Other community", page)
        response = self.sign_up(self.event)
        self.assertIn("You are signed up", response.text)
        self.assertEqual(len(self.registrations(self.res_a1)), 1)
        again = self.sign_up(self.event)
        self.assertIn("already signed up", again.text)
        self.assertEqual(len(self.registrations(self.res_a1)), 1)
        other = self.sign_up(self.event_other)
        self.assertIn("not open to you", other.text)
        self.assertFalse(self.registrations(self.res_a1, self.event_other))

        registration = self.registrations(self.res_a1)
        self.authenticate("t_resident_b", "t_resident_b")
        token = self.csrf()
        cancel_url = f"/my/credit/events/registration/{registration.id}/cancel"
        refused = self.url_open(cancel_url, data={"csrf_token": token})
        self.assertIn("only cancel your own", refused.text)
        self.assertEqual(registration.state, "open")

        self.authenticate("t_resident", "t_resident")
        token = self.csrf()
        cancelled = self.url_open(cancel_url, data={"csrf_token": token})
        self.assertIn("Your sign-up is cancelled", cancelled.text)
        self.assertEqual(registration.state, "cancel")

    def test_hours_after_attendance(self):
        registration = (
            self.env["event.event"]
            .with_user(self.user_resident)
            ._credit_portal_register(self.event.id)
        )
        registration.with_user(self.user_organiser).action_set_done()
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/events").text
        # 3 hours: the event lasts from 01:00 to 04:00
        self.assertRegex(page, r'o_credit_hours_year">3<')
        self.assertIn("Attended", page)
        self.assertIn("Stairwell patrol", self.url_open("/my/credit").text)
        self.assertEqual(self.balance(self.res_a1), 4)

    def test_full_event(self):
        self.event.seats_max = 1
        self.env["event.event"].with_user(self.user_resident)._credit_portal_register(self.event.id)
        self.authenticate("t_resident_a2", "t_resident_a2")
        self.assertIn("Full", self.url_open("/my/credit/events").text)
        refused = self.sign_up(self.event)
        self.assertIn("is closed", refused.text)
        self.assertFalse(self.registrations(self.res_a2))


@tagged("post_install", "-at_install")
class TestPortalRewards(PortalCase):
    """Residents redeem a reward of their community for a voucher with a QR code;
    nobody redeems without the points, elsewhere, or sees another's voucher."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for n in range(4):  # 张三 earns 4 × 2 = 8 points
            cls.post(
                cls.res_a1,
                cls.rule_clean,
                f"portal-earn-{n}",
                day=fields.Date.today() - timedelta(days=n),
            )

    def redeem(self, stock):
        token = self.csrf()
        return self.url_open(
            "/my/credit/rewards/redeem", data={"csrf_token": token, "stock_id": stock}
        )

    def test_redeem_for_voucher(self):
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/rewards").text
        self.assertIn("Bowl of noodles", page)
        self.assertIn("Old Wang&#39;s noodle shop", page)
        self.assertNotIn("Far away shop", page)
        response = self.redeem(self.stock.id)
        voucher = self.env["credit.voucher"].search([("partner_id", "=", self.res_a1.id)])
        self.assertEqual(len(voucher), 1)
        self.assertTrue(
            response.url.endswith(f"/my/credit/rewards/vouchers/{voucher.id}?redeemed=1")
        )
        self.assertIn(voucher.code, response.text)
        self.assertIn("barcode_type=QR", response.text)
        self.assertEqual(self.balance(self.res_a1), 8 - 6)
        self.assertEqual(self.stock.quantity, 2)
        # 2 points left: the reward is out of reach and redeeming again is refused
        self.assertIn("You need 4 more points", self.url_open("/my/credit/rewards").text)
        refused = self.redeem(self.stock.id)
        self.assertIn("o_credit_error", refused.text)
        self.assertEqual(self.balance(self.res_a1), 2)
        self.assertEqual(self.stock.quantity, 2)

        self.authenticate("t_resident_b", "t_resident_b")
        other = self.url_open(f"/my/credit/rewards/vouchers/{voucher.id}")
        self.assertTrue(other.url.endswith("/my/credit/rewards"))
        self.assertNotIn(voucher.code, other.text)

    def test_redeem_refusals(self):
        self.authenticate("t_resident", "t_resident")
        for stock, message in (
            (self.stock_other.id, "serves residents of"),
            (999999, "cannot be collected there"),
            ("abc", "Choose a reward"),
        ):
            refused = self.redeem(stock)
            self.assertIn(message, refused.text)
            self.assertNotIn("Traceback", refused.text)
        self.assertFalse(self.env["credit.voucher"].search([("partner_id", "=", self.res_a1.id)]))
        self.assertEqual(self.balance(self.res_a1), 8)
        self.assertEqual((self.stock | self.stock_other).mapped("quantity"), [3, 3])

    def test_routes_need_login(self):
        for url in ("/my/credit/declare", "/my/credit/claims", "/my/credit/events",
                    "/my/credit/rewards", "/my/credit/publications"):  # fmt: skip
            response = self.url_open(url)
            self.assertIn("/web/login", response.url, url)
