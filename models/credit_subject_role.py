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
    duty_services_year = fields.Integer(
        string="Yearly Services Required",
        help="Community services (attended volunteer events) a subject with this role "
        "owes each year, e.g. 12 for Rongcheng's party members. 0: no duty.",
    )
    duty_points_year = fields.Integer(
        string="Yearly Points Required",
        help="Points a subject with this role should earn each year, e.g. 5.",
    )

    _sql_constraints = [
        ("code_uniq", "unique(code)", "A role code must be unique."),
    ]
