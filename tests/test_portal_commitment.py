import re

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestCommitmentPortal(HttpCase):
    """A resident reads and signs their commitment on the portal, follows the
    progress and downloads it; nobody else's commitment can be opened."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        community = cls.env["credit.place"].create(
            {"name": "Portal Community", "place_type": "community"}
        )
        category = cls.env["credit.rule.category"].create({"name": "Portal"})
        bonus = cls.env["credit.rule"].create(
            {"code": "PC1", "name": "Kept", "category_id": category.id, "points": 5}
        )
        role = cls.env.ref("community_credit.role_resident")
        cls.template = cls.env["credit.commitment.template"].create(
            {
                "name": "Portal resident commitment",
                "role_id": role.id,
                "text": "<p>I will sort my rubbish every day.</p>",
                "bonus_rule_id": bonus.id,
                "obligation_ids": [
                    Command.create({"name": "Earn 5 points", "kind": "points", "target": 5})
                ],
            }
        )
        cls.party_template = cls.env["credit.commitment.template"].create(
            {
                "name": "Party member commitment",
                "role_id": cls.env.ref("community_credit.role_party_member").id,
                "text": "<p>Twelve services.</p>",
                "obligation_ids": [
                    Command.create({"name": "12 services", "kind": "services", "target": 12})
                ],
            }
        )
        people = {}
        for login in ("pc_resident", "pc_other"):
            partner = cls.env["res.partner"].create(
                {
                    "name": f"Resident {login}",
                    "credit_place_id": community.id,
                    "credit_role_ids": [Command.set(role.ids)],
                }
            )
            new_test_user(
                cls.env,
                login,
                groups="base.group_portal,community_credit.group_credit_resident",
                partner_id=partner.id,
                password=f"{login}_pw",
                name=partner.name,
            )
            people[login] = partner
        cls.resident, cls.other = people["pc_resident"], people["pc_other"]

    def csrf(self, url):
        page = self.url_open(url).text
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def sign(self, template_id, accept="1"):
        # the form's token, read while the template is still offered
        if not getattr(self, "token", None):
            self.token = self.csrf(f"/my/credit/commitments/sign/{self.template.id}")
        data = {"template_id": template_id, "csrf_token": self.token}
        if accept:
            data["accept"] = accept
        return self.url_open("/my/credit/commitments/sign", data=data)

    def test_resident_reads_and_signs(self):
        self.authenticate("pc_resident", "pc_resident_pw")
        home = self.url_open("/my").text
        self.assertIn("My Commitments", home)
        page = self.url_open("/my/credit/commitments").text
        self.assertIn("Portal resident commitment", page)
        self.assertNotIn("Party member commitment", page, "offered to party members only")
        text = self.url_open(f"/my/credit/commitments/sign/{self.template.id}").text
        self.assertIn("sort my rubbish", text)
        self.assertIn("Earn 5 points", text)

        refused = self.sign(self.template.id, accept=None)
        self.assertIn("Tick the box", refused.text)
        self.assertFalse(
            self.env["credit.commitment"].search([("partner_id", "=", self.resident.id)])
        )

        response = self.sign(self.template.id)
        commitment = self.env["credit.commitment"].search([("partner_id", "=", self.resident.id)])
        self.assertEqual(commitment.state, "signed")
        self.assertEqual(commitment.sign_origin, "portal")
        self.assertEqual(commitment.signer_name, "Resident pc_resident")
        self.assertEqual(commitment.signed_by_id.login, "pc_resident")
        self.assertTrue(commitment.sign_ip)
        self.assertIn("sort my rubbish", commitment.accepted_text)
        self.assertTrue(response.url.endswith(f"/my/credit/commitments/{commitment.id}?signed=1"))
        self.assertIn("your commitment is signed", response.text)
        self.assertIn("0 / 5", response.text)

        # signing twice: refused with a message, nothing written
        again = self.sign(self.template.id)
        self.assertIn("signed it already", again.text)
        self.assertNotIn("Traceback", again.text)
        self.assertEqual(
            self.env["credit.commitment"].search_count([("partner_id", "=", self.resident.id)]), 1
        )
        # a template not offered to them, or one that does not exist
        for template_id in (self.party_template.id, 999999, "abc"):
            refused = self.sign(template_id)
            self.assertEqual(refused.status_code, 200)
            self.assertIn("alert-danger", refused.text)
        self.assertEqual(
            self.env["credit.commitment"].search_count([("partner_id", "=", self.resident.id)]), 1
        )
        # the signed commitment as a document
        document = self.url_open(f"/my/credit/commitments/{commitment.id}?report_type=html")
        self.assertEqual(document.status_code, 200)
        self.assertIn("Resident pc_resident", document.text)
        self.assertIn("sort my rubbish", document.text)

    def test_other_residents_commitment_is_out_of_reach(self):
        commitment = self.env["credit.commitment"].create(
            {"template_id": self.template.id, "partner_id": self.other.id}
        )
        commitment.action_sign(origin="office")
        self.authenticate("pc_resident", "pc_resident_pw")
        for url in (
            f"/my/credit/commitments/{commitment.id}",
            f"/my/credit/commitments/{commitment.id}?report_type=html",
            f"/my/credit/commitments/{commitment.id}?report_type=pdf",
        ):
            response = self.url_open(url)
            self.assertTrue(response.url.endswith("/my/credit/commitments"), url)
            self.assertNotIn("Resident pc_other", response.text)

    def test_form_without_csrf_is_refused(self):
        self.authenticate("pc_resident", "pc_resident_pw")
        response = self.url_open(
            "/my/credit/commitments/sign", data={"template_id": self.template.id, "accept": "1"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(
            self.env["credit.commitment"].search([("partner_id", "=", self.resident.id)])
        )
