from odoo import fields, models


class CreditRuleSimulationLine(models.TransientModel):
    _name = "credit.rule.simulation.line"
    _description = "Credit Rule Simulation: One Subject"
    _order = "difference, partner_id"

    wizard_id = fields.Many2one(
        "credit.rule.simulation.wizard", required=True, ondelete="cascade", index=True
    )
    partner_id = fields.Many2one("res.partner", string="Subject", readonly=True)
    line_count = fields.Integer(string="Ledger Lines", readonly=True)
    actual_points = fields.Integer(readonly=True)
    simulated_points = fields.Integer(readonly=True)
    difference = fields.Integer(readonly=True)
