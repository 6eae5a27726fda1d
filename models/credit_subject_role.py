from odoo import fields, models


class CreditSubjectRole(models.Model):
    _name = "credit.subject.role"
    _description = "Credit Subject Role"
    _order = "subject_type, sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    subject_type = fields.Selection(
        [("person", "Person"), ("organisation", "Organisation")],
        required=True,
        default="person",
    )
    description = fields.Text(translate=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("code_uniq", "unique(code)", "A role code must be unique."),
    ]
