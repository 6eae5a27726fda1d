import logging
from collections import defaultdict
from datetime import timedelta

from psycopg2.errors import UniqueViolation

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .credit_ledger_line import CONFLICTS, period_start
from .utils import attach_evidence, check_caller, html_text, mask_name

CLAIM_STATES = [
    ("draft", "Draft"),
    ("review", "Review Group"),
    ("council", "Council Re-check"),
    ("published", "Published"),
    ("done", "Posted"),
    ("rejected", "Rejected"),
    ("cancelled", "Cancelled"),
]
# states in which a claim holds its subject + rule + date (no second claim for it)
ACTIVE_STATES = ("review", "council", "published", "done")
WAITING_STATES = ("review", "council")
# fields only the workflow methods change
WORKFLOW_FIELDS = {
    "name",
    "state",
    "submitted_by_id",
    "declared_as",
    "submit_date",
    "place_id",
    "publication_place_id",
    "community_id",
    "review_group_id",
    "deadline",
    "escalated",
    "reviewer_id",
    "review_date",
    "council_user_id",
    "council_date",
    "publish_date",
    "publish_until",
    "decision_reason",
    "posted_date",
    "post_error",
}
CONTENT_FIELDS = {"rule_id", "date", "description", "partner_ids", "attachment_ids"}
_logger = logging.getLogger(__name__)
ACTIVITY_REVIEW = "community_credit.mail_act_credit_claim_review"
ACTIVITY_COUNCIL = "community_credit.mail_act_credit_claim_council"
ACTIVITY_ESCALATION = "community_credit.mail_act_credit_claim_escalation"
CHUNK = 1000
# photos a resident may add to one claim from the portal
MAX_PORTAL_FILES = 5


