from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from .credit_commitment import COUNTED_ORIGINS
from .utils import check_caller, period_bounds

PERIODS = [
    ("year", "Year"),
    ("half", "Half-Year"),
    ("quarter", "Quarter"),
    ("month", "Month"),
]
# what may still change on a template once somebody has signed it
FREE_AFTER_SIGNING = {
    "name",
    "sequence",
    "active",
    "remind_days",
    "commitment_count",
    "message_follower_ids",
    "activity_ids",
    "message_ids",
}
# the rules the year-end evaluation posts under, for whoever set them
RULE_FIELDS = ("bonus_rule_id", "deduction_rule_id")
# what decides who earns those rules, and how often: whoever sets any of it (and
# the obligations, credit.commitment.obligation) becomes the granter of the
# evaluation's points, and must be allowed to grant them
GRANT_TERMS = {"role_id", "community_id", "company_id", "period", *RULE_FIELDS}


class CreditCommitmentTemplate(models.Model):
    _name = "credit.commitment.template"
    _description = "Commitment Template"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "sequence, id"
    _check_company_auto = True
    # the council writes templates (access rights); write() locks all but the
    # first four once somebody signed. commitment_ids is refused: commitments
    # are made by signing, and who set the rules is recorded, never given.
    _credit_user_fields = frozenset(
        {
            "name",
            "sequence",
            "active",
            "remind_days",
            "role_id",
            "community_id",
            "company_id",
            "text",
            "period",
            "obligation_ids",
            *RULE_FIELDS,
        }
    )

    name = fields.Char(required=True, translate=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    role_id = fields.Many2one(
        "credit.subject.role",
        string="Kind of Subject",
        required=True,
        tracking=True,
        ondelete="restrict",
        help="Who signs this commitment: residents, party members, merchants...",
    )
    subject_type = fields.Selection(related="role_id.subject_type")
    community_id = fields.Many2one(
        "credit.place",
        domain="[('place_type', '=', 'community')]",
        check_company=True,
        index=True,
        tracking=True,
        help="Leave empty for a commitment offered in every community.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    text = fields.Html(
        string="Commitment Text",
        required=True,
        translate=True,
        help="The promise the subject reads and accepts when signing.",
    )
    period = fields.Selection(
        PERIODS,
        required=True,
        default="year",
        tracking=True,
        help="How long one commitment runs; it is evaluated when its period ends.",
    )
    obligation_ids = fields.One2many(
        "credit.commitment.obligation", "template_id", string="Obligations", copy=True
    )
    bonus_rule_id = fields.Many2one(
        "credit.rule",
        string="Bonus on Fulfilment",
        check_company=True,
        tracking=True,
        domain="[('points', '>', 0)]",
        help="Points posted (under this rule) to each subject who met every obligation.",
    )
    deduction_rule_id = fields.Many2one(
        "credit.rule",
        string="Deduction on Breach",
        check_company=True,
        tracking=True,
        domain="[('points', '<', 0)]",
        help="Points deducted (under this rule) from each subject who broke the "
        "commitment, in communities that deduct points.",
    )
    rules_set_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        help="Who chose the bonus and deduction rules, checked then as allowed to grant "
        "them: the evaluation posts the points as granted by them.",
    )
    remind_days = fields.Integer(
        string="Remind Before End (Days)",
        default=30,
        help="Subjects behind on an obligation, and their grid workers, are reminded "
        "this many days before the period ends. 0: no reminder.",
    )
    commitment_ids = fields.One2many("credit.commitment", "template_id")
    commitment_count = fields.Integer(compute="_compute_commitment_count")

    @api.depends("commitment_ids")
    def _compute_commitment_count(self):
        counts = dict(
            self.env["credit.commitment"]._read_group(
                [("template_id", "in", self.ids)], ["template_id"], ["__count"]
            )
        )
        for template in self:
            template.commitment_count = counts.get(template, 0)

    @api.constrains("bonus_rule_id", "deduction_rule_id", "role_id", "community_id")
    def _check_rules(self):
        for template in self:
            bonus, deduction = template.bonus_rule_id, template.deduction_rule_id
            if bonus and bonus.points <= 0:
                raise ValidationError(
                    self.env._("The bonus rule %(rule)s must award points.", rule=bonus.name)
                )
            if deduction and deduction.points >= 0:
                raise ValidationError(
                    self.env._(
                        "The deduction rule %(rule)s must deduct points.", rule=deduction.name
                    )
                )
            if deduction and template.community_id and not template.community_id.allow_deduction:
                raise ValidationError(
                    self.env._(
                        "%(community)s does not deduct points (积分不扣分): a commitment "
                        "there cannot deduct points on breach.",
                        community=template.community_id.display_name,
                    )
                )
            for rule in bonus | deduction:
                if rule.subject_type not in ("any", template.subject_type):
                    raise ValidationError(
                        self.env._(
                            "Rule %(rule)s does not apply to %(kind)s.",
                            rule=rule.name,
                            kind=template.role_id.name,
                        )
                    )
                if rule.community_id and rule.community_id != template.community_id:
                    raise ValidationError(
                        self.env._(
                            "Rule %(rule)s belongs to %(community)s only: choose a rule "
                            "of every community, or offer the commitment there only.",
                            rule=rule.name,
                            community=rule.community_id.display_name,
                        )
                    )

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._credit_checked_vals(vals, creating=True) for vals in vals_list]
        for vals in vals_list:
            self._check_rule_granters(vals)
        return super().create(vals_list)

    def write(self, vals):
        vals = self._credit_checked_vals(vals)
        locked = set(vals) - FREE_AFTER_SIGNING
        # sudo: every signature counts, also of subjects the user may not see
        if locked and self.env["credit.commitment"].sudo().search_count(
            [("template_id", "in", self.ids), ("state", "!=", "draft")], limit=1
        ):
            raise UserError(
                self.env._(
                    "Somebody has signed this commitment: its text, period, obligations "
                    "and points can no longer change. Archive it and offer a new version "
                    "(Duplicate) instead."
                )
            )
        self._check_rule_granters(vals)
        return super().write(vals)

    def _check_rule_granters(self, vals):
        """The evaluation posts the bonus and the deduction without checking
        anybody's rights: whoever sets those rules, or the terms that decide who
        earns them (GRANT_TERMS), must be allowed to grant them, and is recorded
        as their granter (rules_set_by_id). Adds the setter to `vals`."""
        if not GRANT_TERMS & set(vals) or "rules_set_by_id" in vals:
            return
        # both rules as they will be: the setter becomes the granter of both
        rule_ids = {vals[f] for f in RULE_FIELDS if isinstance(vals.get(f), int) and vals[f]}
        for template in self.sudo():
            rule_ids |= {template[f].id for f in RULE_FIELDS if f not in vals and template[f]}
        rules = self.env["credit.rule"].browse(rule_ids)
        self._check_granter_of(rules, putting=bool(set(RULE_FIELDS) & set(vals)))
        vals["rules_set_by_id"] = self.env.uid

    def _check_granter_of(self, rules, putting=False):
        """The current user may grant every rule of `rules` (no-op under sudo)."""
        if self.env.su:
            return
        user = self.env.user
        for rule in rules.sudo():
            if rule.granter_group_ids and not (rule.granter_group_ids & user.groups_id):
                groups = ", ".join(rule.granter_group_ids.mapped("name"))
                if putting:
                    raise AccessError(
                        self.env._(
                            "You may not put rule %(rule)s on a commitment: it is reserved "
                            "for %(groups)s, who grant it.",
                            rule=rule.display_name,
                            groups=groups,
                        )
                    )
                raise AccessError(
                    self.env._(
                        "You may not change who earns rule %(rule)s by a commitment (its "
                        "obligations, period or subjects): the rule is reserved for "
                        "%(groups)s, who grant it.",
                        rule=rule.display_name,
                        groups=groups,
                    )
                )

    def _check_obligations_setter(self):
        """The obligations of these templates changed: whoever changed them must
        be allowed to grant the templates' rules, and becomes their granter."""
        if self.env.su:
            return
        templates = self.sudo().exists()
        self._check_granter_of(templates.bonus_rule_id | templates.deduction_rule_id)
        # sudo: who set the terms is recorded, never given (the caller was checked)
        templates.filtered(lambda t: t.rules_set_by_id != self.env.user).write(
            {"rules_set_by_id": self.env.uid}
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_if_unsigned(self):
        if self.commitment_ids:
            raise UserError(
                self.env._("Commitments were made under this template: archive it instead.")
            )

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for template, vals in zip(self, vals_list, strict=True):
            vals.setdefault("name", self.env._("%s (new version)", template.name))
        return vals_list

    def _offered_to(self, partner):
        """True when `partner` may sign this template: the right kind of subject,
        in a community where it is offered."""
        self.ensure_one()
        community = partner.credit_community_id
        return bool(
            self.active
            and self.role_id in partner.credit_role_ids
            and (not self.community_id or self.community_id == community)
            and self.company_id == (community.company_id or self.company_id)
        )

    @api.model
    def _offered_templates(self, partner):
        """Templates `partner` may still sign for the current period."""
        today = fields.Date.context_today(self)
        templates = self.search(
            [
                ("role_id", "in", partner.credit_role_ids.ids),
                "|",
                ("community_id", "=", False),
                ("community_id", "=", partner.credit_community_id.id),
            ]
        ).filtered(lambda t: t._offered_to(partner) and t.obligation_ids)
        signed = self.env["credit.commitment"].search(
            [
                ("partner_id", "=", partner.id),
                ("template_id", "in", templates.ids),
                ("state", "not in", ("draft", "cancelled")),
            ]
        )
        return templates.filtered(
            lambda t: (
                not signed.filtered(
                    lambda c: c.template_id == t and c.date_from <= today <= c.date_to
                )
            )
        )

    def _portal_terms(self, partner):
        """What `partner` reads before signing this template for the current
        period: its first and last day, the points for keeping it and for
        breaking it (none where the subject's community does not deduct, as the
        evaluation decides), and the deductions already recorded in the period
        that break it, so that it can no longer be kept."""
        self.ensure_one()
        start, end = period_bounds(fields.Date.context_today(self), self.period)
        # sudo: the subject's community, which merchants' contacts may not read
        community = partner.sudo().credit_community_id
        deduction = self.deduction_rule_id if community.allow_deduction else None
        return {
            "start": start,
            "end": end,
            "bonus": self.bonus_rule_id.points,
            "deduction": deduction.points if deduction else 0,
            "breaking": self._breaking_lines(
                partner, start, end, community.company_id or self.env.company
            ),
        }

    def _breaking_lines(self, partner, start, end, company):
        """The deductions of `partner` between `start` and `end` that break an
        obligation "no deduction" of this template, counted as the evaluation
        counts them (credit.commitment.line._measure_query)."""
        self.ensure_one()
        Line = self.env["credit.ledger.line"].sudo()  # sudo: the subject's own lines only
        lines = Line.browse()
        for obligation in self.obligation_ids.filtered(lambda o: o.kind == "no_deduction"):
            domain = [
                ("partner_id", "=", partner.id),
                ("state", "=", "posted"),
                ("origin", "in", COUNTED_ORIGINS),
                ("points", "<", 0),
                ("date", ">=", start),
                ("date", "<=", end),
                ("company_id", "=", company.id),
            ]
            if obligation.rule_ids:
                domain.append(("rule_id", "in", obligation.rule_ids.ids))
            lines |= Line.search(domain, order="date, id")
        return lines

    def action_view_commitments(self):
        self.ensure_one()
        check_caller(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.action_credit_commitment"
        )
        action["domain"] = [("template_id", "=", self.id)]
        action["context"] = {"default_template_id": self.id}
        return action
