import re
from datetime import datetime

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from .common import RESIDENT, age_notices
from .common_portal import PortalCase

# a card of /my (portal.portal_docs_entry): its classes and its link
CARD = re.compile(r'<div class="o_portal_index_card ([^"]*)">\s*<a href="([^"]+)"')
RESIDENT_PAGES = [
    "/my/credit",
    "/my/credit/declare",
    "/my/credit/claims",
    "/my/credit/events",
    "/my/credit/rewards",
    "/my/credit/notices",
    "/my/credit/commitments",
    "/my/credit/boards",
    "/my/credit/publications",
]
MERCHANT_PAGES = ["/my/credit/vouchers"]


class PortalHomeCase(PortalCase):
    """A resident (张三 of estate A), the noodle shop's owner (a merchant, no
    time zone of their own), a shopkeeper who also lives in the community, and
    two commitments for residents: one broken by any fight, one by littering
    only, each +5 when kept and -3 when broken."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_merchant = new_test_user(
            cls.env, "t_merchant", groups="base.group_portal", parent_id=cls.noodle_shop.id,
            tz=False,
        )  # fmt: skip
        shopkeeper = cls.env["res.partner"].create(
            {
                "name": "Shopkeeper Liu",
                "parent_id": cls.noodle_shop.id,
                "credit_place_id": cls.building_b1.id,
                "credit_role_ids": [Command.set(cls.env.ref("community_credit.role_resident").ids)],
            }
        )
        cls.user_shopkeeper = new_test_user(
            cls.env, "t_shopkeeper", groups=RESIDENT, partner_id=shopkeeper.id, name=shopkeeper.name
        )  # fmt: skip
        Rule = cls.env["credit.rule"]
        cls.rule_kept = Rule.create(
            {"code": "TH1", "name": "Kept my word", "category_id": cls.category.id, "points": 5}
        )
        cls.rule_broken = Rule.create(
            {"code": "TH2", "name": "Broke my word", "category_id": cls.category.id, "points": -3}
        )
        cls.rule_litter = Rule.create(
            {"code": "TH3", "name": "Littering", "category_id": cls.category.id, "points": -2}
        )
        Template = cls.env["credit.commitment.template"]
        role = cls.env.ref("community_credit.role_resident")
        cls.pact = Template.create(
            {
                "name": "Neighbourly pact",
                "role_id": role.id,
                "text": "<p>I live in peace with my neighbours.</p>",
                "bonus_rule_id": cls.rule_kept.id,
                "deduction_rule_id": cls.rule_broken.id,
                "obligation_ids": [
                    Command.create(
                        {
                            "name": "No fights",
                            "kind": "no_deduction",
                            "rule_ids": [Command.set(cls.rule_fight.ids)],
                        }
                    )
                ],
            }
        )
        cls.tidy = Template.create(
            {
                "name": "Tidy building pact",
                "role_id": role.id,
                "text": "<p>I keep our building clean.</p>",
                "bonus_rule_id": cls.rule_kept.id,
                "deduction_rule_id": cls.rule_broken.id,
                "obligation_ids": [
                    Command.create(
                        {
                            "name": "No litter",
                            "kind": "no_deduction",
                            "rule_ids": [Command.set(cls.rule_litter.ids)],
                        }
                    ),
                    Command.create({"name": "Earn 4 points", "kind": "points", "target": 4}),
                ],
            }
        )

    def fight_today(self):
        """A deduction for fighting today: it breaks the neighbourly pact."""
        return self.post(self.res_a1, self.rule_fight, "home-fight", day=fields.Date.today())

    def sign_form(self, template, accept="1"):
        data = {"template_id": template.id, "csrf_token": self.csrf()}
        if accept:
            data["accept"] = accept
        return self.url_open("/my/credit/commitments/sign", data=data)


@tagged("post_install", "-at_install")
class TestPortalHome(PortalHomeCase):
    """/my shows each user a card for each of their credit pages; times read in
    the community's time zone; a deduction leads to its notice; a commitment
    says what keeping and breaking it bring before it is signed."""

    def outcome(self, page, kind):
        """The line of `page` saying what keeping (kept) or breaking (broken) brings."""
        match = re.search(rf"o_credit_outcome_{kind}.*?</li>", page, re.S)
        self.assertTrue(match, f"the page says what it brings when {kind}")
        return match.group(0)

    def cards(self):
        page = self.url_open("/my").text
        return {url: "d-none" not in classes for classes, url in CARD.findall(page)}

    # ------------------------------------------------------------------ /my
    def test_resident_reaches_every_page_from_my(self):
        self.authenticate("t_resident", "t_resident")
        cards = self.cards()
        for url in RESIDENT_PAGES:
            self.assertTrue(cards.get(url), f"{url} has a card shown on /my")
            self.assertEqual(self.url_open(url).status_code, 200, url)
        for url in MERCHANT_PAGES:
            self.assertNotIn(url, cards, "a resident hands over no voucher")

    def test_merchant_sees_the_hand_over_page_only(self):
        self.authenticate("t_merchant", "t_merchant")
        cards = self.cards()
        self.assertTrue(cards.get("/my/credit/vouchers"), "the merchant's card is shown")
        for url in RESIDENT_PAGES:
            self.assertNotIn(url, cards, "a merchant who is no resident has no resident pages")

    def test_shopkeeper_who_lives_here_sees_both(self):
        self.authenticate("t_shopkeeper", "t_shopkeeper")
        cards = self.cards()
        for url in RESIDENT_PAGES + MERCHANT_PAGES:
            self.assertTrue(cards.get(url), url)

    # ------------------------------------------------------------ time zone
    def test_times_in_the_community_s_zone(self):
        """The merchant has no time zone; the community (the company) is in
        Shanghai: a hand-over at 10:20 UTC reads 18:20."""
        self.env.company.partner_id.tz = "Asia/Shanghai"
        for n in range(3):  # 3 × 2 = 6 points, the price of the noodles
            self.post(self.res_a1, self.rule_clean, f"home-earn-{n}")
        voucher = self.env["credit.voucher"]._redeem(self.stock.id, self.res_a1.id)
        voucher.sudo().write(
            {
                "state": "honoured",
                "honoured_by_id": self.user_merchant.id,
                "honoured_date": datetime(2025, 5, 6, 10, 20),
            }
        )
        self.assertFalse(self.user_merchant.tz)
        self.authenticate("t_merchant", "t_merchant")
        page = self.url_open("/my/credit/vouchers").text
        self.assertIn(voucher.code, page)
        self.assertIn("05/06/2025 18:20", page)
        self.assertNotIn("10:20", page)

    def test_signed_commitment_and_its_pdf_in_the_community_s_zone(self):
        self.env.company.partner_id.tz = "Asia/Shanghai"
        self.user_resident.tz = False
        Commitment = self.env["credit.commitment"].with_user(self.user_resident)
        commitment = Commitment._portal_sign(self.tidy.id)
        commitment.sudo().write({"signed_on": datetime(2025, 5, 6, 10, 20)})
        self.authenticate("t_resident", "t_resident")
        for url in (commitment.access_url, f"{commitment.access_url}?report_type=html"):
            page = self.url_open(url).text
            self.assertIn("18:20", page, url)
            self.assertNotIn("10:20", page, url)

    # ------------------------------------------------------------ deductions
    def test_deduction_leads_to_its_notice_and_says_until_when(self):
        line = self.fight_today()
        notice = self.env["credit.notice"].search([("ledger_line_id", "=", line.id)])
        self.assertEqual(notice.state, "sent")
        anchor = f'href="/my/credit/notices#credit_notice_{notice.id}"'
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit").text
        self.assertIn(anchor, page)
        self.assertIn("o_credit_line_appeal", page)
        deadline = notice.appeal_deadline.strftime("%m/%d/%Y")
        self.assertIn(f"You may appeal until <strong>{deadline}</strong>", page)
        # the window over: no appeal any more, said so, and the notice one tap away
        age_notices(self.env, notice, 16)
        page = self.url_open("/my/credit").text
        self.assertIn(anchor, page)
        self.assertNotIn("o_credit_line_appeal", page)
        self.assertIn("The time to appeal ended on", page)

    # ------------------------------------------------------------ commitments
    def test_sign_page_shows_both_outcomes_and_what_breaks_it(self):
        self.authenticate("t_resident", "t_resident")
        page = self.url_open(f"/my/credit/commitments/sign/{self.pact.id}").text
        self.assertIn("+5", self.outcome(page, "kept"))
        self.assertIn("-3", self.outcome(page, "broken"))
        self.assertIn("Broken by any deduction for Fighting in the period", page)
        self.assertIn("o_credit_commitment_sign_form", page)
        self.assertNotIn("o_credit_commitment_warning", page)
        page = self.url_open(f"/my/credit/commitments/sign/{self.tidy.id}").text
        self.assertIn("Broken by any deduction for Littering in the period", page)
        self.assertIn("Counted: the points you earn in the period", page)

    def test_never_deducting_community_shows_no_deduction(self):
        self.authenticate("t_resident_nd", "t_resident_nd")
        page = self.url_open(f"/my/credit/commitments/sign/{self.pact.id}").text
        broken = self.outcome(page, "broken")
        self.assertIn("No deduction", broken)
        self.assertNotIn("-3", broken)

    def test_signed_commitment_keeps_both_outcomes_in_sight(self):
        self.authenticate("t_resident", "t_resident")
        response = self.sign_form(self.pact)
        self.assertIn("your commitment is signed", response.text)
        self.assertIn("+5", self.outcome(response.text, "kept"))
        self.assertIn("-3", self.outcome(response.text, "broken"))

    def test_commitment_already_broken_is_not_signed(self):
        fight = self.fight_today()
        Commitment = self.env["credit.commitment"]
        self.authenticate("t_resident", "t_resident")
        listing = self.url_open("/my/credit/commitments").text
        self.assertEqual(listing.count("o_credit_commitment_broken"), 1, "the pact, not tidy")
        page = self.url_open(f"/my/credit/commitments/sign/{self.pact.id}").text
        self.assertIn("o_credit_commitment_warning", page)
        self.assertIn("can no longer be kept", page)
        self.assertNotIn("o_credit_commitment_sign_form", page)
        notice = self.env["credit.notice"].search([("ledger_line_id", "=", fight.id)])
        self.assertIn(f'href="/my/credit/notices#credit_notice_{notice.id}"', page)
        # the form sent anyway: refused by the server, with the reason
        refused = self.sign_form(self.pact)
        self.assertIn("already breaks it", refused.text)
        self.assertIn("alert-danger", refused.text)
        self.assertFalse(Commitment.search([("partner_id", "=", self.res_a1.id)]))
        with self.assertRaisesRegex(UserError, "can no longer be kept for .* Fighting"):
            Commitment.with_user(self.user_resident)._portal_sign(self.pact.id)
        # a deduction for something else does not break the tidy building pact
        page = self.url_open(f"/my/credit/commitments/sign/{self.tidy.id}").text
        self.assertIn("o_credit_commitment_sign_form", page)
        self.assertIn("your commitment is signed", self.sign_form(self.tidy).text)
        self.assertEqual(
            Commitment.search([("partner_id", "=", self.res_a1.id)]).template_id, self.tidy
        )


@tagged("post_install", "-at_install")
class TestPortalHomeTours(PortalHomeCase):
    """/my on a phone, in a real browser."""

    browser_size = "390x844"
    touch_enabled = True

    def test_resident_cards_reach_every_page(self):
        self.start_tour("/my", "community_credit_home_cards", login="t_resident")

    def test_merchant_reaches_the_hand_over_page(self):
        self.start_tour("/my", "community_credit_merchant_home", login="t_merchant")

    def test_commitment_read_before_signing(self):
        self.fight_today()
        self.start_tour("/my", "community_credit_commitment_sign", login="t_resident")
        commitment = self.env["credit.commitment"].search([("partner_id", "=", self.res_a1.id)])
        self.assertEqual(commitment.template_id, self.tidy)
        self.assertEqual(commitment.state, "signed")