class CreditClaim(models.Model):
    _name = "credit.claim"
    _description = "Credit Claim"
    _inherit = ["credit.workflow.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True
    # what the declarant fills in (in draft only, see write); the rest is the workflow's
    _credit_user_fields = frozenset(CONTENT_FIELDS)
    _credit_create_fields = frozenset({"company_id"})
    # a delegated declarant names residents they cannot open: see _check_subjects_named
    _credit_linked_own_check = frozenset({"partner_ids"})

    name = fields.Char(
        string="Reference",
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: self.env._("New"),
    )
    rule_id = fields.Many2one(
        "credit.rule",
        required=True,
        tracking=True,
        check_company=True,
        index=True,
        domain="[('company_id', '=', company_id)]",
    )
    points = fields.Integer(related="rule_id.points", string="Points per Subject", readonly=True)
    date = fields.Date(
        required=True,
        tracking=True,
        default=fields.Date.context_today,
        help="The day of the good deed (or of the behaviour deducted).",
    )
    description = fields.Text(string="What Happened")
    partner_ids = fields.Many2many(
        "res.partner",
        "credit_claim_res_partner_rel",
        "claim_id",
        "partner_id",
        string="Subjects",
        domain=[("credit_is_subject", "=", True)],
        help="Everyone who did it: one claim can cover 30 residents who cleaned a stairwell.",
    )
    subject_count = fields.Integer(compute="_compute_subject_count")
    total_points = fields.Integer(compute="_compute_subject_count")
    public_names = fields.Char(
        string="Names (as published)",
        compute="_compute_public_names",
        compute_sudo=True,
    )
    line_ids = fields.One2many("credit.claim.line", "claim_id", string="Subjects' Lines")
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "credit_claim_ir_attachment_rel",
        "claim_id",
        "attachment_id",
        string="Evidence",
        help="Photos or documents showing what happened.",
    )
    # no tracking: every step is logged in the chatter by the workflow itself
    state = fields.Selection(
        CLAIM_STATES,
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        index=True,
    )
    submitted_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        default=lambda self: self.env.user,
        index=True,
    )
    declared_as = fields.Selection(
        [
            ("self", "Self-declared"),
            ("staff", "Entered by staff"),
            ("delegate", "Delegated declarant"),
        ],
        readonly=True,
        copy=False,
    )
    submit_date = fields.Datetime(readonly=True, copy=False)
    place_id = fields.Many2one(
        "credit.place",
        readonly=True,
        copy=False,
        index=True,
        help="The place all subjects of the claim have in common.",
    )
    publication_place_id = fields.Many2one(
        "credit.place",
        string="Published In",
        readonly=True,
        copy=False,
        index=True,
        help="The estate or grid whose residents see the claim while it is published.",
    )
    community_id = fields.Many2one("credit.place", readonly=True, copy=False, index=True)
    review_group_id = fields.Many2one("credit.review.group", readonly=True, copy=False, index=True)
    deadline = fields.Date(
        readonly=True, copy=False, help="When the current review stage should be done."
    )
    escalated = fields.Boolean(readonly=True, copy=False)
    reviewer_id = fields.Many2one("res.users", string="Certified By", readonly=True, copy=False)
    review_date = fields.Datetime(string="Certified On", readonly=True, copy=False)
    council_user_id = fields.Many2one(
        "res.users", string="Re-checked By", readonly=True, copy=False
    )
    council_date = fields.Datetime(string="Re-checked On", readonly=True, copy=False)
    publish_date = fields.Date(string="Published On", readonly=True, copy=False)
    publish_until = fields.Date(string="Objections Until", readonly=True, copy=False)
    decision_reason = fields.Text(
        string="Reason Given",
        readonly=True,
        copy=False,
        help="Why the claim was rejected or sent back.",
    )
    posted_date = fields.Datetime(string="Points Posted On", readonly=True, copy=False)
    post_error = fields.Text(readonly=True, copy=False)
    objection_ids = fields.One2many("credit.claim.objection", "claim_id", string="Objections")
    objection_count = fields.Integer(compute="_compute_objection_count")
    open_objection_count = fields.Integer(compute="_compute_objection_count")
    ledger_line_count = fields.Integer(compute="_compute_ledger_line_count")
    can_review = fields.Boolean(compute="_compute_can_review")
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )

    @api.depends("partner_ids", "rule_id.points")
    def _compute_subject_count(self):
        for claim in self:
            claim.subject_count = len(claim.partner_ids)
            claim.total_points = claim.subject_count * claim.rule_id.points

    @api.depends("partner_ids.name", "community_id.claim_mask_names")
    def _compute_public_names(self):
        for claim in self:
            names = claim.partner_ids.mapped("name")
            if claim.community_id.claim_mask_names or not claim.community_id:
                names = [mask_name(n) for n in names]
            claim.public_names = ", ".join(names)

    @api.depends("objection_ids.state")
    def _compute_objection_count(self):
        for claim in self:
            claim.objection_count = len(claim.objection_ids)
            claim.open_objection_count = len(
                claim.objection_ids.filtered(lambda o: o.state == "open")
            )

    @api.depends("line_ids.ledger_line_id")
    def _compute_ledger_line_count(self):
        for claim in self:
            claim.ledger_line_count = len(claim.line_ids.ledger_line_id)

    @api.depends_context("uid")
    @api.depends("state", "submitted_by_id", "partner_ids", "review_group_id", "place_id")
    def _compute_can_review(self):
        for claim in self:
            try:
                claim._check_reviewer(claim.state)
            except (UserError, AccessError):
                claim.can_review = False
            else:
                claim.can_review = claim.state in WAITING_STATES

    # ----------------------------------------------------------------- CRUD
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if set(vals) & (WORKFLOW_FIELDS - {"name"}) and not self.env.su:
                raise UserError(
                    self.env._("A new claim starts as a draft; submit it with the button.")
                )
            vals.pop("name", None)
        claims = super().create(vals_list)
        if any("partner_ids" in vals for vals in vals_list):
            claims._check_subjects_named()
        claims._sync_lines()
        return claims

    def write(self, vals):
        if not self.env.su:
            if set(vals) & WORKFLOW_FIELDS:
                raise UserError(
                    self.env._(
                        "The state and review of a claim change only through its buttons "
                        "(submit, approve, reject, send back)."
                    )
                )
            if set(vals) & CONTENT_FIELDS:
                locked = self.filtered(lambda c: c.state != "draft")
                if locked:
                    raise UserError(
                        self.env._(
                            "Claim %(claim)s is %(state)s: it can no longer be changed. "
                            "A reviewer can send it back to draft for corrections.",
                            claim=locked[0].name,
                            state=dict(self._fields["state"]._description_selection(self.env))[
                                locked[0].state
                            ],
                        )
                    )
        if "partner_ids" in vals and not self.env.su:
            # a refused name leaves nothing behind, even where the caller goes on
            with self.env.cr.savepoint():
                result = super().write(vals)
                self._check_subjects_named()
        else:
            result = super().write(vals)
        if {"partner_ids", "rule_id"} & set(vals):
            self._sync_lines()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        if any(claim.state not in ("draft", "cancelled") for claim in self):
            raise UserError(
                self.env._(
                    "Only draft or cancelled claims can be deleted; the others are part "
                    "of the review record."
                )
            )

    def _check_subjects_named(self):
        """Users name only subjects they may see, except a delegated declarant
        naming the residents their rule covers (checked again at submission)."""
        if self.env.su:
            return
        for claim in self:
            subjects = claim.sudo().partner_ids
            hidden = subjects - subjects.with_env(self.env)._filtered_access("read")
            if hidden and self.env.user not in claim.sudo().rule_id.delegate_user_ids:
                raise AccessError(
                    self.env._(
                        "You may only name subjects you can see: residents declare their "
                        "own good deeds, grid workers those of the residents of their places."
                    )
                )

    def _workflow(self):
        """The claim as the workflow writes it, once the public action checked
        the caller: workflow fields are refused to everybody else."""
        return self.sudo()

    def _sync_lines(self):
        """One line per subject, mirroring partner_ids of draft claims."""
        # sudo: lines mirror a claim the user may write; nobody edits them directly
        Line = self.env["credit.claim.line"].sudo()
        to_create = []
        to_unlink = Line
        for claim in self.filtered(lambda c: c.state == "draft"):
            existing = claim.sudo().line_ids
            wanted = claim.sudo().partner_ids
            to_unlink |= existing.filtered(lambda ln, w=wanted: ln.partner_id not in w)
            have = existing.partner_id
            to_create += [
                {"claim_id": claim.id, "partner_id": partner.id}
                for partner in wanted
                if partner not in have
            ]
        to_unlink.unlink()
        Line.create(to_create)

    # --------------------------------------------------------------- checks
    def _check_declarant(self):
        """May the current user submit this claim? Returns how it is declared."""
        self.ensure_one()
        user = self.env.user
        partners = self.sudo().partner_ids
        rule = self.sudo().rule_id
        if user.has_group("community_credit.group_credit_manager"):
            return "staff"
        if user.has_group("community_credit.group_credit_grid_worker"):
            places = user.sudo().credit_place_ids
            outside = partners.filtered(lambda p: not p.credit_place_id._is_within(places))
            if not outside:
                return "staff"
            if user not in rule.delegate_user_ids:
                raise AccessError(
                    self.env._(
                        "%(subject)s does not live in the places you look after: you "
                        "cannot enter a claim for them.",
                        subject=outside[0].name,
                    )
                )
        if user in rule.delegate_user_ids:
            community = rule.community_id or user.partner_id.sudo().credit_community_id
            outside = partners.filtered(lambda p: p.credit_community_id != community)
            if outside:
                raise AccessError(
                    self.env._(
                        "You may declare rule %(rule)s only for subjects of %(community)s; "
                        "%(subject)s is not one of them.",
                        rule=rule.display_name,
                        community=community.display_name or self.env._("your community"),
                        subject=outside[0].name,
                    )
                )
            return "delegate"
        if partners != user.partner_id:
            raise AccessError(
                self.env._(
                    "You can declare good deeds for yourself only. Ask your grid worker "
                    "to enter a claim for other people."
                )
            )
        if not rule.self_declare:
            raise UserError(
                self.env._(
                    "Rule %(rule)s cannot be declared by residents themselves; your grid "
                    "worker or a review group can enter it.",
                    rule=rule.display_name,
                )
            )
        return "self"

    def _check_daily_limit(self):
        """Residents declare at most the community's number of claims per day."""
        self.ensure_one()
        community = self.env.user.partner_id.sudo().credit_community_id
        limit = community.claim_daily_limit if community else 5
        today_start = fields.Datetime.to_datetime(fields.Date.context_today(self))
        count = self.sudo().search_count(
            [
                ("submitted_by_id", "=", self.env.uid),
                ("declared_as", "=", "self"),
                ("submit_date", ">=", today_start),
                ("id", "!=", self.id),
            ]
        )
        if count >= limit:
            raise UserError(
                self.env._(
                    "You have already declared %(count)s good deeds today, the most "
                    "%(community)s accepts in one day. Please declare the others tomorrow.",
                    count=count,
                    community=community.display_name or "",
                )
            )

    def _check_content(self):
        """The claim could be posted as it stands: rule, date, evidence, policy,
        caps and no second claim for the same subject, rule and day."""
        Ledger = self.env["credit.ledger.line"]
        today = fields.Date.context_today(self)
        for claim in self.sudo():  # reading subjects' places the declarant may not open
            if not claim.partner_ids:
                raise UserError(
                    self.env._("Claim %(claim)s has no subject: add who did it.", claim=claim.name)
                )
            if claim.date > today:
                raise UserError(
                    self.env._(
                        "%(date)s is in the future: declare a good deed once it is done.",
                        date=claim.date,
                    )
                )
            company = claim.partner_ids.credit_community_id.company_id or claim.company_id
            if company != claim.company_id or len(company) > 1:
                raise UserError(
                    self.env._(
                        "The subjects of claim %(claim)s belong to another company.",
                        claim=claim.name,
                    )
                )
            for partner in claim.partner_ids:
                Ledger._check_rule_applies(
                    {
                        "company_id": claim.company_id.id,
                        "date": claim.date,
                        "points": claim.rule_id.points,
                        "attachment_ids": claim.attachment_ids.ids,
                    },
                    partner,
                    claim.rule_id,
                )
        self._check_duplicates()
        self._check_caps()

    def _check_duplicates(self):
        self.env["credit.claim.line"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT mine.claim_id, other.claim_id, mine.partner_id
              FROM credit_claim_line mine
              JOIN credit_claim c ON c.id = mine.claim_id
              JOIN credit_claim_line other
                ON other.partner_id = mine.partner_id
               AND other.rule_id = c.rule_id
               AND other.date = c.date
               AND other.claim_id != mine.claim_id
             WHERE mine.claim_id = ANY(%s)
               AND (other.state IN %s OR other.claim_id = ANY(%s))
             LIMIT 1
            """,
                self.ids,
                ACTIVE_STATES,
                self.ids,
            )
        )
        row = self.env.cr.fetchone()
        if row:
            claim, other = self.browse(row[0]).sudo(), self.browse(row[1]).sudo()
            if other in self:
                raise UserError(
                    self.env._(
                        "%(subject)s appears in two of these claims for %(rule)s on "
                        "%(date)s; the same good deed cannot be claimed twice.",
                        subject=self.env["res.partner"].browse(row[2]).sudo().name,
                        rule=claim.rule_id.display_name,
                        date=claim.date,
                    )
                )
            raise UserError(
                self.env._(
                    "%(subject)s already has claim %(other)s for %(rule)s on %(date)s; "
                    "the same good deed cannot be claimed twice.",
                    subject=self.env["res.partner"].browse(row[2]).sudo().name,
                    other=other.name,
                    rule=claim.rule_id.display_name,
                    date=claim.date,
                )
            )

    def _check_caps(self):
        """Caps count posted points and points still under review."""
        claims = self.sudo()
        rules = claims.rule_id
        capped = claims.filtered(
            lambda c: any(c.rule_id[f"cap_{p}"] for p in ("day", "week", "month", "year"))
        )
        if not capped:
            return
        own = [
            {
                "partner_id": line.partner_id.id,
                "rule_id": claim.rule_id.id,
                "date": claim.date,
                "points": claim.rule_id.points,
            }
            for claim in capped
            for line in claim.line_ids
        ]
        start = min(period_start(v["date"], p) for v in own for p in ("week", "year"))
        end = max(v["date"] for v in own).replace(month=12, day=31) + timedelta(days=6)
        pending = (
            self.env["credit.claim.line"]
            .sudo()
            .search(
                [
                    ("claim_id", "not in", self.ids),
                    ("state", "in", ACTIVE_STATES),
                    ("ledger_line_id", "=", False),
                    ("partner_id", "in", list({v["partner_id"] for v in own})),
                    ("rule_id", "in", rules.ids),
                    ("date", ">=", start),
                    ("date", "<=", end),
                ]
            )
        )
        waiting = [
            {
                "partner_id": line.partner_id.id,
                "rule_id": line.rule_id.id,
                "date": line.date,
                "points": line.claim_id.rule_id.points,
            }
            for line in pending
        ]
        self.env["credit.ledger.line"]._check_caps(waiting + own, rules)

    def _check_decider(self):
        """Each claim of self waits for a review (review group or council) that
        the current user may decide."""
        for claim in self:
            if claim.state not in WAITING_STATES:
                raise UserError(
                    self.env._("Claim %(claim)s is not waiting for a review.", claim=claim.name)
                )
            claim._check_reviewer(claim.state)

    def _check_reviewer(self, stage):
        """May the current user decide at this stage? Nobody decides their own
        claim or a claim that benefits them."""
        self.ensure_one()
        user = self.env.user
        claim = self.sudo()
        if user == claim.submitted_by_id or user.partner_id in claim.partner_ids:
            raise UserError(
                self.env._(
                    "You submitted claim %(claim)s or it benefits you: another reviewer "
                    "must decide it.",
                    claim=claim.name,
                )
            )
        if user.has_group("community_credit.group_credit_manager"):
            return
        if stage != "review" or not user.has_group("community_credit.group_credit_reviewer"):
            raise AccessError(
                self.env._(
                    "Only the council can decide claim %(claim)s at this stage.",
                    claim=claim.name,
                )
            )
        if claim.review_group_id:
            if user not in claim.review_group_id.user_ids:
                raise AccessError(
                    self.env._(
                        "Claim %(claim)s belongs to review group %(group)s, and you are "
                        "not one of its members.",
                        claim=claim.name,
                        group=claim.review_group_id.name,
                    )
                )
            return
        if not claim.place_id._is_within(user.sudo().credit_place_ids):
            raise AccessError(
                self.env._(
                    "Claim %(claim)s is about people outside the places you review.",
                    claim=claim.name,
                )
            )

    # -------------------------------------------------------------- workflow
    def action_submit(self):
        declared = defaultdict(list)
        for claim in self:
            if claim.state != "draft":
                raise UserError(
                    self.env._("Claim %(claim)s has already been submitted.", claim=claim.name)
                )
            declared_as = claim._check_declarant()
            if declared_as == "self":
                claim._check_daily_limit()
            declared[declared_as].append(claim.id)
        self._check_content()
        claims = self._workflow()  # sudo: the declarant was checked just above
        claims._set_places()
        claims._assign_numbers()
        now = fields.Datetime.now()
        for declared_as, ids in declared.items():
            for deadline, group in claims.browse(ids)._group_by_deadline().items():
                group.write(
                    {
                        "state": "review",
                        "declared_as": declared_as,
                        "submit_date": now,
                        "submitted_by_id": self.env.uid,
                        "deadline": deadline,
                        "decision_reason": False,
                        "escalated": False,
                    }
                )
        try:
            with self.env.cr.savepoint():
                self.env.flush_all()
        except UniqueViolation as exc:
            # another claim for the same subject, rule and day was submitted at
            # the same instant and passed the check above before this one
            raise UserError(
                self.env._(
                    "The same good deed was claimed for one of these subjects a moment "
                    "ago: refresh the page to see that claim."
                )
            ) from exc
        claims._log(self.env._("Submitted for review."))
        claims._activity_update()
        return True

    def _assign_numbers(self):
        """Number the claims submitted for the first time (CL/2025/00001), in one
        statement; a claim sent back and submitted again keeps its number."""
        todo = self.filtered(lambda c: not c.submit_date)
        if not todo:
            return
        # sudo: residents number their claims without reading sequences
        Sequence = self.env["ir.sequence"].sudo()
        names = []
        for company, claims in todo.grouped("company_id").items():
            sequence = Sequence.search(
                [("code", "=", "credit.claim"), ("company_id", "in", [company.id, False])],
                order="company_id",
                limit=1,
            )
            if not sequence:
                raise UserError(
                    self.env._("The numbering of claims is missing: ask your administrator.")
                )
            names += [(claim.id, sequence.with_company(company)._next()) for claim in claims]
        self.flush_model(["name"])
        self.env.cr.execute(
            SQL(
                "UPDATE credit_claim c SET name = v.name FROM unnest(%s::int[], %s::varchar[]) "
                "AS v(id, name) WHERE c.id = v.id",
                [n[0] for n in names],
                [n[1] for n in names],
            )
        )
        self.invalidate_recordset(["name"])

    def action_approve(self):
        """Approve at the current stage (review group or council); the last
        stage publishes the claim or posts its points."""
        self._check_decider()
        review = self.filtered(lambda c: c.state == "review")
        council = self.filtered(lambda c: c.state == "council")
        self._check_final_granter(review.filtered(lambda c: not c.community_id.claim_council_stage))
        self._check_final_granter(council)
        now = fields.Datetime.now()
        # sudo: the reviewer's right was checked per claim above
        review = review._workflow()
        council = council._workflow()
        review.write({"reviewer_id": self.env.uid, "review_date": now})
        council.write({"council_user_id": self.env.uid, "council_date": now})
        review._log(self.env._("Certified by the review group."))
        council._log(self.env._("Re-checked and approved by the council."))
        to_council = review.filtered(lambda c: c.community_id.claim_council_stage)
        for deadline, claims in to_council._group_by_deadline().items():
            claims.write({"state": "council", "deadline": deadline, "escalated": False})
        (review - to_council | council)._publish_or_post()
        (review | council)._activity_update()
        return True

    def _check_final_granter(self, claims):
        user = self.env.user
        for claim in claims.sudo():
            groups = claim.rule_id.granter_group_ids
            if groups and not (groups & user.groups_id):
                raise AccessError(
                    self.env._(
                        "Rule %(rule)s is reserved for %(groups)s: its claims need their approval.",
                        rule=claim.rule_id.display_name,
                        groups=", ".join(groups.mapped("name")),
                    )
                )

    def _publish_or_post(self):
        """Claims that passed their last review stage."""
        today = fields.Date.context_today(self)
        publish = self.filtered(lambda c: c.community_id.claim_publication)
        direct = self - publish
        by_days = defaultdict(lambda: self.browse())
        for claim in publish:
            by_days[claim.community_id.claim_publication_days] |= claim
        for days, claims in by_days.items():
            claims.write(
                {
                    "state": "published",
                    "publish_date": today,
                    "publish_until": today + timedelta(days=days - 1),
                    "deadline": False,
                }
            )
            claims._log(
                lambda claim: self.env._(
                    "Published in %(place)s until %(date)s: residents may object.",
                    place=claim.publication_place_id.display_name,
                    date=claim.publish_until,
                )
            )
        immediate = publish.filtered(lambda c: c.community_id.claim_post_immediately)
        direct.write({"deadline": False})
        (direct | immediate)._post_points()
        direct.filtered(lambda c: c.posted_date).write({"state": "done"})

    def _post_points(self, budget_approval=False):
        """Post the points of each claim once (idempotency key per claim and subject).

        Returns the claims that could not be posted: their error is kept on the
        claim and the council gets an activity; the others are posted. With
        budget_approval (checked by the caller) grants past a budget post.
        """
        claims = self.filtered(lambda c: not c.posted_date)
        if not claims:
            return self.browse()
        try:
            with self.env.cr.savepoint():
                claims._post_points_batch(budget_approval)
            return self.browse()
        except (UserError, AccessError) as exc:
            if len(claims) > 1:
                # find the claims at fault, post the others
                failed = self.browse()
                for claim in claims:
                    failed |= claim._post_points(budget_approval)
                return failed
            error = exc.args[0] if exc.args else str(exc)
        claims.write({"post_error": error})
        claims._log(self.env._("The points could not be posted: %(error)s", error=error))
        claims._activity_update()
        return claims

    def _post_points_batch(self, budget_approval=False):
        lines = self.line_ids.filtered(lambda ln: not ln.ledger_line_id)
        by_company = defaultdict(list)
        for line in lines:
            claim = line.claim_id
            vals = {
                "partner_id": line.partner_id.id,
                "rule_id": claim.rule_id.id,
                "date": claim.date,
                "points": claim.rule_id.points,
                "origin": "claim",
                "origin_ref": f"credit.claim,{claim.id}",
                "idempotency_key": f"claim:{claim.id}:{line.partner_id.id}",
                "description": claim.name + (f": {claim.description}" if claim.description else ""),
                "granted_by_id": (claim.council_user_id or claim.reviewer_id).id or self.env.uid,
                "company_id": claim.company_id.id,
            }
            if claim.attachment_ids:
                vals["attachment_ids"] = [fields.Command.set(claim.attachment_ids.ids)]
            by_company[claim.company_id.id].append((line, vals))
        # sudo: each review step checked its decider; the posting path still
        # checks the rule, the caps, the deduction policy and idempotency
        Ledger = self.env["credit.ledger.line"].sudo()
        for pairs in by_company.values():
            for start in range(0, len(pairs), CHUNK * 5):
                chunk = pairs[start : start + CHUNK * 5]
                posted = Ledger._post(
                    [vals for _line, vals in chunk],
                    check_rights=False,
                    budget_approval=budget_approval,
                )
                self.env["credit.claim.line"].flush_model()
                self.env.cr.execute(
                    SQL(
                        "UPDATE credit_claim_line l SET ledger_line_id = v.ledger_id "
                        "FROM unnest(%s::int[], %s::int[]) AS v(line_id, ledger_id) "
                        "WHERE l.id = v.line_id",
                        [line.id for line, _vals in chunk],
                        posted.ids,
                    )
                )
        self.env["credit.claim.line"].invalidate_model(["ledger_line_id"])
        self.write({"posted_date": fields.Datetime.now(), "post_error": False})
        self._log(self.env._("Points posted to the ledger."))

    def action_retry_post(self):
        """Council: try again to post claims whose posting failed."""
        return self._retry_post()

    def action_post_past_budget(self):
        """Council: post claims whose posting failed on a budget, past it; the
        overrun is recorded with the council member's name."""
        return self._retry_post(budget_approval=True)

    def _retry_post(self, budget_approval=False):
        if not self.env.user.has_group("community_credit.group_credit_manager"):
            raise AccessError(self.env._("Only the council can post a claim's points."))
        self.check_access("read")
        claims = self.filtered(lambda c: c.post_error)._workflow()
        claims.post_error = False
        failed = claims._post_points(budget_approval)
        today = fields.Date.context_today(self)
        ok = claims - failed
        ok.filtered(lambda c: c.state != "published" or c.publish_until < today).write(
            {"state": "done"}
        )
        claims._activity_update()
        return True

    def action_reject_wizard(self):
        return self._open_decision("reject")

    def action_send_back_wizard(self):
        return self._open_decision("send_back")

    def _open_decision(self, decision):
        self.check_access("read")
        self._check_decider()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reject Claims")
            if decision == "reject"
            else self.env._("Send Claims Back"),
            "res_model": "credit.claim.decision.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_claim_ids": self.ids, "default_decision": decision},
        }

    def action_reject(self, reason):
        """Reject at a review stage; the reason is told to the submitter and subjects."""
        reason = self._require_reason(reason)
        self._check_decider()
        claims = self._workflow()  # sudo: deciders checked above
        claims.write({"state": "rejected", "decision_reason": reason, "deadline": False})
        claims._activity_update()
        claims._log(self.env._("Rejected: %(reason)s", reason=reason))
        # sudo: each subject is told, with the reason and how to appeal
        self.env["credit.notice"].sudo()._create_for_claims(claims)
        claims._notify_submitter(
            lambda c: self.env._(
                "Your claim %(claim)s was rejected: %(reason)s", claim=c.name, reason=reason
            ),
            noticed=True,
        )
        return True

    def action_send_back(self, reason):
        """Return to the submitter as a draft, to complete or correct it."""
        reason = self._require_reason(reason)
        self._check_decider()
        claims = self._workflow()  # sudo: deciders checked above
        claims.write({"state": "draft", "decision_reason": reason, "deadline": False})
        claims._activity_update()
        claims._log(self.env._("Sent back to the submitter: %(reason)s", reason=reason))
        claims._notify_submitter(
            lambda c: self.env._(
                "Your claim %(claim)s was sent back for changes: %(reason)s",
                claim=c.name,
                reason=reason,
            ),
        )
        return True

    def action_cancel(self):
        for claim in self:
            if claim.state not in ("draft", "review"):
                raise UserError(
                    self.env._(
                        "Claim %(claim)s is already decided or in the council's hands; it "
                        "cannot be cancelled now.",
                        claim=claim.name,
                    )
                )
            is_manager = self.env.user.has_group("community_credit.group_credit_manager")
            if claim.submitted_by_id != self.env.user and not is_manager:
                raise AccessError(
                    self.env._("Only the submitter can cancel claim %(claim)s.", claim=claim.name)
                )
        claims = self._workflow()  # sudo: submitter checked above
        claims.write({"state": "cancelled", "deadline": False})
        claims._activity_update()
        claims._log(self.env._("Cancelled."))
        return True

    def action_reset_draft(self):
        for claim in self:
            if claim.state != "cancelled":
                raise UserError(self.env._("Only cancelled claims can be set back to draft."))
            if claim.submitted_by_id != self.env.user:
                raise AccessError(
                    self.env._("Only the submitter can reopen claim %(claim)s.", claim=claim.name)
                )
        self._workflow().write({"state": "draft"})
        return True

    def _add_evidence(self, name, datas):
        """Attach a photo or PDF (base64) to a draft claim the user may change;
        for residents, who cannot create attachments themselves."""
        self.ensure_one()
        self.check_access("write")
        if self.state != "draft":
            raise UserError(
                self.env._(
                    "Claim %(claim)s is under review: its evidence can no longer be changed.",
                    claim=self.name,
                )
            )
        # the claim's write access was checked above
        attachment = attach_evidence(self, name, datas)
        self._workflow().write({"attachment_ids": [Command.link(attachment.id)]})
        return attachment.id

    # --------------------------------------------------------------- portal
    @api.model
    def _portal_declare(self, rule_id, date, description, files=()):
        """A resident declares a good deed of their own from the portal: the
        claim, its photos and its submission all happen, or none of it does.
        `files` are (name, base64 data) pairs. Returns the submitted claim."""
        partner = self.env.user.partner_id
        rule = (
            self.env["credit.rule"]._portal_declarable(partner).filtered(lambda r: r.id == rule_id)
        )
        if not rule:
            raise UserError(self.env._("Choose one of the good deeds in the list."))
        if not date:
            raise UserError(self.env._("Say on which day it happened."))
        with self.env.cr.savepoint():
            claim = self.create(
                {
                    "rule_id": rule.id,
                    "date": date,
                    "description": (description or "").strip() or False,
                    "partner_ids": [Command.set(partner.ids)],
                }
            )
            claim._portal_add_evidence(files)
            claim.action_submit()
        return claim

    def _portal_add_evidence(self, files):
        """Add photos to one's own draft claim from the portal, at most
        MAX_PORTAL_FILES per claim."""
        self.ensure_one()
        files = [(name, datas) for name, datas in files if datas]
        if len(self.sudo().attachment_ids) + len(files) > MAX_PORTAL_FILES:
            raise UserError(
                self.env._("Add at most %(count)s photos to one claim.", count=MAX_PORTAL_FILES)
            )
        for name, datas in files:
            self._add_evidence(name, datas)
        return True

    def _portal_resubmit(self, files=()):
        """The resident completes a claim sent back to them and submits it again."""
        self.ensure_one()
        if self.sudo().submitted_by_id != self.env.user:
            raise AccessError(self.env._("You can only change the claims you declared."))
        with self.env.cr.savepoint():
            self._portal_add_evidence(files)
            self.action_submit()
        return True

    def action_view_ledger(self):
        self.ensure_one()
        check_caller(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_ledger_line_action"
        )
        action["domain"] = [("id", "in", self.line_ids.ledger_line_id.ids)]
        action["context"] = {}
        return action

    def _object(self, reason):
        """A resident of the publication place objects to this published claim."""
        self.ensure_one()
        # a refused objection leaves nothing behind, even where the caller goes on
        with self.env.cr.savepoint():
            return self.env["credit.claim.objection"].create(
                {"claim_id": self.id, "reason": reason}
            )

    def _withdraw(self, reason):
        """An upheld objection: reverse whatever was posted and reject the claim."""
        for claim in self:
            posted = claim.line_ids.ledger_line_id.filtered(lambda ln: ln.state == "posted")
            if posted:
                posted._reverse(reason)
        self.write({"state": "rejected", "decision_reason": reason})
        self._log(self.env._("Withdrawn: %(reason)s", reason=reason))
        # sudo: each subject is told, as for any rejected claim, and may appeal
        self.env["credit.notice"].sudo()._create_for_claims(self)
        self._notify_submitter(
            lambda c: self.env._(
                "Your claim %(claim)s was withdrawn after an objection: %(reason)s",
                claim=c.name,
                reason=reason,
            ),
            noticed=True,
        )

    # --------------------------------------------------------------- helpers
    def _require_reason(self, reason):
        if not reason or not str(reason).strip():
            raise UserError(self.env._("Give a reason: the submitter will read it."))
        return str(reason).strip()

    def _log(self, body):
        """One chatter note per claim, in one batch; body is a text or a function
        of the claim that returns one."""
        if self:
            self._message_log_batch(
                {claim.id: html_text(body(claim) if callable(body) else body) for claim in self},
                author_id=self.env.user.partner_id.id,
            )

    def _notify_submitter(self, body_for, noticed=False):
        """Tell the submitter about a decision, in their inbox or by e-mail.
        `noticed`: the subjects were sent a notice (with how to appeal), so a
        submitter who is one of them is not told twice."""
        for claim in self:
            partners = claim.submitted_by_id.partner_id
            if noticed:
                partners -= claim.partner_ids
            partners -= self.env.user.partner_id
            if partners:
                claim.message_notify(
                    partner_ids=partners.ids, body=html_text(body_for(claim)), subject=claim.name
                )

    def _set_places(self):
        """Common place of the subjects, the estate or grid that publishes the
        claim, its community and review group."""
        groups = (
            self.env["credit.review.group"]
            .sudo()
            .search([("community_id", "in", self.partner_ids.credit_community_id.ids)])
        )
        Place = self.env["credit.place"]
        by_values = defaultdict(list)
        for claim in self:
            paths = [p.credit_place_id.parent_path or "" for p in claim.partner_ids]
            common = paths[0].split("/")[:-1]
            for path in paths[1:]:
                parts = path.split("/")[:-1]
                n = 0
                while n < min(len(common), len(parts)) and common[n] == parts[n]:
                    n += 1
                common = common[:n]
            place = Place.browse(int(common[-1])) if common else Place
            community = place.community_id
            publication = place
            while publication and publication.place_type not in ("estate", "grid", "community"):
                publication = publication.parent_id
            group = groups.filtered(lambda g, p=place: p and p._is_within(g.place_ids))[:1]
            key = (place.id, community.id, (publication or community).id, group.id)
            by_values[key].append(claim.id)
        for (place, community, publication, group), ids in by_values.items():
            self.browse(ids).write(
                {
                    "place_id": place,
                    "community_id": community,
                    "publication_place_id": publication,
                    "review_group_id": group,
                }
            )

    def _stage_deadline(self):
        days = self.community_id.claim_review_days or 7
        return fields.Date.context_today(self) + timedelta(days=days)

    def _group_by_deadline(self):
        groups = defaultdict(lambda: self.browse())
        for claim in self:
            groups[claim._stage_deadline()] |= claim
        return groups

    def _stage_user(self):
        self.ensure_one()
        if self.state == "review" and self.review_group_id:
            return self.review_group_id.leader_id or self.review_group_id.user_ids[:1]
        return self.community_id.claim_council_user_id

    def _activity_update(self):
        """The activities each claim's state calls for, from this one place (as
        hr_holidays' activity_update): whoever must act next on a claim under
        review (group leader) or with the council (its secretary); the council's
        escalation while a review is overdue or the points could not be posted;
        nothing once the claim has left those states. An activity already there
        is kept, one missing is added, one no longer called for is removed.
        Batches do not e-mail each activity: the reminder cron sends a digest."""
        quiet = self.with_context(mail_activity_quick_update=len(self) > 1)
        today = fields.Date.context_today(self)
        types = {
            xmlid: self.env.ref(xmlid).id
            for xmlid in (ACTIVITY_REVIEW, ACTIVITY_COUNCIL, ACTIVITY_ESCALATION)
        }
        # sudo: the workflow keeps the activities of whoever must act, not the caller's
        current = defaultdict(set)
        for activity in (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", self.ids),
                    ("activity_type_id", "in", list(types.values())),
                ]
            )
        ):
            current[activity.res_id].add((activity.activity_type_id.id, activity.user_id.id))
        to_remove = defaultdict(quiet.browse)
        to_add = defaultdict(quiet.browse)
        for claim in quiet:
            wanted = {}  # activity type xmlid: (user, deadline, note)
            council = claim.community_id.claim_council_user_id
            if claim.post_error:
                # approved, but its points could not be posted: the council's turn
                if council:
                    wanted[ACTIVITY_ESCALATION] = (council.id, today, claim.post_error)
            elif claim.state in WAITING_STATES:
                user = claim._stage_user()
                if user:
                    xmlid = ACTIVITY_REVIEW if claim.state == "review" else ACTIVITY_COUNCIL
                    wanted[xmlid] = (user.id, claim.deadline, False)
                if claim.escalated and council:
                    wanted[ACTIVITY_ESCALATION] = (council.id, today, False)
            for xmlid, type_id in types.items():
                here = {user_id for kind, user_id in current[claim.id] if kind == type_id}
                if xmlid not in wanted:
                    if here:
                        to_remove[xmlid] |= claim
                elif wanted[xmlid][0] not in here:
                    if here:
                        to_remove[xmlid] |= claim
                    to_add[(xmlid, *wanted[xmlid])] |= claim
        for xmlid, claims in to_remove.items():
            claims.activity_unlink([xmlid])
        for (xmlid, user_id, deadline, note), claims in to_add.items():
            # no summary: the activity type's name shows, in each reader's language
            claims.activity_schedule(
                xmlid,
                date_deadline=deadline or today,
                user_id=user_id,
                note=note or "",
            )

    # ------------------------------------------------------------------ crons
    @api.model
    def _cron_close_publications(self, limit=5000):
        """Post the claims whose publication window has closed without an open or
        upheld objection, `limit` at a time (the cron runs again while some are
        left). A re-run posts nothing twice.

        Any number of runs may work at once (the two scheduled actions of this
        job on two nodes): a run takes the claims no other transaction holds
        (FOR UPDATE SKIP LOCKED), with the other claims due of their subjects,
        and posts those whose every subject it holds all the due claims of
        (_lock_due). Two runs then never post for one subject at once: under
        REPEATABLE READ, the one that waited for the other's balance lock would
        fail when the other commits. What another run holds is left to it; if
        that run dies, its claims are still due and the next run takes them
        (see credit.ledger.line._batch_progress). A chunk stopped by a
        concurrent update (another posting for one of its subjects, a budget) is
        rolled back whole and left for the next run; the chunks before it stay.
        Returns the claims dealt with (closed, or kept with the error that
        stopped their posting)."""
        today = fields.Date.context_today(self)
        due = [
            ("state", "=", "published"),
            ("publish_until", "<", today),
            ("post_error", "=", False),
            ("objection_ids", "not any", [("state", "=", "open")]),
        ]
        Claim = self._workflow()
        processed = Claim.browse()
        left = []  # taken, but a subject of theirs has a claim due held elsewhere
        while len(processed) < limit:
            # a chunk takes its rows in its own savepoint: rows locked by the
            # transaction and updated by a savepoint would each need a multixact
            try:
                with self.env.cr.savepoint():
                    chunk, skipped = Claim._lock_due(
                        due, min(CHUNK, limit - len(processed)), skip=left
                    )
                    failed = chunk._post_points()
                    (chunk - failed).write({"state": "done"})
            except CONFLICTS as exc:
                _logger.info("Claims: chunk left for the next run (%s)", exc.pgcode)
                break
            if not chunk and not skipped:
                break
            processed |= chunk  # closed, or kept with its error for the council
            left += skipped
        self.env["credit.ledger.line"]._batch_progress(
            done=len(processed), remaining=Claim.search_count(due)
        )
        return processed

    @api.model
    def _lock_due(self, domain, limit, skip=()):
        """Lock at most `limit` claims of `domain` but `skip` (earliest window
        end first) that no other transaction holds, with the other claims of
        `domain` of their subjects, all until the commit. Those whose every
        subject still to be posted has all its claims of `domain` locked here
        are to be posted: no other run is posting for them. Returns (claims to
        post, ids of those locked but left for the next run)."""
        self.env.flush_all()
        due = self._search(domain).subselect()
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT id FROM credit_claim WHERE id IN %s AND NOT id = ANY(%s)"
                " ORDER BY publish_until, id LIMIT %s FOR UPDATE SKIP LOCKED",
                due,
                list(skip),
                limit,
            ),
            log_exceptions=False,
        )
        mine = [row[0] for row in cr.fetchall()]
        if not mine:
            return self.browse(), []

        def theirs(mine):
            """(claim, subject) of the lines still to post, on the claims due
            not in mine, of the subjects of mine (sets in Python: an array of
            ids compared with each row would be quadratic)"""
            cr.execute(
                SQL(
                    """
                    SELECT l.claim_id, l.partner_id FROM credit_claim_line l
                     WHERE l.claim_id IN %s AND l.ledger_line_id IS NULL
                       AND l.partner_id IN (SELECT partner_id FROM credit_claim_line
                                             WHERE claim_id = ANY(%s) AND ledger_line_id IS NULL)
                    """,
                    due,
                    mine,
                )
            )
            taken = set(mine)
            return [row for row in cr.fetchall() if row[0] not in taken]

        others = [row for row in theirs(mine) if row[0] not in set(skip)]
        if others:
            cr.execute(
                SQL(
                    "SELECT id FROM credit_claim WHERE id = ANY(%s) FOR UPDATE SKIP LOCKED",
                    sorted({claim for claim, _partner in others}),
                ),
                log_exceptions=False,
            )
            locked = sorted(row[0] for row in cr.fetchall())
            if locked:  # their other subjects may have claims due held elsewhere
                mine += locked
                others = theirs(mine)
        # subjects with a claim due that another transaction holds
        left = set(skip)
        held = {partner for claim, partner in others if claim not in left}
        claims = self.browse(mine)
        kept = claims.filtered(
            lambda c: (
                not any(ln.partner_id.id in held for ln in c.line_ids if not ln.ledger_line_id)
            )
        )
        return kept.sorted(lambda c: (c.publish_until, c.id)), (claims - kept).ids

    @api.model
    def _cron_remind_reviewers(self):
        """Remind whoever must act of claims due within a day or overdue (one
        message each), and escalate claims overdue by the community's escalation
        days to its council secretary."""
        today = fields.Date.context_today(self)
        waiting = self.sudo().search(
            [("state", "in", WAITING_STATES), ("deadline", "<=", today + timedelta(days=1))]
        )
        digest = defaultdict(lambda: [0, 0])
        for claim in waiting:
            user = claim._stage_user()
            if user:
                digest[user][0 if claim.deadline >= today else 1] += 1
        for user, (due, overdue) in digest.items():
            self.env["mail.thread"].sudo().message_notify(
                partner_ids=user.partner_id.ids,
                subject=self.env._("Claims waiting for your review"),
                body=html_text(
                    self.env._(
                        "%(due)s claims are due by tomorrow and %(overdue)s are overdue.",
                        due=due,
                        overdue=overdue,
                    )
                ),
                model="res.users",
                res_id=user.id,
            )
        to_escalate = waiting.filtered(
            lambda c: (
                not c.escalated
                and c.deadline + timedelta(days=c.community_id.claim_escalation_days) < today
                and c.community_id.claim_council_user_id
            )
        )._workflow()
        to_escalate.write({"escalated": True})
        to_escalate._activity_update()
        to_escalate._log(self.env._("Escalated to the council: the review is overdue."))
        return to_escalate
