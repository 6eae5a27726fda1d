import io
import re

from PIL import Image

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common_portal import PortalCase

# every page of a resident, one tap away from the buttons on top of each of them
RESIDENT_PAGES = [
    "/my/credit",
    "/my/credit/declare",
    "/my/credit/claims",
    "/my/credit/events",
    "/my/credit/rewards",
    "/my/credit/commitments",
    "/my/credit/boards",
    "/my/credit/publications",
    "/my/credit/notices",
]
TAB = re.compile(r"<a [^>]*o_credit_tab[^>]*>")
MB = 1024 * 1024


def phone_photo(size=(4000, 3000)):
    """A photo as a phone takes it: 4000 x 3000, a JPEG of 5 to 8 MB (noise, which
    compresses about as badly as a real scene)."""
    image = Image.merge("RGB", [Image.effect_noise(size, 40) for _ in range(3)])
    data = io.BytesIO()
    image.save(data, "JPEG", quality=85)
    return data.getvalue()


@tagged("post_install", "-at_install")
class TestPortalPhone(PortalCase):
    """The resident's pages on a phone: every page in reach, large photos made
    smaller, the council's answers on the portal, staff's drafts in plain words."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Objection = cls.env["credit.claim.objection"]

    def tabs(self, url):
        page = self.url_open(url).text
        start = page.index('class="o_credit_nav')
        nav = page[start : page.index("</nav>", start)]
        return [
            (re.search(r'href="([^"]+)"', tab).group(1), 'aria-current="page"' in tab)
            for tab in TAB.findall(nav)
        ]

    # ------------------------------------------------------------ buttons
    def test_every_page_has_a_button_to_every_page(self):
        self.authenticate("t_resident", "t_resident")
        for url in RESIDENT_PAGES:
            tabs = self.tabs(url)
            self.assertEqual([href for href, _active in tabs], RESIDENT_PAGES, url)
            self.assertEqual([href for href, active in tabs if active], [url], url)

    # ------------------------------------------------------------ photos
    def test_phone_photo_is_made_smaller_by_the_server(self):
        """Without JavaScript the photo arrives whole: 4000 x 3000, over 5 MB."""
        photo = phone_photo()
        self.assertGreater(len(photo), 5 * MB)
        self.assertLess(len(photo), 8 * MB)
        self.authenticate("t_resident", "t_resident")
        response = self.declare(
            self.rule_photo,
            description="Our family of six",
            files=[("photos", ("IMG_0001.JPG", photo, "image/jpeg"))],
        )
        self.assertIn("with the review group", response.text)
        claim = self.claims_of(self.res_a1)
        self.assertEqual(claim.state, "review")
        attachment = claim.attachment_ids
        self.assertEqual(attachment.name, "IMG_0001.jpg")
        self.assertEqual(attachment.mimetype, "image/jpeg")
        self.assertLess(attachment.file_size, 5 * MB)
        stored = Image.open(io.BytesIO(attachment.raw))
        self.assertEqual((stored.format, stored.size), ("JPEG", (1600, 1200)))

    def test_large_photo_of_an_appeal_is_made_smaller(self):
        claim = self.Claim.with_user(self.user_resident)._portal_declare(
            self.rule_help.id, fields.Date.today(), "Helped Mrs Li", []
        )
        claim.with_user(self.user_reviewer).action_reject("Nobody saw it")
        notice = self.env["credit.notice"].search([("claim_id", "=", claim.id)])
        self.authenticate("t_resident", "t_resident")
        token = self.csrf("/my/credit/notices")
        response = self.url_open(
            f"/my/credit/notices/{notice.id}/appeal",
            data={"csrf_token": token, "reason": "Mrs Li can tell you"},
            files=[("photos", ("note.jpeg", phone_photo((3000, 4000)), "image/jpeg"))],
        )
        self.assertIn("the council will look into your appeal", response.text)
        attachment = notice.appeal_ids.attachment_ids
        self.assertEqual(attachment.name, "note.jpg")
        self.assertEqual(Image.open(io.BytesIO(attachment.raw)).size, (1200, 1600))

    @mute_logger("odoo.http")
    def test_files_too_large_are_refused_with_what_to_do(self):
        self.authenticate("t_resident", "t_resident")
        cases = [
            (
                ("big.pdf", b"%PDF-1.4\n" + b"\0" * (5 * MB + 1), "application/pdf"),
                "big.pdf is larger than 5 MB. Only photos are made smaller",
            ),
            (
                ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\0" * (6 * MB), "image/jpeg"),
                "broken.jpg could not be made smaller: take the photo again.",
            ),
            (
                ("huge.jpg", b"\xff\xd8\xff\xe0" + b"\0" * (25 * MB), "image/jpeg"),
                "huge.jpg is larger than 25 MB: take a smaller photo.",
            ),
        ]
        for upload, message in cases:
            response = self.declare(self.rule_help, files=[("photos", upload)])
            self.assertIn("o_credit_error", response.text, upload[0])
            self.assertIn(message, response.text)
        self.assertFalse(self.claims_of(self.res_a1))

    # ------------------------------------------------------------ answers
    def publish_claim_of_a2(self, rule=None):
        claim = self.Claim.with_user(self.user_resident_a2)._portal_declare(
            (rule or self.rule_help).id, fields.Date.today(), "Carried shopping", []
        )
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(claim.state, "published")
        return claim

    def decide_objection(self, objection, decision, answer):
        objection = objection.with_user(self.user_manager)
        objection.answer = answer
        return objection.action_uphold() if decision == "upheld" else objection.action_dismiss()

    def objection_card(self, page, claim_name):
        cards = page.split('<div class="card mb-2 o_credit_')[1:]
        found = [card for card in cards if claim_name in card]
        self.assertEqual(len(found), 1, f"one card of {claim_name}")
        return found[0]

    def test_objector_reads_the_council_s_answer(self):
        stands = self.publish_claim_of_a2()
        withdrawn = self.publish_claim_of_a2(self.rule_clean)
        Objection = self.Objection.with_user(self.user_resident)
        objection_stands = stands.with_user(self.user_resident)._object("He was away that day.")
        objection_withdrawn = withdrawn.with_user(self.user_resident)._object("Nobody swept.")
        self.assertEqual(Objection.search([]), objection_stands | objection_withdrawn)
        self.authenticate("t_resident", "t_resident")
        # the council drafts its answer: not shown before it decides
        objection_stands.with_user(self.user_manager).answer = "Draft answer"
        page = self.url_open("/my/credit/publications").text
        card = self.objection_card(page, "Help a neighbour")
        self.assertIn("You have objected to this claim: He was away that day.", card)
        self.assertIn("The council is looking into it", card)
        self.assertNotIn("Draft answer", page)

        self.decide_objection(objection_stands, "dismissed", "Three neighbours saw him help.")
        self.decide_objection(objection_withdrawn, "upheld", "The stairwell was not swept.")
        self.assertEqual((stands.state, withdrawn.state), ("published", "rejected"))
        page = self.url_open("/my/credit/publications").text
        card = self.objection_card(page, "Help a neighbour")
        self.assertIn("this claim stands", card)
        self.assertIn("Three neighbours saw him help.", card)
        self.assertNotIn("looking into it", card)
        # withdrawn, the claim is no longer published, and its objector may no longer
        # read it: the objection and its answer stay on the page
        self.assertFalse(withdrawn.with_user(self.user_resident).has_access("read"))
        card = self.objection_card(page, "Clean the stairwell")
        self.assertTrue(card.startswith("my_objection"), "under My Objections")
        self.assertIn("this claim is withdrawn", card)
        self.assertIn("The stairwell was not swept.", card)
        self.assertIn("李*", card)
        self.assertNotIn("李四", page)
        # the other residents of the estate read neither objection nor answer
        self.authenticate("t_resident_a2", "t_resident_a2")
        page = self.url_open("/my/credit/publications").text
        for secret in ("He was away", "Three neighbours", "not swept", "Nobody swept"):
            self.assertNotIn(secret, page)

    def test_appellant_reads_the_council_s_answer(self):
        claim = self.Claim.with_user(self.user_resident)._portal_declare(
            self.rule_help.id, fields.Date.today(), "Helped Mrs Li", []
        )
        claim.with_user(self.user_reviewer).action_reject("Nobody saw it")
        notice = self.env["credit.notice"].search([("claim_id", "=", claim.id)])
        appeal = notice.with_user(self.user_resident)._appeal("Mrs Li can tell you")
        appeal.with_user(self.user_manager).decision_reason = "Draft reason"
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/notices").text
        self.assertIn("The council is looking into your appeal", page)
        self.assertNotIn("Draft reason", page)
        appeal = appeal.with_user(self.user_manager)
        appeal.decision_reason = "Mrs Li confirmed the help."
        appeal.action_uphold()
        page = self.url_open("/my/credit/notices").text
        self.assertIn(f'id="credit_notice_{notice.id}"', page)
        self.assertIn("Your appeal is upheld", page)
        self.assertIn("The council's answer:</strong> Mrs Li confirmed the help.", page)

    def test_rejected_claim_says_why_and_leads_to_its_notice(self):
        claim = self.Claim.with_user(self.user_resident)._portal_declare(
            self.rule_help.id, fields.Date.today(), "Helped Mrs Li", []
        )
        claim.with_user(self.user_reviewer).action_reject("Nobody saw it")
        notice = self.env["credit.notice"].search([("claim_id", "=", claim.id)])
        self.assertEqual(notice.state, "sent")
        self.authenticate("t_resident", "t_resident")
        page = self.url_open(f"/my/credit/claims/{claim.id}").text
        self.assertIn("Not accepted", page)
        self.assertIn("<strong>Reason:</strong> Nobody saw it", page)
        self.assertIn(f'href="/my/credit/notices#credit_notice_{notice.id}"', page)
        self.assertIn("You may appeal until", page)
        self.assertIn(f'id="credit_notice_{notice.id}"', self.url_open("/my/credit/notices").text)

    # ------------------------------------------------------------ staff drafts
    def test_staff_draft_is_said_in_plain_words(self):
        claim = self.Claim.with_user(self.user_grid).create(
            {
                "rule_id": self.rule_help.id,
                "date": fields.Date.today(),
                "description": "Entered by the grid worker",
                "partner_ids": [Command.set(self.res_a1.ids)],
            }
        )
        self.assertEqual((claim.state, claim.name), ("draft", "New"))
        self.authenticate("t_resident", "t_resident")
        card = self.claim_card(claim)
        self.assertIn("Staff are filling it in", card)
        self.assertNotIn("New", card)
        self.assertNotIn("Draft", card)
        page = self.url_open(f"/my/credit/claims/{claim.id}").text
        self.assertIn("Staff are entering this good deed for you", page)
        self.assertNotIn("/resubmit", page, "nothing for the resident to send")
        self.assertNotIn("Sent back to you", page)
        # sent, it is a claim like any other
        claim.with_user(self.user_grid).action_submit()
        card = self.claim_card(claim)
        self.assertNotIn("Staff are filling it in", card)
        self.assertIn("With the review group", card)
        self.assertIn(claim.name, card)

    def claim_card(self, claim):
        listing = self.url_open("/my/credit/claims").text
        start = listing.index(f'href="/my/credit/claims/{claim.id}"')
        return listing[start : listing.index("</a>", start)]

    def test_confirmation_before_redeeming_and_cancelling(self):
        for n in range(3):  # 3 × 2 = 6 points, the price of the noodles
            self.post(self.res_a1, self.rule_clean, f"phone-earn-{n}")
        self.env["event.event"].with_user(self.user_resident)._credit_portal_register(self.event.id)
        self.authenticate("t_resident", "t_resident")
        pages = {
            "/my/credit/rewards": "/my/credit/rewards/redeem",
            "/my/credit/events": "/my/credit/events/registration/",
        }
        for url, action in pages.items():
            page = self.url_open(url).text
            # the only form that acts is inside the dialog that asks first
            forms = re.findall(r'<div [^>]*class="modal o_credit_confirm".*?</form>', page, re.S)
            self.assertEqual(len(forms), 1, url)
            self.assertIn(action, forms[0])
            self.assertEqual(page.count(f'action="{action}'), 1, url)
            self.assertIn("o_credit_confirm_no", page)


@tagged("post_install", "-at_install")
class TestPortalPhoneTours(PortalCase):
    """The resident's pages in a real browser the size of a phone (390 x 844)."""

    browser_size = "390x844"
    touch_enabled = True

    def test_redeem_asks_first(self):
        for n in range(4):  # 4 × 2 = 8 points; the noodles cost 6
            self.post(self.res_a1, self.rule_clean, f"phone-tour-earn-{n}")
        self.start_tour("/my/credit/rewards", "community_credit_phone_redeem", login="t_resident")
        voucher = self.env["credit.voucher"].search([("partner_id", "=", self.res_a1.id)])
        self.assertEqual(len(voucher), 1, "redeemed once, when confirmed")
        self.assertEqual(self.balance(self.res_a1), 2)
        self.assertEqual(self.stock.quantity, 2)

    def test_cancel_sign_up_asks_first(self):
        registration = (
            self.env["event.event"]
            .with_user(self.user_resident)
            ._credit_portal_register(self.event.id)
            .with_env(self.env)
        )
        self.start_tour("/my/credit/events", "community_credit_phone_cancel", login="t_resident")
        self.assertEqual(registration.state, "cancel")

    def test_large_photo_from_the_camera(self):
        self.start_tour("/my/credit/declare", "community_credit_phone_photo", login="t_resident")
        claim = self.claims_of(self.res_a1)
        self.assertEqual(claim.state, "review")
        attachment = claim.attachment_ids
        self.assertEqual((attachment.name, attachment.mimetype), ("IMG_0001.jpg", "image/jpeg"))
        self.assertLess(attachment.file_size, 5 * MB)
        self.assertEqual(Image.open(io.BytesIO(attachment.raw)).size, (1600, 1200))


@tagged("post_install", "-at_install")
class TestPortalPhoneNarrow(PortalCase):
    """The buttons to every page on the narrowest phone still in use (320 wide)."""

    browser_size = "320x568"
    touch_enabled = True

    def test_every_page_one_tap_away(self):
        self.start_tour("/my/credit", "community_credit_phone_pages", login="t_resident")

    def test_every_page_one_tap_away_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["community_credit"], ["zh_CN"], overwrite=True
        )
        self.user_resident.lang = "zh_CN"
        self.start_tour("/my/credit", "community_credit_phone_pages", login="t_resident")
