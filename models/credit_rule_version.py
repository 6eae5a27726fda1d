from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# the terms of a rule that a version keeps: changing one of them makes a new version
VERSION_FIELDS = ("name", "description", "points", "cap_day", "cap_week", "cap_month", "cap_year")


class CreditRuleVersion(models.Model):
    _name = "credit.rule.version"
    _description = "Credit Rule Version"
    _order = "rule_id, number desc"
    _check_company_auto = True

    rule_id = fields.Many2one(
        "credit.rule", required=True, readonly=True, index=True, ondelete="cascade"
    )
    number = fields.Integer(string="Version", required=True, readonly=True)
    date_from = fields.Date(
        string="In Force From",
        required=True,
        readonly=True,
        help="The day these terms took effect.",
    )
    date_to = fields.Date(
        string="Replaced On",
        readonly=True,
        help="The day the next version took effect; empty while these terms are in force.",
    )
    name = fields.Char(readonly=True)
    description = fields.Html(readonly=True)
    points = fields.Integer(readonly=True)
    cap_day = fields.Integer(string="Cap per Day", readonly=True)
    cap_week = fields.Integer(string="Cap per Week", readonly=True)
    cap_month = fields.Integer(string="Cap per Month", readonly=True)
    cap_year = fields.Integer(string="Cap per Year", readonly=True)
    note = fields.Text(string="Why It Changed", readonly=True)
    company_id = fields.Many2one(related="rule_id.company_id", store=True, index=True)

    _sql_constraints = [
        ("rule_number_uniq", "unique(rule_id, number)", "A rule has one version per number."),
    ]

    @api.depends("number", "date_from")
    def _compute_display_name(self):
        for version in self:
            version.display_name = self.env._(
                "v%(number)s from %(date)s", number=version.number, date=version.date_from
            )

    def write(self, vals):
        # the audit trail of a rule: only the posting of a newer version closes a version
        if not self.env.su:
            self.check_access("write")
        if set(vals) - {"date_to"} or not self.env.su:
            raise UserError(
                self.env._(
                    "Rule versions cannot be changed: change the rule itself, and a "
                    "new version records the new terms."
                )
            )
        return super().write(vals)

    @api.model
    def _create_missing_versions(self):
        """Give every rule without a version its v1 (the terms it has now, in
        force since the rule was created), and hang every ledger line of such a
        rule that has no version on it. Used by the 18.0.1.2.0 migration; safe
        to run again. Returns the number of versions created."""
        self.env["credit.rule"].flush_model()
        self.flush_model()
        self.env["credit.ledger.line"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO credit_rule_version (rule_id, number, date_from, name, description,
                                             points, cap_day, cap_week, cap_month, cap_year,
                                             note, company_id, create_uid, create_date,
                                             write_uid, write_date)
            SELECT r.id, 1, LEAST(r.create_date::date, COALESCE(r.date_from, 'infinity'),
                                  COALESCE((SELECT MIN(l.date) FROM credit_ledger_line l
                                             WHERE l.rule_id = r.id), 'infinity')),
                   r.name, r.description, r.points, r.cap_day, r.cap_week, r.cap_month,
                   r.cap_year, %(note)s, r.company_id, %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM credit_rule r
             WHERE NOT EXISTS (SELECT 1 FROM credit_rule_version v WHERE v.rule_id = r.id)
         RETURNING id
            """,
                note=self.env._("The terms of the rule when versions were introduced."),
                uid=self.env.uid,
                now=self.env.cr.now(),
            )
        )
        created = len(self.env.cr.fetchall())
        # lines posted before versions existed were posted under the first one
        # (one UPDATE: the ledger can hold millions of lines)
        self.env.cr.execute(
            SQL(
                """
            UPDATE credit_ledger_line l
               SET rule_version_id = v.id
              FROM credit_rule_version v
             WHERE v.rule_id = l.rule_id AND v.number = 1 AND l.rule_version_id IS NULL
            """
            )
        )
        self.invalidate_model()
        self.env["credit.ledger.line"].invalidate_model(["rule_version_id"])
        return created
