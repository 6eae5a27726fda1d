from odoo import fields, models

from ..models.utils import check_caller


class CreditClaimDecisionWizard(models.TransientModel):
    _name = "credit.claim.decision.wizard"
    _description = "Reject or Send Back Claims"

    claim_ids = fields.Many2many("credit.claim", string="Claims", required=True)
    decision = fields.Selection(
        [("reject", "Reject"), ("send_back", "Send back for changes")],
        required=True,
        default="reject",
    )
    reason = fields.Text(required=True, help="The submitter and the subjects will read it.")

    def action_confirm(self):
        """Reviewers reject or send back the claims; each claim's action checks
        again that the user decides it at its stage."""
        self.ensure_one()
        check_caller(self, "community_credit.group_credit_reviewer")
        check_caller(self.claim_ids)
        if self.decision == "reject":
            self.claim_ids.action_reject(self.reason)
        else:
            self.claim_ids.action_send_back(self.reason)
        return {"type": "ir.actions.act_window_close"}
