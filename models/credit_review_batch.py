from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .utils import check_caller, html_text

# what reviewers set on a draft batch; the claims are loaded by the button
BATCH_FIELDS = {"stage", "review_group_id", "community_id", "date_to"}


class CreditReviewBatch(models.Model):
    """A review group's monthly certification (or the council's re-check) of many
    claims at once, kept as the record of who certified what and when."""

    _name = "credit.review.batch"
    _description = "Claim Review Batch"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "date_to desc, id desc"
    _check_company_auto = True
    # reviewers and the council (access rights, record rules), in draft; the
    # claims are loaded and certified by the buttons only
    _credit_user_fields = frozenset(BATCH_FIELDS)

    name = fields.Char(compute="_compute_name", store=True)
    stage = fields.Selection(
        [("review", "Review Group"), ("council", "Council Re-check")],
        required=True,
        default="review",
    )
    review_group_id = fields.Many2one("credit.review.group", check_company=True)
    community_id = fields.Many2one(
        "credit.place",
        required=True,
        domain=[("place_type", "=", "community")],
        check_company=True,
    )
    date_to = fields.Date(
        string="Claims Up To",
        required=True,
        default=fields.Date.context_today,
        help="Claims of good deeds done up to this day are taken into the batch.",
    )
    claim_ids = fields.Many2many(
        "credit.claim",
        "credit_review_batch_claim_rel",
        "batch_id",
        "claim_id",
        string="Claims",
    )
    claim_count = fields.Integer(compute="_compute_claim_count")
    excluded_count = fields.Integer(
        readonly=True,
        help="Claims left out because you submitted them or they benefit you: another "
        "reviewer must decide them.",
    )
    state = fields.Selection(
        [("draft", "Draft"), ("done", "Certified")],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
    )
    certified_by_id = fields.Many2one("res.users", readonly=True)
    certified_date = fields.Datetime(readonly=True)
    company_id = fields.Many2one(
        related="community_id.company_id", store=True, readonly=True, index=True
    )

    @api.depends("stage", "review_group_id", "community_id", "date_to")
    def _compute_name(self):
        labels = dict(self._fields["stage"]._description_selection(self.env))
        for batch in self:
            where = batch.review_group_id.name or batch.community_id.name or ""
            batch.name = f"{where} {batch.date_to or ''} ({labels.get(batch.stage, '')})"

    @api.depends("claim_ids")
    def _compute_claim_count(self):
        for batch in self:
            batch.claim_count = len(batch.claim_ids)

    @api.onchange("review_group_id")
    def _onchange_review_group_id(self):
        if self.review_group_id:
            self.community_id = self.review_group_id.community_id

    def write(self, vals):
        vals = self._credit_checked_vals(vals)
        if BATCH_FIELDS & set(vals) and not self.env.su:
            if any(batch.state != "draft" for batch in self):
                raise UserError(self.env._("This batch is already certified."))
            # the claims loaded were those of the batch as it was: load them again
            if self.filtered("claim_ids"):
                vals.update(claim_ids=[fields.Command.clear()], excluded_count=0)
        return super().write(vals)

    def _check_certifier(self):
        check_caller(self)
        self.check_access("write")
        user = self.env.user
        for batch in self:
            if batch.stage == "council" or not batch.review_group_id:
                if not user.has_group("community_credit.group_credit_manager"):
                    raise AccessError(self.env._("Only the council certifies this batch."))
            elif not (
                user in batch.review_group_id.user_ids
                or user.has_group("community_credit.group_credit_manager")
            ):
                raise AccessError(
                    self.env._(
                        "Only members of %(group)s certify its claims.",
                        group=batch.review_group_id.name,
                    )
                )

    def action_load_claims(self):
        """Take every claim waiting at this stage, done up to the batch's day."""
        self._check_certifier()
        for batch in self:
            if batch.state != "draft":
                raise UserError(self.env._("This batch is already certified."))
            domain = [
                ("state", "=", batch.stage),
                ("community_id", "=", batch.community_id.id),
                ("date", "<=", batch.date_to),
            ]
            if batch.stage == "review" and batch.review_group_id:
                domain.append(("review_group_id", "=", batch.review_group_id.id))
            claims = self.env["credit.claim"].search(domain)
            own = claims.filtered(
                lambda c: (
                    c.submitted_by_id == self.env.user or self.env.user.partner_id in c.partner_ids
                )
            )
            # sudo: the claims are the workflow's, the certifier was checked above
            batch.sudo().write(
                {
                    "claim_ids": [fields.Command.set((claims - own).ids)],
                    "excluded_count": len(own),
                }
            )
        return True

    def action_certify(self):
        """Approve every claim of the batch at its stage, in one go."""
        self._check_certifier()
        for batch in self:
            if batch.state != "draft":
                raise UserError(self.env._("This batch is already certified."))
            if not batch.claim_ids:
                raise UserError(self.env._("The batch has no claims: load them first."))
            wrong = batch.claim_ids.filtered(lambda c, b=batch: c.state != b.stage)
            if wrong:
                raise UserError(
                    self.env._(
                        "Claim %(claim)s is no longer waiting at this stage: load the "
                        "claims again.",
                        claim=wrong[0].name,
                    )
                )
            batch.claim_ids.action_approve()
            batch.sudo().write(  # sudo: the certifier was checked above
                {
                    "state": "done",
                    "certified_by_id": self.env.uid,
                    "certified_date": fields.Datetime.now(),
                }
            )
            batch._message_log(
                body=html_text(
                    self.env._("%(count)s claims certified.", count=len(batch.claim_ids))
                )
            )
        return True
