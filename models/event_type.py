from odoo import fields, models


class EventType(models.Model):
    _inherit = "event.type"

    credit_rule_id = fields.Many2one(
        "credit.rule",
        domain=[("points", ">", 0)],
        help="The rule under which attending events of this type earns points.",
    )
    credit_hours = fields.Float(
        string="Service Hours",
        help="Service hours per attendee; 0 takes the event's duration.",
    )
