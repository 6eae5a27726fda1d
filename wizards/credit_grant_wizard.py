from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.utils import check_readable


class CreditGrantWizard(models.TransientModel):
    _name = "credit.grant.wizard"
    _description = "Grant Credit Points"

    rule_id = fields.Many2one("credit.rule", required=True, domain="[('active', '=', True)]")
    points = fields.Integer(related="rule_id.points")
    date = fields.Date(required=True, default=fields.Date.context_today)
    place_id = fields.Many2one(
        "credit.place",
        string="Everyone Living In",
        help="Adds every credit subject living in this place (and the places below it).",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        string="Subjects",
        domain="[('credit_is_subject', '=', True)]",
    )
    subject_count = fields.Integer(compute="_compute_subject_count")
    description = fields.Text(string="Reason", required=True)
    attachment_ids = fields.Many2many("ir.attachment", string="Evidence")
    budget_approved = fields.Boolean(
        string="Approve Past Budget",
        help="Council only: grant even if the points exceed a place's budget for the "
        "period. The overrun is recorded with your name and the reason.",
    )

    @api.depends("partner_ids")
    def _compute_subject_count(self):
        for wizard in self:
            wizard.subject_count = len(wizard.partner_ids)

    @api.onchange("place_id")
    def _onchange_place_id(self):
        if self.place_id:
            residents = self.env["res.partner"].search(
                [
                    ("credit_place_id", "child_of", self.place_id.id),
                    ("credit_is_subject", "=", True),
                ]
            )
            self.partner_ids |= residents

    def action_grant(self):
        self.ensure_one()
        if not self.partner_ids:
            raise UserError(self.env._("Choose at least one subject to grant the points to."))
        if not (self.description or "").strip():
            raise UserError(self.env._("Say why the points are granted."))
        # evidence given by id must be files the granter may open
        check_readable(self.sudo().attachment_ids.with_env(self.env))
        approval = False
        if self.budget_approved:
            if not self.env.user.has_group("community_credit.group_credit_manager"):
                raise AccessError(self.env._("Only the council can approve grants past a budget."))
            approval = self.description.strip()
        lines = self.env["credit.ledger.line"]._post(
            [
                {
                    "partner_id": partner.id,
                    "rule_id": self.rule_id.id,
                    "date": self.date,
                    "origin": "manual",
                    "origin_ref": f"{self._name},{self.id}",
                    "description": self.description.strip(),
                    "attachment_ids": [fields.Command.set(self.attachment_ids.ids)],
                    "idempotency_key": f"manual:{self.id}:{partner.id}",
                }
                for partner in self.partner_ids
            ],
            budget_approval=approval,
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Points granted"),
                "message": self.env._(
                    "%(count)s subjects received %(points)s points under %(rule)s.",
                    count=len(lines),
                    points=self.rule_id.points,
                    rule=self.rule_id.display_name,
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
