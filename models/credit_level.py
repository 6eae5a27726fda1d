from odoo import api, fields, models


class CreditLevel(models.Model):
    _name = "credit.level"
    _description = "Credit Level"
    _order = "min_points desc, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Short label such as A+, A, B, C.")
    min_points = fields.Integer(
        string="From Points",
        required=True,
        help="A subject whose balance is at least this many points has this level "
        "(the highest such level applies; the lowest level also holds every "
        "balance below its threshold).",
    )
    color = fields.Integer()
    community_id = fields.Many2one(
        "credit.place",
        domain="[('place_type', '=', 'community')]",
        check_company=True,
        help="Levels of a community replace the general levels for its subjects.",
    )
    company_id = fields.Many2one(
        "res.company", index=True, compute="_compute_company_id", store=True, readonly=False
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "threshold_uniq",
            "unique(min_points, community_id, company_id)",
            "Two levels cannot start at the same number of points.",
        ),
    ]

    @api.depends("community_id")
    def _compute_company_id(self):
        for level in self.filtered("community_id"):
            level.company_id = level.community_id.company_id

    @api.model
    def _level_table(self, community_ids):
        """Return {community_id or False: [(min_points, level), ...] sorted desc}.

        Communities without levels of their own use the general levels.
        """
        levels = self.sudo().search(  # thresholds are public configuration
            [("company_id", "in", [self.env.company.id, False])]
        )
        general = [(lv.min_points, lv) for lv in levels if not lv.community_id]
        table = {False: general}
        for community_id in set(community_ids) - {False}:
            own = [(lv.min_points, lv) for lv in levels if lv.community_id.id == community_id]
            table[community_id] = own or general
        return table

    @api.model
    def _level_for(self, table, community_id, points):
        levels = table.get(community_id) or table[False]
        for min_points, level in levels:
            if points >= min_points:
                return level
        # the lowest level also holds every balance below its threshold
        return levels[-1][1] if levels else self.browse()
