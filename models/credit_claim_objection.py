from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .utils import html_text

ACTIVITY_OBJECTION = "community_credit.mail_act_credit_claim_objection"
DECISION_FIELDS = {"state", "answer", "decided_by_id", "decided_date"}


class CreditClaimObjection(models.Model):
    _name = "credit.claim.objection"
    _description = "Objection to a Published Claim"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "id desc"
    _rec_name = "claim_id"
    _credit_user_fields = frozenset({"answer"})  # the council, while open (see write)
    _credit_create_fields = frozenset({"claim_id", "objector_id", "reason"})

    claim_id = fields.Many2one(
        "credit.claim", required=True, readonly=True, ondelete="restrict", index=True
    )
    objector_id = fields.Many2one(
        "res.partner",
        required=True,
        readonly=True,
        default=lambda self: self.env.user.partner_id,
        index=True,
    )
    recorded_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        default=lambda self: self.env.user,
        help="Staff can record an objection on behalf of a resident.",
    )
    reason = fields.Text(required=True, readonly=True)
    state = fields.Selection(
        [("open", "Under Investigation"), ("upheld", "Upheld"), ("dismissed", "Dismissed")],
        default="open",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
    )
    answer = fields.Text(help="The council's answer, sent to the objector.")
    decided_by_id = fields.Many2one("res.users", readonly=True)
    decided_date = fields.Datetime(readonly=True)
    rule_id = fields.Many2one(related="claim_id.rule_id")
    claim_state = fields.Selection(related="claim_id.state", string="Claim Status")
    publication_place_id = fields.Many2one(
        related="claim_id.publication_place_id", store=True, index=True
    )
    company_id = fields.Many2one(related="claim_id.company_id", store=True)

    @api.model_create_multi
    def create(self, vals_list):
        is_staff = self.env.user.has_group("community_credit.group_credit_grid_worker")
        vals_list = [self._credit_checked_vals(vals, creating=True) for vals in vals_list]
        for vals in vals_list:
            if set(vals) & DECISION_FIELDS and not self.env.su:
                raise UserError(self.env._("An objection starts under investigation."))
            if not (vals.get("reason") or "").strip():
                raise UserError(self.env._("Say why you object: the council will look into it."))
            vals["reason"] = vals["reason"].strip()
            if vals.get("objector_id") and vals["objector_id"] != self.env.user.partner_id.id:
                if not is_staff:
                    raise AccessError(self.env._("You can only object in your own name."))
            vals["recorded_by_id"] = self.env.uid
        objections = super().create(vals_list)
        objections._check_can_object()
        for objection in objections:
            claim = objection.claim_id.sudo()  # the objector may not write the claim
            claim._log(
                self.env._(
                    "Objection by %(objector)s: %(reason)s",
                    objector=objection.objector_id.name,
                    reason=objection.reason,
                )
            )
            council = claim.community_id.claim_council_user_id
            if council:
                claim.activity_schedule(
                    ACTIVITY_OBJECTION,
                    date_deadline=claim.publish_until,
                    summary=self.env._(
                        "Investigate the objection of %(objector)s",
                        objector=objection.objector_id.name,
                    ),
                    user_id=council.id,
                )
        return objections

    def write(self, vals):
        if not self.env.su:
            if set(vals) - {"answer"} - set(self.env["mail.thread"]._fields):
                raise UserError(self.env._("An objection cannot be changed once made."))
            if "answer" in vals:
                self._check_council()
                if any(o.state != "open" for o in self):
                    raise UserError(self.env._("This objection has already been decided."))
        return super().write(vals)

    def _check_can_object(self):
        today = fields.Date.context_today(self)
        for objection in self.sudo():  # reading the objector's place and the claim's window
            claim = objection.claim_id
            if claim.state != "published" or not claim.publish_until:
                raise UserError(
                    self.env._(
                        "Claim %(claim)s is not published: objections are taken only "
                        "during its publication.",
                        claim=claim.name,
                    )
                )
            if today > claim.publish_until:
                raise UserError(
                    self.env._(
                        "The publication of claim %(claim)s ended on %(date)s: it is too "
                        "late to object.",
                        claim=claim.name,
                        date=claim.publish_until,
                    )
                )
            place = objection.objector_id.credit_place_id
            area = claim.publication_place_id
            if not (place and place._is_within(area)):
                raise UserError(
                    self.env._(
                        "Only residents of %(place)s may object to claim %(claim)s.",
                        place=area.display_name,
                        claim=claim.name,
                    )
                )
            community = objection.objector_id.credit_community_id
            limit = community.objection_daily_limit if community else 5
            today_start = fields.Datetime.to_datetime(today)
            made_today = self.search_count(
                [
                    ("objector_id", "=", objection.objector_id.id),
                    ("create_date", ">=", today_start),
                ]
            )
            if made_today > limit:
                raise UserError(
                    self.env._(
                        "You have already objected to %(count)s claims today, the most "
                        "%(community)s accepts in one day. Please come back tomorrow.",
                        count=made_today - 1,
                        community=community.display_name or "",
                    )
                )
            twice = self.search_count(
                [
                    ("claim_id", "=", claim.id),
                    ("objector_id", "=", objection.objector_id.id),
                    ("state", "=", "open"),
                ]
            )
            if twice > 1:
                raise UserError(
                    self.env._(
                        "You already object to claim %(claim)s; the council is looking into it.",
                        claim=claim.name,
                    )
                )

    def _check_council(self):
        if not self.env.user.has_group("community_credit.group_credit_manager"):
            raise AccessError(self.env._("Only the council decides objections."))
        for objection in self:
            claim = objection.claim_id.sudo()
            user = self.env.user
            if user == claim.submitted_by_id or user.partner_id in claim.partner_ids:
                raise UserError(
                    self.env._(
                        "You submitted claim %(claim)s or it benefits you: another council "
                        "member must decide this objection.",
                        claim=claim.name,
                    )
                )
            if user.partner_id == objection.objector_id:
                raise UserError(self.env._("You cannot decide your own objection."))

    def action_uphold(self):
        """The objection is right: the claim is rejected and any points reversed."""
        return self._decide("upheld")

    def action_dismiss(self):
        """The objection is not founded: the claim goes on."""
        return self._decide("dismissed")

    def _decide(self, decision):
        self._check_council()
        for objection in self:
            if objection.state != "open":
                raise UserError(self.env._("This objection has already been decided."))
            if not (objection.answer or "").strip():
                raise UserError(self.env._("Write the answer to the objector before deciding."))
        today = fields.Date.context_today(self)
        objections = self.sudo()  # sudo: the council member was checked above
        objections.write(
            {
                "state": decision,
                "decided_by_id": self.env.uid,
                "decided_date": fields.Datetime.now(),
            }
        )
        # the claim moves on its own workflow
        for objection in objections:
            claim = objection.claim_id._workflow()
            label = self.env._("upheld") if decision == "upheld" else self.env._("dismissed")
            claim._log(
                self.env._(
                    "Objection of %(objector)s %(decision)s: %(answer)s",
                    objector=objection.objector_id.name,
                    decision=label,
                    answer=objection.answer,
                )
            )
            objection.message_notify(
                partner_ids=objection.objector_id.ids,
                subject=self.env._("Your objection to %(claim)s", claim=claim.name),
                body=html_text(
                    self.env._(
                        "The council %(decision)s your objection to claim %(claim)s: %(answer)s",
                        decision=label,
                        claim=claim.name,
                        answer=objection.answer,
                    )
                ),
            )
            if not claim.objection_ids.filtered(lambda o: o.state == "open"):
                claim.activity_unlink([ACTIVITY_OBJECTION])
            if decision == "upheld" and claim.state in ("published", "done"):
                claim._withdraw(self.env._("Objection upheld: %(answer)s", answer=objection.answer))
            elif (
                decision == "dismissed"
                and claim.state == "published"
                and claim.publish_until < today
                and not claim.objection_ids.filtered(lambda o: o.state == "open")
            ):
                # the window closed while the objection was open: post now
                failed = claim._post_points()
                if not failed:
                    claim.write({"state": "done"})
        return True
