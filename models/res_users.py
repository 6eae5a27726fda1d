from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    credit_place_ids = fields.Many2many(
        "credit.place",
        "credit_place_res_users_rel",
        "user_id",
        "place_id",
        string="Credit Places Looked After",
        help="Grid workers and reviewers see and grant points only for subjects "
        "living in these places (and the places below them).",
    )
