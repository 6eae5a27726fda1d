from odoo import api, fields, models
from odoo.exceptions import ValidationError

OBLIGATION_KINDS = [
    ("services", "Volunteer services attended"),
    ("hours", "Volunteer hours"),
    ("points", "Points earned"),
    ("rule_lines", "Times credited under given rules"),
    ("no_deduction", "No deduction"),
    ("manual", "Checked by staff"),
]
# kinds measured against a target (at least N)
COUNTED_KINDS = {"services", "hours", "points", "rule_lines"}
# what decides whether an obligation is met (the weight only weighs the score)
MEASURE_FIELDS = {"template_id", "kind", "target", "rule_ids"}


class CreditCommitmentObligation(models.Model):
    _name = "credit.commitment.obligation"
    _description = "Commitment Obligation"
    _inherit = ["credit.workflow.mixin"]
    _order = "template_id, sequence, id"
    # the council writes them (access rights), until somebody signed the template
    _credit_user_fields = frozenset(
        {"template_id", "sequence", "name", "kind", "target", "rule_ids", "weight"}
    )

    template_id = fields.Many2one(
        "credit.commitment.template", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    name = fields.Char(
        string="Obligation",
        required=True,
        translate=True,
        help="As the subject reads it, e.g. 'Take part in at least 12 community services'.",
    )
    kind = fields.Selection(
        OBLIGATION_KINDS,
        required=True,
        default="services",
        help="Volunteer services / hours: attended volunteer events in the period. "
        "Points earned: points awarded in the period (claims, events, grants; not "
        "commitment bonuses, and reversed lines do not count). Times credited: "
        "awards under the chosen rules. No deduction: no deduction (under the chosen "
        "rules, or any) in the period. Checked by staff: a grid worker or the council "
        "records whether it was met.",
    )
    target = fields.Float(
        string="At Least",
        digits=(12, 1),
        help="The number of services, hours, points or times the subject must reach.",
    )
    rule_ids = fields.Many2many(
        "credit.rule",
        string="Rules",
        help="Times credited: the rules that count. No deduction: the rules that must "
        "not deduct (empty: any deduction breaks the obligation).",
    )
    weight = fields.Integer(
        default=1,
        help="Weight of this obligation in the commitment's score (0-100), which "
        "feeds the unit score of organisations.",
    )

    @api.constrains("kind", "target", "rule_ids", "weight")
    def _check_target(self):
        for obligation in self:
            if obligation.kind in COUNTED_KINDS and obligation.target <= 0:
                raise ValidationError(
                    self.env._(
                        "Obligation '%(name)s' needs a target above zero.", name=obligation.name
                    )
                )
            if obligation.kind == "rule_lines" and not obligation.rule_ids:
                raise ValidationError(
                    self.env._(
                        "Obligation '%(name)s' counts awards under some rules: choose them.",
                        name=obligation.name,
                    )
                )
            if obligation.weight < 0:
                raise ValidationError(self.env._("An obligation's weight cannot be negative."))

    def _measure_text(self):
        """How the evaluation measures this obligation, as the subject reads it
        before signing: what counts, and how much of it is needed."""
        self.ensure_one()
        # sudo: the names of the rules that count, which the subject may not all read
        rules = "、".join(self.sudo().rule_ids.mapped("name"))
        target = format(self.target, "g")
        if self.kind == "services":
            return self.env._(
                "Counted: the volunteer events you attend in the period. Needed: at least "
                "%(target)s.",
                target=target,
            )
        if self.kind == "hours":
            return self.env._(
                "Counted: your hours of volunteer service in the period. Needed: at least "
                "%(target)s hours.",
                target=target,
            )
        if self.kind == "points":
            return self.env._(
                "Counted: the points you earn in the period (good deeds, events, grants; "
                "not the bonus of a commitment). Needed: at least %(target)s.",
                target=target,
            )
        if self.kind == "rule_lines":
            return self.env._(
                "Counted: the times you earn points for %(rules)s in the period. Needed: "
                "at least %(target)s.",
                rules=rules,
                target=target,
            )
        if self.kind == "no_deduction" and rules:
            return self.env._(
                "Broken by any deduction for %(rules)s in the period. Deductions for "
                "other things do not break it.",
                rules=rules,
            )
        if self.kind == "no_deduction":
            return self.env._(
                "Broken by any deduction in the period, whatever it is for, even a single point."
            )
        return self.env._("Checked by your grid worker or the council when the period ends.")

    def _check_template_unsigned(self):
        # sudo: every signature counts, also of subjects the user may not see
        signed = (
            self.env["credit.commitment"]
            .sudo()
            .search_count(
                [("template_id", "in", self.template_id.ids), ("state", "!=", "draft")], limit=1
            )
        )
        if signed:
            raise ValidationError(
                self.env._(
                    "Somebody has signed this commitment: its obligations can no longer "
                    "change. Archive the template and offer a new version instead."
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        obligations = super().create(vals_list)
        obligations._check_template_unsigned()
        # the obligations decide who earns the template's rules
        obligations.template_id._check_obligations_setter()
        return obligations

    def write(self, vals):
        self._check_template_unsigned()
        templates = self.template_id
        result = super().write(vals)
        if "template_id" in vals:
            self._check_template_unsigned()  # nor moved into a signed one
        if MEASURE_FIELDS & set(vals):
            (templates | self.template_id)._check_obligations_setter()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_if_unsigned(self):
        self._check_template_unsigned()
        self.template_id._check_obligations_setter()
