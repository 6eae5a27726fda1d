from odoo import fields, models


class CreditRuleCategory(models.Model):
    _name = "credit.rule.category"
    _description = "Credit Rule Category"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True)
    code = fields.Char()
    sequence = fields.Integer(default=10)
    period = fields.Selection(
        [
            ("day", "Daily"),
            ("week", "Weekly"),
            ("month", "Monthly"),
            ("year", "Yearly"),
            ("none", "Any time"),
        ],
        string="Rhythm",
        default="none",
        required=True,
        help="How often the behaviours in this category are typically recorded "
        "(e.g. 修身 daily, 润家 weekly, 睦邻 monthly, 怡城 yearly).",
    )
    description = fields.Text()
    rule_ids = fields.One2many("credit.rule", "category_id", string="Rules")
    company_id = fields.Many2one("res.company", index=True)
    active = fields.Boolean(default=True)
