"""Credit commitments (信用承诺): a subject signs a template's promise for one
period; at the end of the period every obligation is measured from the ledger
and the volunteer services, and a bonus or a deduction is posted once."""

import logging
from collections import defaultdict
from datetime import timedelta

import psycopg2.errors

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .credit_commitment_obligation import COUNTED_KINDS
from .credit_ledger_line import CONFLICTS, RULE_ORIGINS
from .credit_place import path_within, place_paths
from .credit_workflow_mixin import CheckedVals
from .utils import check_caller, html_text, period_bounds

_logger = logging.getLogger(__name__)
ACTIVITY_COMMITMENT = "community_credit.mail_act_credit_commitment"

STATES = [
    ("draft", "To Sign"),
    ("signed", "Signed"),
    ("fulfilled", "Fulfilled"),
    ("breached", "Broken"),
    ("cancelled", "Cancelled"),
]
SIGN_ORIGINS = [
    ("portal", "Signed online by the subject"),
    ("office", "Signed in person at the office"),
    ("paper", "Signed on paper"),
]
EVALUATED = ("fulfilled", "breached")
GRID = "community_credit.group_credit_grid_worker"
MANAGER = "community_credit.group_credit_manager"
# how staff record a signature; "portal" is the subject's own, online (_portal_sign)
STAFF_SIGN_ORIGINS = ("office", "paper")
CHUNK = 2000
# ledger origins whose awards and deductions count for obligations (a commitment's
# own bonus does not count towards another commitment)
COUNTED_ORIGINS = sorted(RULE_ORIGINS - {"contract"})


