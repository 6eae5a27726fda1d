"""Appeals (申诉) against a deduction or a rejected claim, decided by the council
with a recorded reason; nobody decides an appeal they are close to."""

from datetime import timedelta

from psycopg2.errors import UniqueViolation

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .credit_claim import MAX_PORTAL_FILES
from .utils import attach_evidence, html_text

ACTIVITY_APPEAL = "community_credit.mail_act_credit_appeal"
WORKFLOW_FIELDS = {"state", "decided_by_id", "decided_date", "attachment_ids"}


def _area(place):
    """The estate or grid a place lies in (or is); a place directly in a
    community is its own area; a community has none."""
    area = place
    while area and area.place_type not in ("estate", "grid"):
        area = area.parent_id
    if not area and place.place_type != "community":
        area = place
    return area


class CreditAppeal(models.Model):
    _name = "credit.appeal"
    _description = "Appeal against a Deduction or a Rejection"
    _inherit = ["credit.workflow.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _check_company_auto = True
    _mail_post_access = "read"
    _credit_user_fields = frozenset({"decision_reason"})  # the council, while open
    _credit_create_fields = frozenset({"notice_id", "reason"})

    notice_id = fields.Many2one(
        "credit.notice", required=True, readonly=True, ondelete="restrict", index=True
    )
    partner_id = fields.Many2one(
        related="notice_id.partner_id", string="Subject", store=True, index=True
    )
    kind = fields.Selection(related="notice_id.kind")
    rule_id = fields.Many2one(related="notice_id.rule_id")
    points = fields.Integer(related="notice_id.points")
    notice_reason = fields.Text(related="notice_id.reason", string="Reason Given")
    ledger_line_id = fields.Many2one(related="notice_id.ledger_line_id")
    claim_id = fields.Many2one(related="notice_id.claim_id")
    appeal_deadline = fields.Date(related="notice_id.appeal_deadline")
    community_id = fields.Many2one(related="notice_id.community_id", store=True, index=True)
    appellant_id = fields.Many2one(
        "res.partner",
        required=True,
        readonly=True,
        default=lambda self: self.env.user.partner_id,
        help="Who appeals: the subject, or staff writing it down for them.",
    )
    recorded_by_id = fields.Many2one("res.users", readonly=True)
    reason = fields.Text(string="Why I Appeal", required=True, readonly=True)
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "credit_appeal_ir_attachment_rel",
        "appeal_id",
        "attachment_id",
        string="Evidence",
        readonly=True,
    )
    state = fields.Selection(
        [("open", "Under Review"), ("upheld", "Upheld"), ("dismissed", "Dismissed")],
        default="open",
        required=True,
        readonly=True,
        index=True,
    )
    decision_reason = fields.Text(
        string="Council's Reason", help="Why the council decided so; the appellant reads it."
    )
    decided_by_id = fields.Many2one("res.users", readonly=True)
    decided_date = fields.Datetime(readonly=True)
    can_decide = fields.Boolean(compute="_compute_can_decide")
    company_id = fields.Many2one(
        related="notice_id.company_id", store=True, index=True, string="Company"
    )

    @api.private  # Odoo calls it at install and upgrade; nobody over RPC
    def init(self):
        # one open appeal per notice, also when two arrive at the same instant
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS credit_appeal_open_uniq "
                "ON credit_appeal (notice_id) WHERE state = 'open'"
            )
        )

    @api.depends("notice_id")
    def _compute_display_name(self):
        for appeal in self:
            appeal.display_name = self.env._(
                "Appeal of %(notice)s", notice=appeal.notice_id.display_name
            )

    @api.depends_context("uid")
    @api.depends("state")
    def _compute_can_decide(self):
        for appeal in self:
            try:
                appeal._check_decider()
            except (UserError, AccessError):
                appeal.can_decide = False
            else:
                appeal.can_decide = appeal.state == "open"

    # ----------------------------------------------------------------- CRUD
    @api.model_create_multi
    def create(self, vals_list):
        user = self.env.user
        is_staff = user.has_group("community_credit.group_credit_grid_worker")
        vals_list = [self._credit_checked_vals(vals, creating=True) for vals in vals_list]
        for vals in vals_list:
            if set(vals) & (WORKFLOW_FIELDS | {"decision_reason"}) and not self.env.su:
                raise UserError(self.env._("An appeal starts under review."))
            if not (vals.get("reason") or "").strip():
                raise UserError(
                    self.env._("Say why you appeal: the council reads it before deciding.")
                )
            vals["reason"] = vals["reason"].strip()
            vals["recorded_by_id"] = user.id
            notice = self.env["credit.notice"].browse(vals.get("notice_id"))
            notice.check_access("read")
            subject = notice.sudo().partner_id
            vals["appellant_id"] = subject.id
            if subject != user.partner_id and not is_staff:
                raise AccessError(self.env._("You can only appeal the notices sent to you."))
        self._check_can_appeal(self.env["credit.notice"].browse(v["notice_id"] for v in vals_list))
        try:
            with self.env.cr.savepoint():
                appeals = super().create(vals_list)
                self.env.flush_all()
        except UniqueViolation as exc:
            raise UserError(
                self.env._(
                    "An appeal of this notice arrived a moment ago: the council is "
                    "already looking into it."
                )
            ) from exc
        for appeal in appeals.sudo():  # the council secretary is told, whoever appeals
            appeal._message_log(
                body=html_text(
                    self.env._(
                        "Appeal by %(subject)s: %(reason)s",
                        subject=appeal.partner_id.name,
                        reason=appeal.reason,
                    )
                )
            )
        appeals.sudo()._activity_update()
        return appeals

    def write(self, vals):
        if not self.env.su:
            if "decision_reason" in vals:
                self._check_decider()
                if any(a.state != "open" for a in self):
                    raise UserError(self.env._("This appeal has already been decided."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Appeals are kept on record."))

    @api.model
    def _check_can_appeal(self, notices):
        """The notices can be appealed now: sent, in their window, not appealed yet."""
        today = fields.Date.context_today(self)
        if len(set(notices.ids)) != len(notices.ids):
            raise UserError(self.env._("Appeal each notice once."))
        for notice in notices.sudo():  # reading the notice's window and its other appeals
            if notice.state != "sent":
                raise UserError(
                    self.env._(
                        "This notice has not been sent yet: it can be appealed once it "
                        "reaches the subject."
                    )
                )
            if today > notice.appeal_deadline:
                raise UserError(
                    self.env._(
                        "The time to appeal ended on %(date)s: this decision is final. "
                        "Ask your grid worker if something new has come to light.",
                        date=notice.appeal_deadline,
                    )
                )
            others = notice.appeal_ids
            if others.filtered(lambda a: a.state == "open"):
                raise UserError(
                    self.env._(
                        "You have already appealed this notice; the council is looking into it."
                    )
                )
            if others:
                raise UserError(
                    self.env._(
                        "Your appeal of this notice was decided on %(date)s; it cannot be "
                        "appealed twice.",
                        date=fields.Date.to_date(others[:1].decided_date),
                    )
                )
            if notice.kind == "deduction" and notice.ledger_line_id.state != "posted":
                raise UserError(self.env._("This deduction has already been reversed."))

    def _add_evidence(self, files):
        """Attach photos or PDFs (name, base64) to one's new appeal."""
        self.ensure_one()
        files = [(name, datas) for name, datas in files or () if datas]
        if not files:
            return
        if len(files) > MAX_PORTAL_FILES:
            raise UserError(
                self.env._("Add at most %(count)s photos to one appeal.", count=MAX_PORTAL_FILES)
            )
        # the appeal is the resident's own, made just now
        ids = [attach_evidence(self, name, datas).id for name, datas in files]
        self.sudo().write({"attachment_ids": [Command.link(i) for i in ids]})

    # --------------------------------------------------------------- checks
    def _check_decider(self):
        """The current user may decide: a council member with no part in the case."""
        user = self.env.user
        if not user.has_group("community_credit.group_credit_manager"):
            raise AccessError(self.env._("Only the council decides appeals."))
        me = user.partner_id.sudo()
        for appeal in self.sudo():  # reading the case: line, claim, places, household
            subject = appeal.partner_id
            if me in (appeal.appellant_id, subject) or user == appeal.recorded_by_id:
                raise UserError(
                    self.env._(
                        "You are the appellant of this appeal: another council member must "
                        "decide it."
                    )
                )
            if me.credit_household_id and me.credit_household_id == subject.credit_household_id:
                raise UserError(
                    self.env._(
                        "You live in the same household as %(subject)s: another council "
                        "member must decide this appeal.",
                        subject=subject.name,
                    )
                )
            notice = appeal.notice_id
            line = notice.ledger_line_id
            claim = notice.claim_id or appeal._claim_of_line(line)
            if user in (notice.decided_by_id | line.granted_by_id):
                if line:
                    raise UserError(
                        self.env._(
                            "You granted this deduction: another council member must decide "
                            "this appeal."
                        )
                    )
                raise UserError(
                    self.env._(
                        "You rejected this claim: another council member must decide this appeal."
                    )
                )
            if claim and user in (
                claim.submitted_by_id | claim.reviewer_id | claim.council_user_id
            ):
                raise UserError(
                    self.env._(
                        "You submitted or reviewed claim %(claim)s: another council member "
                        "must decide this appeal.",
                        claim=claim.name,
                    )
                )
            area = _area(subject.credit_place_id)
            place = me.credit_place_id
            if place and (place == subject.credit_place_id or (area and place._is_within(area))):
                raise UserError(
                    self.env._(
                        "You live in %(place)s, like %(subject)s: a council member from "
                        "another estate or grid must decide this appeal.",
                        place=(area or place).display_name,
                        subject=subject.name,
                    )
                )

    def _claim_of_line(self, line):
        """The claim a ledger line was posted for, if any."""
        if line.origin_ref and line.origin_ref.startswith("credit.claim,"):
            claim_id = int(line.origin_ref.split(",")[1])
            return self.env["credit.claim"].sudo().browse(claim_id).exists()
        return self.env["credit.claim"]

    def _activity_update(self):
        """The activities each appeal's state calls for, from this one place (as
        hr_holidays' activity_update): the council secretary decides an open
        appeal within the community's review days; a decided one needs nothing."""
        today = fields.Date.context_today(self)
        decided = self.filtered(lambda a: a.state != "open")
        decided.activity_unlink([ACTIVITY_APPEAL])
        for appeal in self - decided:
            council = appeal.community_id.claim_council_user_id
            if council and not appeal.activity_ids.filtered(
                lambda a, c=council: (
                    a.user_id == c and a.activity_type_id == self.env.ref(ACTIVITY_APPEAL)
                )
            ):
                appeal.activity_schedule(
                    ACTIVITY_APPEAL,
                    date_deadline=today
                    + timedelta(days=appeal.community_id.claim_review_days or 7),
                    user_id=council.id,
                )

    # -------------------------------------------------------------- workflow
    def action_uphold(self):
        """The appeal is right: the deduction is reversed, or the rejected claim
        goes back to its review."""
        return self._decide("upheld")

    def action_dismiss(self):
        """The appeal is not founded: the decision stands and is final."""
        return self._decide("dismissed")

    def _decide(self, decision):
        self._check_decider()
        for appeal in self:
            if appeal.state != "open":
                raise UserError(self.env._("This appeal has already been decided."))
            if not (appeal.decision_reason or "").strip():
                raise UserError(
                    self.env._(
                        "Write the council's reason before deciding: the appellant reads it."
                    )
                )
        # sudo: the council member was checked above; the case moves on its own workflow
        appeals = self.sudo()
        appeals.write(
            {
                "state": decision,
                "decided_by_id": self.env.uid,
                "decided_date": fields.Datetime.now(),
            }
        )
        appeals._activity_update()
        for appeal in appeals:
            reason = appeal.decision_reason.strip()
            label = self.env._("upheld") if decision == "upheld" else self.env._("dismissed")
            appeal._message_log(
                body=html_text(
                    self.env._(
                        "Appeal %(decision)s by %(user)s: %(reason)s",
                        decision=label,
                        user=self.env.user.name,
                        reason=reason,
                    )
                )
            )
            if decision == "upheld":
                appeal._apply_upheld(reason)
            partner = appeal.appellant_id
            lang_appeal = appeal.with_context(lang=partner.lang or self.env.lang)
            lang_appeal.message_notify(
                partner_ids=partner.ids,
                subject=lang_appeal.env._("Your appeal"),
                body=html_text(
                    lang_appeal.env._(
                        "The council %(decision)s your appeal about %(rule)s: %(reason)s",
                        decision=lang_appeal.env._("upheld")
                        if decision == "upheld"
                        else lang_appeal.env._("dismissed"),
                        rule=appeal.rule_id.name or "",
                        reason=reason,
                    )
                ),
            )
        return True

    def _apply_upheld(self, reason):
        self.ensure_one()
        notice = self.notice_id
        if notice.kind == "deduction":
            line = notice.ledger_line_id
            if line.state == "posted":
                line._reverse(self.env._("Appeal upheld: %(reason)s", reason=reason))
            return
        claim = notice.claim_id._workflow()
        if claim.state != "rejected":
            return
        # back to its review, with the council's finding; the claim keeps its number
        claim._check_duplicates()
        claim.write(
            {
                "state": "review",
                "deadline": claim._stage_deadline(),
                "decision_reason": False,
                "escalated": False,
            }
        )
        claim._log(self.env._("Appeal upheld, back to review: %(reason)s", reason=reason))
        claim._activity_update()
