from odoo import api, fields, models
from odoo.exceptions import AccessError

ADMIN = "community_credit.group_credit_admin"


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

    @api.model_create_multi
    def create(self, vals_list):
        users = self
        if not self.env.su:
            # a default_ key would set the places like a value: refused alike
            if "default_credit_place_ids" in self.env.context:
                # the same context less the forged default (companies, language... stay)
                context = {
                    k: v for k, v in self.env.context.items() if k != "default_credit_place_ids"
                }
                users = self.with_context(context)  # pylint: disable=context-overridden
            if any(vals.get("credit_place_ids") for vals in vals_list):
                self._credit_check_places_admin()
        return super(ResUsers, users).create(vals_list)

    def write(self, vals):
        if "credit_place_ids" in vals and not self.env.su:
            self._credit_check_places_admin()
        return super().write(vals)

    @api.model
    def _credit_check_places_admin(self):
        """The places a user looks after decide whose points they see and grant:
        the addon's administrators give them, nobody else (not even the user)."""
        if not self.env.user.has_group(ADMIN):
            raise AccessError(
                self.env._("Only credit administrators may choose the places a user looks after.")
            )