class CreditCommitment(models.Model):
    _name = "credit.commitment"
    _description = "Credit Commitment"
    _inherit = ["credit.workflow.mixin", "portal.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "date_from desc, id desc"
    _check_company_auto = True
    # staff prepare an unsigned commitment (write() locks these once signed);
    # the signature, the evaluation and the outcome are the workflow's
    _credit_user_fields = frozenset(
        {"template_id", "partner_id", "date_from", "signer_name", "sign_origin"}
    )

    template_id = fields.Many2one(
        "credit.commitment.template",
        string="Commitment",
        required=True,
        check_company=True,
        ondelete="restrict",
        index=True,
        tracking=True,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Subject",
        required=True,
        ondelete="restrict",
        index=True,
        tracking=True,
    )
    role_id = fields.Many2one(related="template_id.role_id", string="Kind of Subject")
    community_id = fields.Many2one("credit.place", readonly=True, index=True)
    # readonly: the subject's community's (_normalise); the web client sends every
    # editable field of a new record, and write() refuses this one
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        default=lambda self: self.env.company,
        index=True,
    )
    date_from = fields.Date(
        string="Period Start",
        required=True,
        default=fields.Date.context_today,
        help="Any day of the period: the commitment runs from the period's first day.",
    )
    date_to = fields.Date(string="Period End", readonly=True, index=True)
    state = fields.Selection(
        STATES, default="draft", required=True, readonly=True, tracking=True, index=True
    )
    signer_name = fields.Char(
        help="Who signed: the subject, or the person who signed for an organisation."
    )
    sign_origin = fields.Selection(SIGN_ORIGINS, string="Signed", default="office")
    signed_by_id = fields.Many2one("res.users", string="Recorded By", readonly=True)
    signed_on = fields.Datetime(readonly=True)
    sign_ip = fields.Char(string="Signed From", readonly=True)
    accepted_text = fields.Html(
        readonly=True,
        sanitize_overridable=False,
        help="The text of the commitment as it was when the subject signed it.",
    )
    line_ids = fields.One2many("credit.commitment.line", "commitment_id", string="Obligations")
    progress = fields.Char(compute="_compute_progress")
    score = fields.Float(
        readonly=True,
        digits=(5, 1),
        aggregator="avg",
        help="Share of the obligations met, weighted, from 0 to 100 (at evaluation).",
    )
    evaluated_on = fields.Date(readonly=True)
    evaluation_count = fields.Integer(readonly=True, copy=False)
    ledger_line_id = fields.Many2one(
        "credit.ledger.line", string="Points Posted", readonly=True, copy=False
    )
    points = fields.Integer(related="ledger_line_id.points", string="Bonus / Deduction")
    outcome_note = fields.Text(string="Outcome", readonly=True)
    post_error = fields.Text(readonly=True, copy=False)
    reminded_on = fields.Date(readonly=True, copy=False)
    cancel_reason = fields.Text(readonly=True)

    @api.private  # Odoo calls it at install and upgrade; nobody over RPC
    def init(self):
        # one commitment per subject, template and period (cancelled and unsigned
        # ones do not count)
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS credit_commitment_signed_once "
                "ON credit_commitment (partner_id, template_id, date_from) "
                "WHERE state NOT IN ('draft', 'cancelled')"
            )
        )

    @api.depends("template_id", "partner_id", "date_from", "date_to")
    def _compute_display_name(self):
        for commitment in self:
            period = f"{commitment.date_from} ~ {commitment.date_to}" if commitment.date_to else ""
            commitment.display_name = " - ".join(
                filter(None, [commitment.template_id.name, commitment.partner_id.name, period])
            )

    def _compute_access_url(self):  # pylint: disable=missing-return
        super()._compute_access_url()
        for commitment in self:
            commitment.access_url = f"/my/credit/commitments/{commitment.id}"

    @api.depends("line_ids.result", "state")
    def _compute_progress(self):
        for commitment in self:
            lines = commitment.line_ids
            if not lines:
                commitment.progress = False
                continue
            met = len(lines.filtered(lambda ln: ln.progress_met))
            commitment.progress = self.env._("%(met)s of %(total)s met", met=met, total=len(lines))

    # ------------------------------------------------------------------ CRUD
    def _normalise(self, vals, template=None, partner=None):
        template = template or self.env["credit.commitment.template"].browse(
            vals.get("template_id")
        )
        partner = partner or self.env["res.partner"].browse(vals.get("partner_id"))
        if vals.get("date_from") and template:
            start, end = period_bounds(fields.Date.to_date(vals["date_from"]), template.period)
            vals.update(date_from=start, date_to=end)
        if partner:
            community = partner.sudo().credit_community_id
            vals["community_id"] = community.id
            if community.company_id:
                vals["company_id"] = community.company_id.id
        return vals

    @api.model_create_multi
    def create(self, vals_list):
        # the user's values checked first; the period, community and company follow
        vals_list = [self._credit_checked_vals(vals, creating=True) for vals in vals_list]
        for vals in vals_list:
            if vals.get("state", "draft") != "draft":
                raise UserError(self.env._("A new commitment starts unsigned: sign it."))
            vals.setdefault("date_from", fields.Date.context_today(self))
            self._normalise(vals)
        commitments = super().create(vals_list)
        for commitment in commitments:
            commitment._check_offered()
        return commitments

    def write(self, vals):
        vals = self._credit_checked_vals(vals)
        if {"template_id", "partner_id", "date_from"} & set(vals):
            if any(c.state != "draft" for c in self):
                raise UserError(
                    self.env._("A signed commitment cannot change its subject, template or period.")
                )
            for commitment in self:
                super(CreditCommitment, commitment).write(
                    commitment._normalise(
                        CheckedVals(vals, date_from=vals.get("date_from", commitment.date_from)),
                        template=self.env["credit.commitment.template"].browse(
                            vals.get("template_id", commitment.template_id.id)
                        ),
                        partner=self.env["res.partner"].browse(
                            vals.get("partner_id", commitment.partner_id.id)
                        ),
                    )
                )
            self._check_offered()
            if "partner_id" in vals and not self.env.su:
                # record rules are checked before a write only: the subject given
                # must be one of the user's too (staff: of their places)
                self.check_access("write")
            return True
        protected = {"signer_name", "sign_origin"} & set(vals)
        if protected and any(c.state != "draft" for c in self):
            raise UserError(self.env._("The signature of a signed commitment cannot change."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_drafts_only(self):
        if any(c.state != "draft" for c in self):
            raise UserError(
                self.env._("A signed commitment cannot be deleted; the council may cancel it.")
            )

    def _check_offered(self):
        for commitment in self:
            if not commitment.template_id.sudo()._offered_to(commitment.partner_id.sudo()):
                raise ValidationError(
                    self.env._(
                        "%(subject)s cannot sign '%(template)s': it is offered to %(kind)s "
                        "of %(community)s.",
                        subject=commitment.partner_id.name,
                        template=commitment.template_id.name,
                        kind=commitment.template_id.role_id.name,
                        community=commitment.template_id.community_id.display_name
                        or self.env._("every community"),
                    )
                )

    # --------------------------------------------------------------- signing
    def action_sign(self, origin=None, signer_name=None, ip=None):
        """Record the signature: who, when, how and the text accepted; the
        obligations are copied from the template as they stand now.

        Staff record a signature made in person or on paper, for subjects of
        their places; a subject signs online through _portal_sign only."""
        if not self.env.su:
            check_caller(self, GRID)
            self.check_access("write")  # record rules: subjects of the user's places
            ip = None  # where an online signature came from: the portal's to say
        today = fields.Date.context_today(self)
        for commitment in self:
            if commitment.state != "draft":
                raise UserError(
                    self.env._("%(name)s is already signed.", name=commitment.display_name)
                )
            commitment._check_offered()
            template = commitment.template_id.sudo()
            if not template.obligation_ids:
                raise UserError(
                    self.env._(
                        "'%(template)s' has no obligation yet: nothing to sign.",
                        template=template.name,
                    )
                )
            if commitment.date_to < today:
                raise UserError(
                    self.env._(
                        "The period of %(name)s is over: sign for the current period.",
                        name=commitment.display_name,
                    )
                )
            # sudo: every signature of the subject counts, in places the user may not see
            other = self.sudo().search_count(
                [
                    ("partner_id", "=", commitment.partner_id.id),
                    ("template_id", "=", template.id),
                    ("date_from", "=", commitment.date_from),
                    ("state", "not in", ("draft", "cancelled")),
                ]
            )
            if other:
                raise UserError(
                    self.env._(
                        "%(subject)s has already signed '%(template)s' for %(start)s ~ %(end)s.",
                        subject=commitment.partner_id.name,
                        template=template.name,
                        start=commitment.date_from,
                        end=commitment.date_to,
                    )
                )
            sign_origin = origin or commitment.sign_origin or "office"
            if not self.env.su and sign_origin not in STAFF_SIGN_ORIGINS:
                raise UserError(
                    self.env._("Staff record signatures made in person or on paper only.")
                )
            lang = commitment.partner_id.lang or self.env.lang
            # sudo: the signature is the workflow's, the caller was checked above
            signed = commitment.sudo()
            signed.write(
                {
                    "signer_name": signer_name
                    or commitment.signer_name
                    or commitment.partner_id.name,
                    "sign_origin": sign_origin,
                }
            )
            signed.write(
                {
                    "state": "signed",
                    "signed_by_id": self.env.uid,
                    "signed_on": fields.Datetime.now(),
                    "sign_ip": ip or False,
                    "accepted_text": template.with_context(lang=lang).text,
                }
            )
            # sudo: outcomes are written by the evaluation only, nobody creates them
            self.env["credit.commitment.line"].sudo().create(
                [
                    {"commitment_id": commitment.id, "obligation_id": obligation.id}
                    for obligation in template.obligation_ids
                ]
            )
            commitment.message_subscribe(partner_ids=commitment.partner_id.ids)
            commitment._message_log(
                body=html_text(
                    self.env._(
                        "Signed by %(signer)s (%(origin)s).",
                        signer=commitment.signer_name,
                        origin=dict(self._fields["sign_origin"]._description_selection(self.env))[
                            commitment.sign_origin
                        ],
                    )
                )
            )
        self.env.flush_all()  # the unique index speaks now, not at commit
        return True

    @api.model
    def _portal_sign(self, template_id, ip=None):
        """The current user signs template `template_id` for themselves, online;
        returns the signed commitment."""
        partner = self.env.user.partner_id
        Template = self.env["credit.commitment.template"].sudo()
        template = Template.browse(template_id).exists()
        if not template or template not in Template._offered_templates(partner):
            raise UserError(
                self.env._("This commitment is not offered to you, or you have signed it already.")
            )
        # signing one already broken would only record a broken promise (and its
        # deduction) for a deduction made before it was signed: refused
        terms = template._portal_terms(partner)
        if terms["breaking"]:
            line = terms["breaking"][0]
            raise UserError(
                self.env._(
                    "'%(template)s' can no longer be kept for %(start)s ~ %(end)s: the "
                    "deduction of %(date)s for %(rule)s already breaks it, so it cannot be "
                    "signed for this period. If your appeal against that deduction is "
                    "upheld, you may sign it then.",
                    template=template.name,
                    start=terms["start"],
                    end=terms["end"],
                    date=line.date,
                    rule=line.rule_id.name or "",
                )
            )
        try:
            with self.env.cr.savepoint():
                # sudo: residents may not write commitments; the checks above and in
                # action_sign() decide what they may sign
                commitment = self.sudo().create(
                    {"template_id": template.id, "partner_id": partner.id, "sign_origin": "portal"}
                )
                commitment.action_sign(origin="portal", signer_name=partner.name, ip=ip)
        except psycopg2.errors.UniqueViolation:
            raise UserError(
                self.env._("You have already signed '%(template)s'.", template=template.name)
            ) from None
        return commitment.sudo(False)

    def action_cancel(self, reason=None):
        """Staff cancel an unsigned commitment of their places; a running one
        only the council cancels."""
        check_caller(self, GRID)
        self.check_access("write")  # record rules: subjects of the user's places
        for commitment in self:
            if commitment.state in EVALUATED:
                raise UserError(
                    self.env._(
                        "%(name)s has been evaluated; re-evaluate it instead of cancelling.",
                        name=commitment.display_name,
                    )
                )
            if commitment.state == "signed" and not self.env.user.has_group(MANAGER):
                raise AccessError(self.env._("Only the council can cancel a signed commitment."))
        # sudo: the state is the workflow's, the caller was checked above
        self.sudo().write(
            {"state": "cancelled", "cancel_reason": reason if isinstance(reason, str) else False}
        )
        return True

    def action_print(self):
        check_caller(self)
        return self.env.ref("community_credit.action_report_credit_commitment").report_action(self)

    def _get_report_base_filename(self):
        """The file name of the signed commitment downloaded on the portal."""
        self.ensure_one()
        return self.env._(
            "Commitment - %(subject)s - %(date)s",
            subject=self.partner_id.name or "",
            date=self.date_from or "",
        )

    # ------------------------------------------------------------ evaluation
    def action_evaluate(self):
        """Council: evaluate (or re-evaluate after a correction) these commitments
        now that their period is over."""
        check_caller(self)
        if not self.env.user.has_group(MANAGER):
            raise AccessError(self.env._("Only the council evaluates commitments."))
        today = fields.Date.context_today(self)
        for commitment in self:
            if commitment.state not in ("signed", *EVALUATED):
                raise UserError(self.env._("%(name)s is not signed.", name=commitment.display_name))
            if commitment.date_to >= today:
                raise UserError(
                    self.env._(
                        "The period of %(name)s ends on %(end)s: evaluate it afterwards.",
                        name=commitment.display_name,
                        end=commitment.date_to,
                    )
                )
        before = {c: (c.state, c.points) for c in self}
        self.sudo()._evaluate()
        for commitment in self:
            if commitment.state == "signed":
                continue
            commitment._message_log(
                body=html_text(
                    self.env._(
                        "Evaluated by %(user)s: %(outcome)s (was %(before)s).",
                        user=self.env.user.name,
                        outcome=commitment.outcome_note,
                        before=dict(STATES)[before[commitment][0]],
                    )
                )
            )
        return True

    @api.model
    def _cron_evaluate(self, limit=20000):
        """Evaluate the signed commitments whose period has ended, `limit` at a
        time (the cron runs again while some are left), each chunk posting its
        bonuses and deductions once; ask staff to check the obligations marked
        by hand of those still waiting for them.

        Any number of runs may work at once (the two scheduled actions of this
        job on two nodes, a council member evaluating by hand): a run takes the
        commitments no other transaction holds (FOR UPDATE SKIP LOCKED), with
        the other commitments due of their subjects, and evaluates those of the
        subjects it holds every due commitment of (_lock_due). Two runs then
        never post for one subject at once: under REPEATABLE READ, the one that
        waited for the other's balance lock would fail when the other commits.
        What another run holds is left to it; if that run dies, the rows are free
        again and still due: the next run takes them (see
        credit.ledger.line._batch_progress). A chunk stopped by a concurrent
        update (another posting for one of its subjects, a budget) is rolled
        back whole and left for the next run; the chunks before it stay.
        Returns the commitments evaluated."""
        today = fields.Date.context_today(self)
        due = [
            ("state", "=", "signed"),
            ("date_to", "<", today),
            ("line_ids", "not any", [("kind", "=", "manual"), ("result", "=", "pending")]),
        ]
        waiting = [
            ("state", "=", "signed"),
            ("date_to", "<", today),
            ("line_ids", "any", [("kind", "=", "manual"), ("result", "=", "pending")]),
            ("activity_ids", "=", False),
        ]
        # tracked like every workflow: each outcome shows in the commitment's chatter
        Commitment = self.sudo()
        Ledger = self.env["credit.ledger.line"]
        evaluated = Commitment.browse()
        left = []  # taken, but a subject of theirs has a commitment due held elsewhere
        while len(evaluated) < limit:
            # a chunk takes its rows in its own savepoint: rows locked by the
            # transaction and updated by a savepoint would each need a multixact
            try:
                with self.env.cr.savepoint():
                    chunk, skipped = Commitment._lock_due(
                        due, min(CHUNK, limit - len(evaluated)), skip=left
                    )
                    chunk._evaluate()
            except CONFLICTS as exc:
                _logger.info("Commitments: chunk left for the next run (%s)", exc.pgcode)
                break
            if not chunk and not skipped:
                break
            evaluated |= chunk
            left += skipped
        # those still waiting for staff to check an obligation by hand: staff are asked
        try:
            with self.env.cr.savepoint():
                Commitment._lock_due(waiting, limit, whole_subjects=False)[0]._activity_update()
        except CONFLICTS as exc:
            _logger.info("Commitments: requests to staff left for the next run (%s)", exc.pgcode)
        # the work is the evaluation: a commitment nobody can be asked about
        # would otherwise keep the job running
        Ledger._batch_progress(done=len(evaluated), remaining=Commitment.search_count(due))
        return evaluated

    @api.model
    def _lock_due(self, domain, limit, skip=(), whole_subjects=True):
        """Lock at most `limit` commitments of `domain` but `skip`, earliest
        period end first, that no other transaction holds (until the commit).
        With whole_subjects, also the other commitments of `domain` of their
        subjects, and only those of the subjects whose every commitment of
        `domain` is locked here are to be evaluated: no other run is evaluating
        one of theirs. Returns (commitments to evaluate, ids of those locked but
        left for the next run)."""
        self.env.flush_all()
        due = self._search(domain).subselect()
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT id FROM credit_commitment WHERE id IN %s AND NOT id = ANY(%s)"
                " ORDER BY date_to, id LIMIT %s FOR UPDATE SKIP LOCKED",
                due,
                list(skip),
                limit,
            ),
            log_exceptions=False,
        )
        mine = [row[0] for row in cr.fetchall()]
        if not whole_subjects or not mine:
            return self.browse(mine), []
        # the other commitments due of the same subjects (sets in Python: an
        # array of 20,000 ids compared with each row would be quadratic)
        cr.execute(
            SQL(
                "SELECT id, partner_id FROM credit_commitment WHERE id IN %s AND partner_id IN"
                " (SELECT partner_id FROM credit_commitment WHERE id = ANY(%s))",
                due,
                mine,
            )
        )
        taken = set(mine) | set(skip)
        others = {row[0]: row[1] for row in cr.fetchall() if row[0] not in taken}
        held = set()  # subjects with a commitment due that another transaction holds
        if others:
            cr.execute(
                SQL(
                    "SELECT id FROM credit_commitment WHERE id = ANY(%s) FOR UPDATE SKIP LOCKED",
                    sorted(others),
                ),
                log_exceptions=False,
            )
            locked = {row[0] for row in cr.fetchall()}
            mine += sorted(locked)
            held = {partner for row, partner in others.items() if row not in locked}
        commitments = self.browse(mine)
        kept = commitments.filtered(lambda c: c.partner_id.id not in held)
        return kept.sorted(lambda c: (c.date_to, c.id)), (commitments - kept).ids

    def _evaluate(self):
        """Measure every obligation, record the outcome, post the bonus or the
        deduction (once: a re-run with the same outcome posts nothing; a changed
        outcome reverses the previous line first). Commitments with an
        obligation still to be checked by staff are left signed."""
        if not self:
            return self
        self.env.flush_all()
        # one evaluation of a commitment at a time (the cron and a council member)
        self.env.cr.execute(
            SQL("SELECT id FROM credit_commitment WHERE id = ANY(%s) FOR UPDATE", self.ids)
        )
        self.invalidate_recordset()
        # cancelled (or still unsigned) meanwhile: nothing to evaluate
        live = self.filtered(lambda c: c.state in ("signed", *EVALUATED))
        if live != self:
            return live._evaluate()
        today = fields.Date.context_today(self)
        lines = self.line_ids
        values = lines._measure()
        line_rows, rows, to_post, to_reverse = [], [], {}, self.env["credit.ledger.line"]
        evaluated = []
        for commitment in self:
            template = commitment.template_id
            met_weight = total_weight = 0
            fulfilled, pending = True, []
            for line in commitment.line_ids:
                obligation = line.obligation_id  # a few per chunk, read once
                if obligation.kind == "manual":
                    result = line.result
                    if result == "pending":
                        pending.append(obligation.name)
                else:
                    value = values[line.id]
                    if obligation.kind == "no_deduction":
                        met = value == 0
                    else:
                        met = value >= obligation.target
                    result = "met" if met else "not_met"
                    line_rows.append((line.id, value, result))
                fulfilled = fulfilled and result == "met"
                total_weight += obligation.weight
                met_weight += obligation.weight if result == "met" else 0
            if pending:
                rows.append(
                    [
                        commitment.id,
                        commitment.state,
                        commitment.score,
                        commitment.evaluation_count,
                        self.env._(
                            "Waiting for staff to check: %(obligations)s",
                            obligations=", ".join(pending),
                        ),
                    ]
                )
                continue
            evaluated.append(commitment.id)
            state = "fulfilled" if fulfilled else "breached"
            score = round(
                100.0 * met_weight / total_weight if total_weight else 100.0 * fulfilled, 1
            )
            rule = template.bonus_rule_id if fulfilled else template.deduction_rule_id
            note = (
                self.env._("All obligations met.")
                if fulfilled
                else self.env._("Obligations not met.")
            )
            if rule and rule.points < 0 and not commitment.community_id.allow_deduction:
                rule = rule.browse()
                note += " " + self.env._(
                    "No deduction: %(community)s does not deduct points.",
                    community=commitment.community_id.display_name,
                )
            current = commitment.ledger_line_id.filtered(lambda ln: ln.state == "posted")
            if current.rule_id != rule:
                to_reverse |= current
                if rule:
                    to_post[commitment] = {
                        "partner_id": commitment.partner_id.id,
                        "rule_id": rule.id,
                        "date": min(commitment.date_to, today),
                        "origin": "contract",
                        "origin_ref": f"{self._name},{commitment.id}",
                        "description": f"{template.name}: {note}",
                        "idempotency_key": (
                            f"contract:{commitment.id}:{commitment.evaluation_count}"
                        ),
                        "company_id": commitment.company_id.id,
                    }
                    # granted by whoever set the template's rules, checked then
                    # (credit.commitment.template._check_rule_granters)
                    if template.rules_set_by_id:
                        to_post[commitment]["granted_by_id"] = template.rules_set_by_id.id
            rows.append([commitment.id, state, score, commitment.evaluation_count + 1, note])

        self.env["credit.commitment.line"]._write_results(line_rows)
        if to_reverse:
            to_reverse._reverse(self.env._("Commitment re-evaluated: the outcome changed."), today)
        posted, errors = self._post_outcomes(to_post)
        # the commitment's line: the one just posted, none if it was reversed, or as it was
        for row in rows:
            commitment = self.browse(row[0])
            line = commitment.ledger_line_id
            line_id = posted.get(row[0], None if line in to_reverse else line.id)
            row += (line_id or None, errors.get(row[0]))
        self._write_outcomes(rows, today)
        self._activity_update()
        return self.browse(evaluated)

    def _activity_update(self):
        """The activities each commitment's state calls for, from this one place
        (as hr_holidays' activity_update): once its period is over, a commitment
        with an obligation still to be checked by hand waits for the staff member
        who recorded it (or the council secretary); one whose points could not be
        posted waits for the council; otherwise nobody has anything to do."""
        today = fields.Date.context_today(self)
        kind = self.env.ref(ACTIVITY_COMMITMENT)
        # sudo: the workflow keeps the activities of whoever must act, not the caller's
        commitments = self.sudo()
        wanted = {}
        for commitment in commitments:
            council = commitment.community_id.claim_council_user_id
            if commitment.post_error:
                wanted[commitment] = (council, commitment.post_error)
            elif (
                commitment.state == "signed"
                and commitment.date_to < today
                and commitment.line_ids.filtered(
                    lambda ln: ln.kind == "manual" and ln.result == "pending"
                )
            ):
                recorder = commitment.signed_by_id
                user = recorder if recorder and not recorder.share else council
                wanted[commitment] = (
                    user,
                    self.env._("The period is over: check the obligations marked by hand."),
                )
        done = commitments.filtered(lambda c: c not in wanted)
        done.activity_unlink([ACTIVITY_COMMITMENT])
        for commitment, (user, note) in wanted.items():
            current = commitment.activity_ids.filtered(lambda a: a.activity_type_id == kind)
            if not user or current.user_id == user:
                continue
            current.unlink()
            commitment.activity_schedule(
                ACTIVITY_COMMITMENT, date_deadline=today, user_id=user.id, note=note
            )

    def _write_outcomes(self, rows, today):
        """Write each commitment's outcome through the ORM and track its state
        change in its chatter, like every other workflow. What commitments share
        (state, count, note, error) is written for all of them at once; the score
        and the ledger line, which differ, one by one. The tracking messages are
        created in one batch (_log_state_changes): Odoo's automatic tracking posts
        them one by one, six times slower at a year-end."""
        if not rows:
            return
        # sudo: the evaluation is the system's, after the caller's check
        commitments = self.sudo().browse([row[0] for row in rows])
        before = {c.id: c.state for c in commitments}
        shared = defaultdict(list)
        own = defaultdict(list)
        for commitment_id, state, score, count, note, line_id, error in rows:
            vals = {
                "state": state,
                "evaluation_count": count,
                "outcome_note": note,
                "post_error": error or False,
            }
            if state in ("fulfilled", "breached"):
                vals["evaluated_on"] = today
            shared[tuple(vals.items())].append(commitment_id)
            own[(score, line_id or False)].append(commitment_id)
        quiet = commitments.with_context(tracking_disable=True)
        for vals, ids in shared.items():
            quiet.browse(ids).write(dict(vals))
        for (score, line_id), ids in own.items():
            quiet.browse(ids).write({"score": score, "ledger_line_id": line_id})
        commitments._log_state_changes(before)
        # unit scores and the next chunk read them with SQL
        self.flush_model()

    def _log_state_changes(self, before):
        """One chatter message per commitment whose state changed, carrying the
        state's tracking value as Odoo's tracking would, all created at once."""
        if self.env.context.get("tracking_disable") or self.env.context.get("mail_notrack"):
            return
        Tracking = self.env["mail.tracking.value"]
        info = self.fields_get(["state"])["state"]
        author = self.env.user.partner_id.id
        subtype = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
        vals_list = [
            {
                "model": self._name,
                "res_id": commitment.id,
                "message_type": "notification",
                "subtype_id": subtype,
                "author_id": author,
                "body": "",
                "tracking_value_ids": [
                    Command.create(
                        Tracking._create_tracking_values(
                            before[commitment.id], commitment.state, "state", info, commitment
                        )
                    )
                ],
            }
            for commitment in self
            if before.get(commitment.id) != commitment.state
        ]
        # sudo: the system's own log on records the caller was allowed to evaluate
        self.env["mail.message"].sudo().create(vals_list)

    def _post_outcomes(self, to_post):
        """Post the bonuses and deductions of a chunk at once; if one is refused
        (a rule archived or capped meanwhile), post the others one by one and
        keep the error on the commitment for the council to fix and re-evaluate.
        Returns ({commitment id: line id}, {commitment id: error})."""
        if not to_post:
            return {}, {}
        Ledger = self.env["credit.ledger.line"].sudo()
        commitments = list(to_post)
        try:
            with self.env.cr.savepoint():
                lines = Ledger._post(list(to_post.values()), check_rights=False)
            return {c.id: line.id for c, line in zip(commitments, lines, strict=True)}, {}
        except UserError:
            posted, errors = {}, {}
            for commitment in commitments:
                try:
                    with self.env.cr.savepoint():
                        line = Ledger._post([to_post[commitment]], check_rights=False)
                    posted[commitment.id] = line.id
                except UserError as exc:
                    errors[commitment.id] = exc.args[0]
                    _logger.info("Commitment %s: points not posted: %s", commitment.id, exc)
            return posted, errors

    # ------------------------------------------------------------- reminders
    @api.model
    def _cron_remind(self, limit=20000):
        """Before a period ends, tell each subject who is behind on an obligation
        (once per commitment), and give each grid worker one digest of the
        subjects behind in their places."""
        today = fields.Date.context_today(self)
        candidates = self.sudo().search(
            [
                ("state", "=", "signed"),
                ("reminded_on", "=", False),
                ("date_to", ">=", today),
                ("template_id.remind_days", ">", 0),
            ],
            order="date_to, id",
            limit=limit,
        )
        due = candidates.filtered(
            lambda c: c.date_to - timedelta(days=c.template_id.remind_days) <= today
        )
        values = due.line_ids._measure()
        behind = due.filtered(
            lambda c: any(
                ln.kind in COUNTED_KINDS and values[ln.id] < ln.target for ln in c.line_ids
            )
        )
        for commitment in behind:
            # in the subject's own language, whoever runs the job
            lang = self.with_context(lang=commitment.partner_id.lang or self.env.lang).env
            missing = [
                lang._(
                    "%(obligation)s: %(value)s of %(target)s",
                    obligation=ln.name,
                    value=format(values[ln.id], "g"),
                    target=format(ln.target, "g"),
                )
                for ln in commitment.line_ids
                if ln.kind in COUNTED_KINDS and values[ln.id] < ln.target
            ]
            commitment.message_notify(
                partner_ids=commitment.partner_id.ids,
                subject=lang._("Your commitment ends on %(end)s", end=commitment.date_to),
                body=html_text(
                    lang._(
                        "%(template)s ends on %(end)s and some obligations are not met yet: "
                        "%(missing)s.",
                        template=commitment.template_id.with_env(lang).name,
                        end=commitment.date_to,
                        missing="; ".join(missing),
                    )
                ),
            )
        if behind:
            grid_workers = (
                self.env["res.users"]
                .sudo()
                .search(
                    [
                        ("credit_place_ids", "!=", False),
                        (
                            "groups_id",
                            "in",
                            self.env.ref("community_credit.group_credit_grid_worker").ids,
                        ),
                    ]
                )
            )
            for user in grid_workers:
                paths = place_paths(user.credit_place_ids)
                count = len(
                    behind.filtered(
                        lambda c, p=paths: path_within(c.partner_id.credit_place_id.parent_path, p)
                    )
                )
                if count:
                    lang = self.with_context(lang=user.lang or self.env.lang).env
                    self.env["mail.thread"].sudo().message_notify(
                        partner_ids=user.partner_id.ids,
                        subject=lang._("Commitments behind in your places"),
                        body=html_text(
                            lang._(
                                "%(count)s subjects in your places are behind on their "
                                "commitments, whose periods end soon: see their progress under "
                                "Community Credit > Commitments.",
                                count=count,
                            )
                        ),
                        model="res.users",
                        res_id=user.id,
                    )
        due.write({"reminded_on": today})
        return behind
