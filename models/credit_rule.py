from bisect import bisect_right

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .credit_rule_version import VERSION_FIELDS
from .utils import check_caller

CAP_PERIODS = ("day", "week", "month", "year")


class CreditRule(models.Model):
    _name = "credit.rule"
    _description = "Credit Rule"
    _inherit = ["mail.thread"]
    _order = "category_id, sequence, code, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(required=True, tracking=True, index=True)
    sequence = fields.Integer(default=10)
    category_id = fields.Many2one(
        "credit.rule.category",
        required=True,
        check_company=True,
        tracking=True,
        ondelete="restrict",
    )
    # terms of one rule each: a sum over rules means nothing (aggregator=False)
    points = fields.Integer(
        required=True,
        tracking=True,
        aggregator=False,
        help="Points per grant: positive to award, negative to deduct.",
    )
    is_deduction = fields.Boolean(compute="_compute_is_deduction", store=True)
    behaviour = fields.Char(
        tracking=True,
        help="A short key naming the behaviour this rule is about (e.g. 'elder-care'). "
        "Rules about the same behaviour must not both add and deduct points.",
    )
    description = fields.Html(help="What qualifies, and what evidence is expected.")
    subject_type = fields.Selection(
        [
            ("any", "People and organisations"),
            ("person", "People"),
            ("organisation", "Organisations"),
        ],
        string="Applies To",
        default="any",
        required=True,
    )
    cap_day = fields.Integer(string="Cap per Day", tracking=True, aggregator=False)
    cap_week = fields.Integer(string="Cap per Week", tracking=True, aggregator=False)
    cap_month = fields.Integer(string="Cap per Month", tracking=True, aggregator=False)
    cap_year = fields.Integer(string="Cap per Year", tracking=True, aggregator=False)
    evidence_required = fields.Boolean(tracking=True)
    granter_group_ids = fields.Many2many(
        "res.groups",
        string="Who May Grant",
        help="Only members of these groups may grant this rule by hand. "
        "Empty: every credit staff member who can see the subject.",
    )
    self_declare = fields.Boolean(
        string="Residents May Declare",
        tracking=True,
        help="Residents may declare this good deed themselves (for their own points); "
        "a review group checks the claim before any point is posted.",
    )
    delegate_user_ids = fields.Many2many(
        "res.users",
        "credit_rule_delegate_user_rel",
        "rule_id",
        "user_id",
        string="Delegated Declarants",
        help="Group leaders or social organisations who may submit claims under this "
        "rule (and only this rule) for the subjects of its community.",
    )
    repairable = fields.Boolean(
        default=True,
        tracking=True,
        help="Deduction rules: the subject may earn back a deduction under this rule by "
        "volunteer service, where the community allows credit repair. Untick for grave "
        "deductions.",
    )
    date_from = fields.Date(string="Valid From", tracking=True)
    date_to = fields.Date(string="Valid Until", tracking=True)
    community_id = fields.Many2one(
        "credit.place",
        domain="[('place_type', '=', 'community')]",
        check_company=True,
        index=True,
        tracking=True,
        help="Leave empty for a rule that applies in every community.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    active = fields.Boolean(default=True, tracking=True)
    line_count = fields.Integer(compute="_compute_line_count", string="Ledger Lines")
    version_ids = fields.One2many("credit.rule.version", "rule_id", string="Versions")
    version_count = fields.Integer(compute="_compute_version_count", string="Number of Versions")

    _sql_constraints = [
        ("points_not_zero", "CHECK(points <> 0)", "A rule must award or deduct points."),
        (
            "caps_positive",
            "CHECK(COALESCE(cap_day, 0) >= 0 AND COALESCE(cap_week, 0) >= 0 "
            "AND COALESCE(cap_month, 0) >= 0 AND COALESCE(cap_year, 0) >= 0)",
            "Caps cannot be negative (0 means no cap).",
        ),
        (
            "dates_ordered",
            "CHECK(date_from IS NULL OR date_to IS NULL OR date_from <= date_to)",
            "A rule's validity must end after it starts.",
        ),
    ]

    @api.depends("points")
    def _compute_is_deduction(self):
        for rule in self:
            rule.is_deduction = rule.points < 0

    def _compute_line_count(self):
        counts = dict(
            self.env["credit.ledger.line"]._read_group(
                [("rule_id", "in", self.ids)], ["rule_id"], ["__count"]
            )
        )
        for rule in self:
            rule.line_count = counts.get(rule, 0)

    @api.depends("version_ids")
    def _compute_version_count(self):
        for rule in self:
            rule.version_count = len(rule.version_ids)

    @api.depends("code", "name")
    def _compute_display_name(self):
        for rule in self:
            rule.display_name = f"[{rule.code}] {rule.name}" if rule.code else rule.name

    @api.constrains("code", "community_id", "company_id")
    def _check_code_unique(self):
        for rule in self:
            duplicate = self.with_context(active_test=False).search_count(
                [
                    ("id", "!=", rule.id),
                    ("code", "=", rule.code),
                    ("company_id", "=", rule.company_id.id),
                    ("community_id", "=", rule.community_id.id),
                ],
                limit=1,
            )
            if duplicate:
                raise ValidationError(
                    self.env._("Another rule already uses the code %(code)s here.", code=rule.code)
                )

    @api.constrains("points", "cap_day", "cap_week", "cap_month", "cap_year")
    def _check_caps(self):
        for rule in self:
            for period in CAP_PERIODS:
                cap = rule[f"cap_{period}"]
                if cap and cap < abs(rule.points):
                    raise ValidationError(
                        self.env._(
                            "Rule %(rule)s: a cap of %(cap)s points is smaller than the "
                            "%(points)s points of a single grant, so it could never be "
                            "granted. Raise the cap or leave it at 0 (no cap).",
                            rule=rule.display_name,
                            cap=cap,
                            points=abs(rule.points),
                        )
                    )

    @api.constrains("points", "self_declare")
    def _check_self_declare(self):
        for rule in self:
            if rule.self_declare and rule.points < 0:
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s deducts points: residents cannot declare it "
                        "themselves. Untick 'Residents May Declare'.",
                        rule=rule.display_name,
                    )
                )

    @api.constrains("points", "community_id")
    def _check_deduction_policy(self):
        for rule in self:
            if rule.points < 0 and rule.community_id and not rule.community_id.allow_deduction:
                raise ValidationError(
                    self.env._(
                        "%(community)s does not deduct points (积分不扣分): rule "
                        "%(rule)s cannot deduct. Give it positive points or another "
                        "community.",
                        community=rule.community_id.display_name,
                        rule=rule.display_name,
                    )
                )

    @api.constrains("points", "behaviour", "community_id", "active")
    def _check_behaviour_sign(self):
        for rule in self.filtered(lambda r: r.behaviour and r.active):
            key = rule.behaviour.strip()
            # a global rule meets every rule; a community's rule meets global ones and its own
            scope = []
            if rule.community_id:
                scope = [
                    "|",
                    ("community_id", "=", False),
                    ("community_id", "=", rule.community_id.id),
                ]
            opposite = self.search(
                [
                    ("id", "!=", rule.id),
                    ("behaviour", "=ilike", key),
                    ("company_id", "=", rule.company_id.id),
                    ("points", "<" if rule.points > 0 else ">", 0),
                    *scope,
                ],
                limit=1,
            )
            if opposite:
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s and rule %(other)s are both about the behaviour "
                        "'%(behaviour)s' but one adds and the other deducts points. "
                        "Use one rule per behaviour, or give them different behaviours.",
                        rule=rule.display_name,
                        other=opposite.display_name,
                        behaviour=key,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        rules._create_versions()
        return rules

    def write(self, vals):  # pylint: disable=method-required-super
        """Changing the terms of a rule (points, caps, name, description) makes
        a new version in force from today."""
        return self._write_versioned(vals)

    def _write_versioned(self, vals, note=False):
        """write(), recording changed terms as a new version with `note` (the
        simulation wizard's reason for the change)."""
        if not set(VERSION_FIELDS) & set(vals):
            return super().write(vals)
        before = {rule.id: rule._version_terms() for rule in self}
        result = super().write(vals)
        changed = self.filtered(lambda r: r._version_terms() != before[r.id])
        changed._create_versions(note=note)
        return result

    def _version_terms(self):
        self.ensure_one()
        return tuple(self[name] or False for name in VERSION_FIELDS)

    def _create_versions(self, note=False):
        """Record the current terms of each rule as its newest version, in force
        from today (v1: from the rule's own start if that is earlier)."""
        if not self:
            return self.env["credit.rule.version"]
        today = fields.Date.context_today(self)
        # versions are the rules' audit trail: nobody creates or edits them by
        # hand, and whoever changed the rule has passed the rule's access rights
        Version = self.env["credit.rule.version"].sudo()
        last = dict(Version._read_group([("rule_id", "in", self.ids)], ["rule_id"], ["number:max"]))
        current = Version.search([("rule_id", "in", self.ids), ("date_to", "=", False)])
        current.write({"date_to": today})
        vals_list = []
        for rule in self:
            number = last.get(rule, 0)
            date_from = today
            if not number and rule.date_from and rule.date_from < today:
                date_from = rule.date_from
            vals_list.append(
                {
                    "rule_id": rule.id,
                    "number": number + 1,
                    "date_from": date_from,
                    "note": note or False,
                    **{name: rule[name] for name in VERSION_FIELDS},
                }
            )
        return Version.create(vals_list)

    def _version_on(self, date):
        """The version of this rule in force on `date`: the newest one that took
        effect on or before that day (the first version for earlier days)."""
        self.ensure_one()
        version_id = self._version_index().get(self.id, lambda _d: False)(date)
        return self.env["credit.rule.version"].browse(version_id)

    def _current_versions(self):
        """{rule id: id of its version in force now}, one query for all the rules
        of self (the posting path). Versions take effect on the day they are
        made, so the one in force now is the newest."""
        rows = (
            self.env["credit.rule.version"]
            .sudo()  # residents post claims under rules whose versions they need not read
            ._read_group([("rule_id", "in", self.ids)], ["rule_id"], ["id:max"])
        )
        return {rule.id: version_id for rule, version_id in rows}

    def _version_index(self):
        """For each rule of self, a function date -> id of the version in force
        that day; one query for all the rules."""
        rows = (
            self.env["credit.rule.version"]
            .sudo()  # residents post claims under rules whose versions they need not read
            .search_read(
                [("rule_id", "in", self.ids)],
                ["rule_id", "number", "date_from"],
                order="rule_id, date_from, number",
            )
        )
        by_rule = {}
        for row in rows:
            dates, ids = by_rule.setdefault(row["rule_id"][0], ([], []))
            dates.append(row["date_from"])
            ids.append(row["id"])

        def picker(dates, ids):
            return lambda date: ids[max(bisect_right(dates, date) - 1, 0)]

        return {rule_id: picker(dates, ids) for rule_id, (dates, ids) in by_rule.items()}

    def _is_valid_on(self, date):
        self.ensure_one()
        return (not self.date_from or self.date_from <= date) and (
            not self.date_to or date <= self.date_to
        )

    def action_view_ledger(self):
        self.ensure_one()
        check_caller(
            self,
            "community_credit.group_credit_grid_worker",
            "community_credit.group_credit_finance",
        )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_ledger_line_action"
        )
        action["domain"] = [("rule_id", "=", self.id)]
        action["context"] = {"search_default_group_by_partner": 0}
        return action

    def action_simulate_change(self):
        """Open the simulation of a change of this rule (council and administrators)."""
        self.ensure_one()
        self.env["credit.rule.simulation.wizard"]._check_council()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Simulate a Change"),
            "res_model": "credit.rule.simulation.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_rule_id": self.id},
        }

    @api.model
    def _portal_declarable(self, partner):
        """The good deeds a resident may declare for themselves today: active,
        self-declarable, not a deduction, valid today, of their community (or
        of every community) and meant for people."""
        today = fields.Date.context_today(self)
        partner = partner.sudo()  # residents do not read their own community's settings
        community = partner.credit_community_id
        if not community:
            return self.browse()
        return self.search(
            [
                ("self_declare", "=", True),
                ("is_deduction", "=", False),
                ("company_id", "in", [community.company_id.id, False]),
                ("community_id", "in", [community.id, False]),
                ("subject_type", "in", ("any", "organisation" if partner.is_company else "person")),
                "|",
                ("date_from", "=", False),
                ("date_from", "<=", today),
                "|",
                ("date_to", "=", False),
                ("date_to", ">=", today),
            ]
        )
