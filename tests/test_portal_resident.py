import base64
from datetime import timedelta

import odoo
from odoo import Command, fields
from odoo.exceptions import AccessError
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
        # a photo over 5 MB is made smaller (test_portal_phone); a larger PDF is refused
        big = [
            ("photos", ("big.pdf", b"%PDF-1.4\n" + b"\0" * (5 * 1024 * 1024), "application/pdf"))
        ]
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


@tagged("post_install", "-at_install")
class TestPortalOtherResidentsIds(PortalCase):
    """Every route that names a record, tried by another resident with the ids of
    张三's records: a redirect, or a refusal on their own page, never 张三's data,
    and nothing changes; no POST goes through without Odoo's CSRF token."""

    SECRET = "张三's private note"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        today = fields.Date.today()
        for n in range(9):  # 张三 earns 9 × 2 = 18 points, loses 10 below
            cls.post(cls.res_a1, cls.rule_clean, f"ids-earn-{n}", day=today - timedelta(days=n))
        cls.claim = (
            cls.Claim.with_user(cls.user_resident)
            ._portal_declare(
                cls.rule_help.id, today, cls.SECRET, [("note.png", base64.b64encode(PNG))]
            )
            .with_env(cls.env)
        )
        cls.evidence = cls.env["ir.attachment"].create(
            {"name": "stairwell.png", "raw": PNG, "mimetype": "image/png"}
        )
        cls.fight = cls.post(
            cls.res_a1, cls.rule_fight, "ids-fight", day=today,
            description="张三 fought", attachment_ids=[Command.set(cls.evidence.ids)],
        )  # fmt: skip
        cls.notice = cls.env["credit.notice"].search([("ledger_line_id", "=", cls.fight.id)])
        cls.registration = (
            cls.env["event.event"]
            .with_user(cls.user_resident)
            ._credit_portal_register(cls.event.id)
            .with_env(cls.env)
        )
        role = cls.env.ref("community_credit.role_resident")
        party = cls.env.ref("community_credit.role_party_member")
        Template = cls.env["credit.commitment.template"]
        cls.template = Template.create(
            {"name": "Resident commitment", "role_id": role.id, "text": "<p>Sort rubbish.</p>"}
        )
        cls.party_template = Template.create(
            {"name": "Party commitment", "role_id": party.id, "text": "<p>Serve.</p>"}
        )
        cls.commitment = cls.env["credit.commitment"].create(
            {"template_id": cls.template.id, "partner_id": cls.res_a1.id}
        )

    def redeem_as_zhang(self):
        self.authenticate("t_resident", "t_resident")
        token = self.csrf("/my/credit/rewards")
        self.url_open(
            "/my/credit/rewards/redeem", data={"csrf_token": token, "stock_id": self.stock.id}
        )
        return self.env["credit.voucher"].search([("partner_id", "=", self.res_a1.id)])

    def snapshot(self):
        self.env.invalidate_all()
        return {
            "claim": (self.claim.state, len(self.claim.objection_ids)),
            "notice": len(self.notice.appeal_ids),
            "repairs": self.env["credit.repair"].search_count(
                [("partner_id", "=", self.res_a1.id)]
            ),
            "registration": self.registration.state,
            "voucher": self.voucher.state,
            "commitments": self.env["credit.commitment"].search_count(
                [("partner_id", "in", (self.res_a1 | self.res_b1).ids)]
            ),
            "lines": self.ledger_sum(self.res_a1),
            "claims_b": len(self.claims_of(self.res_b1)),
            "registrations_b": self.env["event.registration"].search_count(
                [("partner_id", "=", self.res_b1.id)]
            ),
        }

    def assert_nothing_of_zhang(self, response, url):
        self.assertNotIn("Traceback", response.text, url)
        for secret in (self.SECRET, "张三 fought", self.claim.name, self.voucher.code, "张三"):
            self.assertNotIn(secret, response.text, url)
        self.assertNotEqual(response.content, PNG, url)

    @mute_logger("odoo.http")
    def test_every_route_with_another_residents_ids(self):
        self.voucher = self.redeem_as_zhang()
        self.assertEqual(self.voucher.state, "issued")
        before = self.snapshot()
        self.authenticate("t_resident_b", "t_resident_b")
        gets = {
            f"/my/credit/claims/{self.claim.id}": "/my/credit/claims",
            f"/my/credit/notices/{self.notice.id}/evidence/{self.evidence.id}": (
                "/my/credit/notices"
            ),
            f"/my/credit/rewards/vouchers/{self.voucher.id}": "/my/credit/rewards",
            f"/my/credit/commitments/{self.commitment.id}": "/my/credit/commitments",
            f"/my/credit/commitments/{self.commitment.id}?report_type=pdf": (
                "/my/credit/commitments"
            ),
            f"/my/credit/commitments/sign/{self.party_template.id}": "/my/credit/commitments",
        }
        for url, landing in gets.items():
            response = self.url_open(url)
            self.assertTrue(response.url.endswith(landing), url)
            self.assert_nothing_of_zhang(response, url)
        # their own pages show their own records only
        for url in ("/my/credit", "/my/credit/claims", "/my/credit/notices", "/my/credit/events",
                    "/my/credit/rewards", "/my/credit/publications", "/my/credit/boards",
                    "/my/credit/commitments", "/my/credit/vouchers",
                    "/my/credit/passbook?report_type=html"):  # fmt: skip
            response = self.url_open(url)
            self.assertEqual(response.status_code, 200, url)
            self.assert_nothing_of_zhang(response, url)
        # the passbook downloads as a file named after the resident (the portal's
        # report download needs _get_report_base_filename: a bare 500 without it)
        response = self.url_open("/my/credit/passbook")
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment;", response.headers.get("Content-Disposition", ""))
        self.assertIn(".pdf", response.headers["Content-Disposition"])

        token = self.csrf("/my/credit/declare")
        posts = {
            f"/my/credit/claims/{self.claim.id}/resubmit": ({}, None),
            f"/my/credit/publications/{self.claim.id}/object": (
                {"reason": "Not true"}, "not open for objections",
            ),
            f"/my/credit/notices/{self.notice.id}/appeal": ({"reason": "Mine"}, "not one of yours"),
            f"/my/credit/repair/{self.fight.id}": ({}, "o_credit_error"),
            f"/my/credit/events/registration/{self.registration.id}/cancel": (
                {}, "only cancel your own",
            ),
            f"/my/credit/events/{self.event_other.id}/register": ({}, "not open to you"),
            "/my/credit/rewards/redeem": ({"stock_id": self.stock_other.id}, "serves residents of"),
            "/my/credit/commitments/sign": (
                {"template_id": self.party_template.id, "accept": "1"}, "o_credit_error",
            ),
            "/my/credit/vouchers/honour": ({"code": self.voucher.code}, "another merchant"),
            "/my/credit/declare": (
                {"rule_id": self.rule_other.id, "date": str(fields.Date.today())},
                "Choose one of the good deeds",
            ),
        }  # fmt: skip
        for url, (data, refusal) in posts.items():
            data = {"form": "1", **data}  # a POST, even with nothing else to send
            # without the token: refused before anything runs
            response = self.url_open(url, data=data)
            self.assertEqual(response.status_code, 400, url)
            response = self.url_open(url, data={**data, "csrf_token": token})
            self.assertNotIn("Traceback", response.text, url)
            if refusal:
                self.assertIn(refusal, response.text, url)
            for secret in (self.SECRET, "张三 fought", self.claim.name):
                self.assertNotIn(secret, response.text, url)
        self.assertEqual(self.snapshot(), before, "nothing of 张三's changed, nothing was made")


