from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import DAY, CreditCase


@tagged("post_install", "-at_install")
class TestGrantWizard(CreditCase):
    def test_grid_worker_grants_a_building_at_once(self):
        form = Form(self.env["credit.grant.wizard"].with_user(self.user_grid))
        form.rule_id = self.rule_clean
        form.date = DAY
        form.place_id = self.building_a1
        form.description = "Cleaned the stairwell of building A1"
        self.assertEqual(form.subject_count, 2)
        wizard = form.save()
        self.assertEqual(wizard.partner_ids, self.res_a1 | self.res_a2)
        wizard.action_grant()
        lines = self.Ledger.search([("origin_ref", "=", f"credit.grant.wizard,{wizard.id}")])
        self.assertEqual(lines.partner_id, self.res_a1 | self.res_a2)
        self.assertEqual(set(lines.mapped("points")), {2})
        self.assertEqual(lines.granted_by_id, self.user_grid)
        # a double click posts nothing more
        wizard.action_grant()
        self.assertEqual(self.balance(self.res_a1), 2)
        self.assertEqual(self.balance(self.res_a2), 2)

    def test_whole_batch_refused_when_one_subject_is_out_of_scope(self):
        wizard = (
            self.env["credit.grant.wizard"]
            .with_user(self.user_grid)
            .create(
                {
                    "rule_id": self.rule_clean.id,
                    "date": DAY,
                    "description": "clean-up",
                    "partner_ids": [Command.set((self.res_a1 | self.res_b1).ids)],
                }
            )
        )
        with self.assertRaises(AccessError):
            wizard.action_grant()
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_manager_grants_many_with_evidence(self):
        # uploaded by the manager in the wizard, as the form does
        photo = (
            self.env["ir.attachment"]
            .with_user(self.user_manager)
            .create({"name": "proof.jpg", "raw": b"jpeg"})
        )
        everyone = self.res_a1 | self.res_a2 | self.res_b1
        wizard = (
            self.env["credit.grant.wizard"]
            .with_user(self.user_manager)
            .create(
                {
                    "rule_id": self.rule_photo.id,
                    "date": DAY,
                    "description": "六有家庭",
                    "partner_ids": [Command.set(everyone.ids)],
                    "attachment_ids": [Command.set(photo.ids)],
                }
            )
        )
        wizard.action_grant()
        for partner in everyone:
            self.assertEqual(self.balance(partner), 5)
        lines = self.Ledger.search([("partner_id", "in", everyone.ids)])
        self.assertEqual(lines.attachment_ids, photo)
        # the evidence now belongs to the ledger, not to the wizard that will be vacuumed
        self.assertEqual(photo.res_model, "credit.ledger.line")
        self.assertIn(photo.res_id, lines.ids)

    def test_empty_or_unexplained_grants_are_refused(self):
        wizard = (
            self.env["credit.grant.wizard"]
            .with_user(self.user_manager)
            .create(
                {
                    "rule_id": self.rule_clean.id,
                    "date": DAY,
                    "description": "x",
                }
            )
        )
        with self.assertRaisesRegex(UserError, "at least one subject"):
            wizard.action_grant()
        wizard.write({"partner_ids": [Command.set(self.res_a1.ids)], "description": "   "})
        with self.assertRaisesRegex(UserError, "why"):
            wizard.action_grant()
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_partner_button_opens_wizard_for_them(self):
        action = self.res_a1.with_user(self.user_grid).action_grant_credit_points()
        self.assertEqual(action["context"]["default_partner_ids"], self.res_a1.ids)
        ledger_action = self.res_a1.with_user(self.user_grid).action_view_credit_ledger()
        self.assertEqual(ledger_action["domain"], [("partner_id", "=", self.res_a1.id)])