@tagged("post_install", "-at_install")
class TestPortalEvidence(PortalCase):
    """A notice's files are those of its own case: a file whose id was linked to
    a claim by hand (belonging to another record) is neither listed nor served."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.claim = (
            cls.Claim.with_user(cls.user_resident)
            ._portal_declare(
                cls.rule_help.id,
                fields.Date.today(),
                "Helped",
                [("note.png", base64.b64encode(PNG))],
            )
            .with_env(cls.env)
        )
        cls.own = cls.claim.attachment_ids
        cls.foreign = cls.env["ir.attachment"].create(
            {
                "name": "wang-id-card.png",
                "raw": PNG,
                "mimetype": "image/png",
                "res_model": "res.partner",
                "res_id": cls.res_b1.id,
            }
        )

    def test_resident_cannot_link_a_file_they_cannot_read(self):
        self.claim.with_user(self.user_reviewer).action_send_back("Add a photo, please.")
        self.assertEqual(self.claim.state, "draft")
        Claim = self.Claim.with_user(self.user_resident).with_context(credit_claim_workflow=True)
        with self.assertRaisesRegex(AccessError, "not allowed to access|never by hand"):
            odoo.api.call_kw(
                Claim,
                "write",
                [self.claim.ids, {"attachment_ids": [Command.link(self.foreign.id)]}],
                {},
            )
        self.assertEqual(self.claim.attachment_ids, self.own)

    def test_only_the_case_s_own_files_are_served(self):
        # a link made before the check existed (or by anyone else): not the claim's file
        self.claim.sudo().write({"attachment_ids": [Command.link(self.foreign.id)]})
        self.claim.with_user(self.user_reviewer).action_reject("Nobody saw it")
        notice = self.env["credit.notice"].search([("claim_id", "=", self.claim.id)])
        self.assertEqual(notice.state, "sent")
        self.assertEqual(notice.sudo().attachment_ids, self.own | self.foreign)
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/notices").text
        own_url = f"/my/credit/notices/{notice.id}/evidence/{self.own.id}"
        foreign_url = f"/my/credit/notices/{notice.id}/evidence/{self.foreign.id}"
        self.assertIn(own_url, page)
        self.assertIn("note.png", page)
        self.assertNotIn(foreign_url, page)
        self.assertNotIn("wang-id-card", page)
        self.assertEqual(self.url_open(own_url).content, PNG)
        response = self.url_open(foreign_url)
        self.assertTrue(response.url.endswith("/my/credit/notices"))
        self.assertNotEqual(response.content, PNG)
        # the notice's case is the resident's own: not another resident's
        self.authenticate("t_resident_b", "t_resident_b")
        response = self.url_open(own_url)
        self.assertTrue(response.url.endswith("/my/credit/notices"))
        self.assertNotEqual(response.content, PNG)
