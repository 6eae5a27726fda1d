"""Notice of every deduction and of every rejected claim (告知): the subject is
told what was decided, why, on what evidence, and until when they may appeal.
A deduction is not final until its notice is recorded as sent and the appeal
window is over."""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .credit_ledger_line import CONFLICTS
from .credit_workflow_mixin import MAIL_FIELDS
from .utils import check_caller, html_text

_logger = logging.getLogger(__name__)

# notices a posting sends itself; a larger batch's go out through the sending action
SEND_AT_ONCE = 500

NOTICE_CHANNELS = [
    ("portal", "Portal message"),
    ("email", "E-mail"),
    ("sms", "SMS"),
    ("in_person", "Handed over in person"),
]
# the channels a subject may prefer (in person is recorded by staff)
PREFERRED_CHANNELS = NOTICE_CHANNELS[:3]


# a notice's chatter records its sending; its creation needs no message and no
# follower (a year-end evaluation creates tens of thousands at once)
QUIET_CREATE = {"mail_create_nolog": True, "mail_create_nosubscribe": True}


class CreditNotice(models.Model):
    _name = "credit.notice"
    _description = "Notice of a Deduction or Rejection"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "id desc"
    _check_company_auto = True
    _mail_post_access = "read"

    partner_id = fields.Many2one(
        "res.partner", string="Subject", required=True, readonly=True, index=True
    )
    kind = fields.Selection(
        [("deduction", "Deduction"), ("rejection", "Rejected claim")],
        required=True,
        readonly=True,
    )
    ledger_line_id = fields.Many2one(
        "credit.ledger.line",
        string="Deduction",
        readonly=True,
        ondelete="restrict",
        index="btree_not_null",
    )
    claim_id = fields.Many2one(
        "credit.claim", readonly=True, ondelete="restrict", index="btree_not_null"
    )
    rule_id = fields.Many2one("credit.rule", readonly=True)
    decided_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        help="Who granted the deduction or rejected the claim.",
    )
    points = fields.Integer(readonly=True)
    date = fields.Date(readonly=True, help="The day of the behaviour deducted or claimed.")
    reason = fields.Text(readonly=True)
    attachment_ids = fields.Many2many(
        "ir.attachment",
        string="Evidence",
        compute="_compute_attachment_ids",
        compute_sudo=True,
        help="The evidence of the deduction or of the claim; the subject reads it here.",
    )
    community_id = fields.Many2one("credit.place", readonly=True, index=True)
    channel = fields.Selection(
        NOTICE_CHANNELS, readonly=True, help="How the notice reached (or is to reach) the subject."
    )
    state = fields.Selection(
        [("pending", "To Send"), ("sent", "Sent"), ("failed", "Failed")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    failure_reason = fields.Text(readonly=True)
    sent_date = fields.Datetime(readonly=True)
    appeal_deadline = fields.Date(
        string="Appeal Until",
        readonly=True,
        help="The last day on which the subject may appeal.",
    )
    appeal_text = fields.Text(string="How to Appeal", compute="_compute_appeal_text")
    appeal_ids = fields.One2many("credit.appeal", "notice_id", string="Appeals")
    appeal_state = fields.Selection(
        [("open", "Under Review"), ("upheld", "Upheld"), ("dismissed", "Dismissed")],
        compute="_compute_appeal_state",
    )
    is_final = fields.Boolean(
        string="Final",
        compute="_compute_is_final",
        search="_search_is_final",
        help="Sent, and the appeal window is over (or the appeal was dismissed) with no "
        "appeal open or upheld.",
    )
    can_appeal = fields.Boolean(compute="_compute_is_final")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)

    @api.depends("partner_id", "rule_id", "points", "kind")
    def _compute_display_name(self):
        for notice in self:
            what = notice.rule_id.name or ""
            notice.display_name = f"{notice.partner_id.name}: {what} ({notice.points:+d})"

    @api.depends("ledger_line_id.attachment_ids", "claim_id.attachment_ids")
    def _compute_attachment_ids(self):
        for notice in self:
            notice.attachment_ids = (
                notice.ledger_line_id.attachment_ids | notice.claim_id.attachment_ids
            )

    @api.depends("appeal_deadline", "kind")
    def _compute_appeal_text(self):
        for notice in self:
            if not notice.appeal_deadline:
                notice.appeal_text = False
                continue
            notice.appeal_text = self.env._(
                "If you think this is not right, you may appeal until %(date)s: open "
                "'Notices' on your credit page and press 'Appeal', or ask your grid worker "
                "to write down your appeal. The council (社区两委) looks into it and tells "
                "you its decision and why.",
                date=notice.appeal_deadline,
            )

    @api.depends("appeal_ids.state")
    def _compute_appeal_state(self):
        for notice in self:
            notice.appeal_state = notice.appeal_ids.sorted("id")[-1:].state or False

    @api.depends_context("uid")
    @api.depends("state", "appeal_deadline", "appeal_ids.state")
    def _compute_is_final(self):
        today = fields.Date.context_today(self)
        final = self.filtered_domain(self._final_domain())
        for notice in self:
            notice.is_final = notice in final
            notice.can_appeal = bool(
                notice.state == "sent"
                and not notice.appeal_ids
                and (notice.appeal_deadline or today) >= today
            )

    def _final_domain(self):
        """The one rule of finality, for the compute, the search and the SQL of
        the statistics: told, no appeal open or upheld, and either the appeal
        window has closed or an appeal was dismissed."""
        return [
            ("state", "=", "sent"),
            ("appeal_ids", "not any", [("state", "in", ("open", "upheld"))]),
            "|",
            ("appeal_deadline", "<", fields.Date.context_today(self)),
            ("appeal_ids", "any", [("state", "=", "dismissed")]),
        ]

    def _search_is_final(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Unsupported search on final notices."))
        domain = self._final_domain()
        if (operator == "=") == value:
            return domain
        return [("id", "not in", self.sudo()._search(domain))]

    # ----------------------------------------------------------------- CRUD
    def write(self, vals):
        if not self.env.su:
            if set(vals) - MAIL_FIELDS:
                raise UserError(
                    self.env._(
                        "A notice records what the subject was told: it cannot be changed. "
                        "Use 'Send Again' or 'Handed Over in Person'."
                    )
                )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Notices are kept: they prove the subject was told."))

    # -------------------------------------------------------------- creation
    @api.model
    def _create_for_lines(self, lines):
        """One notice per deduction line, in one create. A grant's notices are
        sent at once; those of a large batch (the year-end evaluation of a whole
        city) wait for the sending action, which sends them in chunks right
        after: their deductions are not final until then."""
        lines = lines.sudo()  # the posting path calls this for lines it just inserted
        if not lines:
            return self.browse()
        notices = self.with_context(**QUIET_CREATE).create(
            [
                {
                    "partner_id": line.partner_id.id,
                    "kind": "deduction",
                    "ledger_line_id": line.id,
                    "rule_id": line.rule_id.id,
                    "decided_by_id": line.granted_by_id.id,
                    "points": line.points,
                    "date": line.date,
                    "reason": line.description or line.rule_id.name,
                    "community_id": line.community_id.id,
                    "company_id": line.company_id.id,
                }
                for line in lines
            ]
        )
        if len(notices) <= SEND_AT_ONCE:
            notices._send()
        else:
            self.env.ref("community_credit.ir_cron_credit_notice_send")._trigger()
        return notices

    @api.model
    def _create_for_claims(self, claims):
        """One notice per subject of each rejected claim, sent at once."""
        claims = claims.sudo()  # the claim workflow checked the decider
        vals_list = [
            {
                "partner_id": partner.id,
                "kind": "rejection",
                "claim_id": claim.id,
                "rule_id": claim.rule_id.id,
                "decided_by_id": self.env.uid,
                "points": claim.rule_id.points,
                "date": claim.date,
                "reason": claim.decision_reason,
                "community_id": (partner.credit_community_id or claim.community_id).id,
                "company_id": claim.company_id.id,
            }
            for claim in claims
            for partner in claim.partner_ids
        ]
        if not vals_list:
            return self.browse()
        notices = self.with_context(**QUIET_CREATE).create(vals_list)
        notices._send()
        return notices

    # --------------------------------------------------------------- sending
    def _pick_channel(self):
        """The subject's preferred channel where it can reach them: SMS only where
        Odoo's SMS app is installed, then e-mail, then the portal."""
        self.ensure_one()
        partner = self.partner_id
        preferred = partner.credit_notice_channel or "portal"
        if preferred == "sms" and "sms.sms" in self.env and (partner.mobile or partner.phone):
            return "sms"
        if preferred in ("sms", "email") and partner.email:
            return "email"
        if partner.user_ids:
            return "portal"
        if partner.email:
            return "email"
        return False

    def _message_body(self):
        self.ensure_one()
        if self.kind == "deduction":
            text = self.env._(
                "%(points)s points were deducted from you under rule %(rule)s, for %(date)s. "
                "Reason: %(reason)s",
                points=-self.points,
                rule=self.rule_id.name or "",
                date=self.date,
                reason=self.reason or "",
            )
        else:
            text = self.env._(
                "Your claim under rule %(rule)s, for %(date)s, was not accepted. Reason: "
                "%(reason)s",
                rule=self.rule_id.name or "",
                date=self.date,
                reason=self.reason or "",
            )
        return html_text(text) + html_text(self.appeal_text or "")

    def _send(self):
        """Tell each subject through their channel, and record it: sent (with the
        appeal deadline) or failed (the daily action tries again)."""
        today = fields.Date.context_today(self)
        now = fields.Datetime.now()
        for notice in self.filtered(lambda n: n.state != "sent"):
            partner = notice.partner_id
            notice = notice.with_context(lang=partner.lang or self.env.lang)
            channel = notice._pick_channel()
            if not channel:
                notice.sudo().write(
                    {
                        "state": "failed",
                        "failure_reason": notice.env._(
                            "%(subject)s has no portal login, e-mail or mobile number: hand "
                            "the notice over in person and record it with 'Handed Over in "
                            "Person'.",
                            subject=partner.name,
                        ),
                    }
                )
                continue
            days = notice.community_id.appeal_days or 15
            # sudo: only the sending writes a notice; the channel key below is read under sudo only
            sending = notice.sudo().with_context(credit_notice_channel=channel)
            sending.write(
                {
                    "channel": channel,
                    "sent_date": now,
                    "appeal_deadline": today + timedelta(days=days),
                    "failure_reason": False,
                }
            )
            subject = (
                notice.env._("Notice of a deduction")
                if notice.kind == "deduction"
                else notice.env._("Your claim was not accepted")
            )
            try:
                with self.env.cr.savepoint():
                    body = sending._message_body()
                    if channel == "sms":
                        sending._message_sms(body.striptags(), partner_ids=partner.ids)
                    else:
                        # queued, not sent during the posting: the mail queue sends it
                        sending.with_context(mail_notify_force_send=False).message_post(
                            body=body,
                            subject=subject,
                            partner_ids=partner.ids,
                            message_type="comment",
                            subtype_xmlid="mail.mt_comment",
                        )
            except (UserError, ValueError) as exc:  # recorded; the daily action retries
                _logger.warning("Credit notice %s could not be sent: %s", notice.id, exc)
                sending.write(
                    {
                        "state": "failed",
                        "sent_date": False,
                        "appeal_deadline": False,
                        "failure_reason": str(exc),
                    }
                )
                continue
            sending.write({"state": "sent"})

    def _notify_get_recipients(self, message, msg_vals, **kwargs):
        # a portal notice stays on the portal: no e-mail copy to the subject
        recipients = super()._notify_get_recipients(message, msg_vals, **kwargs)
        if self.env.su and self.env.context.get("credit_notice_channel") == "portal":
            subjects = set(self.partner_id.ids)
            for recipient in recipients:
                if recipient["id"] in subjects and recipient["notif"] == "email":
                    recipient["notif"] = "inbox"
        return recipients

    # --------------------------------------------------------------- actions
    def _check_staff(self):
        user = self.env.user
        if user.has_group("community_credit.group_credit_manager"):
            return
        if not user.has_group("community_credit.group_credit_grid_worker"):
            raise AccessError(self.env._("Only credit staff can send notices."))
        places = user.sudo().credit_place_ids
        for notice in self.sudo():
            if not notice.partner_id.credit_place_id._is_within(places):
                raise AccessError(
                    self.env._(
                        "%(subject)s does not live in the places you look after.",
                        subject=notice.partner_id.name,
                    )
                )

    def action_send(self):
        """Staff: send again the notices that failed or wait."""
        self.check_access("read")
        self._check_staff()
        self.sudo()._send()  # sudo: staff right checked above; the notice writes itself
        return True

    def action_record_in_person(self):
        """Staff: the notice was handed over in person (an elderly resident without
        phone or e-mail); the appeal window starts today."""
        self.check_access("read")
        self._check_staff()
        today = fields.Date.context_today(self)
        for notice in self.sudo():  # sudo: staff right checked above
            if notice.state == "sent":
                raise UserError(self.env._("This notice has already been sent."))
            notice.sudo().write(
                {
                    "state": "sent",
                    "channel": "in_person",
                    "sent_date": fields.Datetime.now(),
                    "appeal_deadline": today
                    + timedelta(days=notice.community_id.appeal_days or 15),
                    "failure_reason": False,
                }
            )
            notice._message_log(
                body=html_text(
                    self.env._(
                        "Handed over in person by %(user)s; appeal until %(date)s.",
                        user=self.env.user.name,
                        date=notice.appeal_deadline,
                    )
                )
            )
        return True

    def _appeal(self, reason, files=()):
        """The subject appeals this notice; `files` are (name, base64) pairs."""
        self.ensure_one()
        # a refused appeal leaves nothing behind, even where the caller goes on
        with self.env.cr.savepoint():
            appeal = self.env["credit.appeal"].create({"notice_id": self.id, "reason": reason})
            appeal._add_evidence(files)
        return appeal

    def action_view_appeals(self):
        self.ensure_one()
        check_caller(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_appeal_action"
        )
        action.update(domain=[("notice_id", "=", self.id)], context={})
        return action

    # ------------------------------------------------------------------ SQL
    @api.model
    def _sql_deduction_final(self, line_alias):
        """SQL condition: the ledger line `line_alias` is a final deduction (the
        same rule as is_final, from its search domain)."""
        final = self.sudo()._search([("is_final", "=", True)])
        return SQL("%s.id IN %s", SQL.identifier(line_alias), final.subselect("ledger_line_id"))

    # ------------------------------------------------------------------ cron
    @api.model
    def _cron_send_pending(self, limit=2000):
        """Send the notices that wait, then try again those that failed, `limit`
        at a time (the cron runs again at once while notices wait).

        Any number of runs may send at once (the two scheduled actions of this
        job on two nodes after a year-end): a run takes the notices no other
        transaction holds (FOR UPDATE SKIP LOCKED), so no notice is sent twice
        and no run waits for another. What another run holds is left to it; if
        that run dies, its notices wait again and the next run sends them (see
        credit.ledger.line._batch_progress). A run stopped by a concurrent
        update sends nothing; the next run, with a new snapshot, sends them."""
        Notice = self.sudo()
        notices = Notice.browse()
        try:
            with self.env.cr.savepoint():
                self.flush_model()
                # 'pending' sorts after 'failed': waiting notices go first
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM credit_notice WHERE state IN ('pending', 'failed')"
                        " ORDER BY state DESC, id LIMIT %s FOR UPDATE SKIP LOCKED",
                        limit,
                    ),
                    log_exceptions=False,
                )
                notices = Notice.browse([row[0] for row in self.env.cr.fetchall()])
                waiting = notices.filtered(lambda n: n.state == "pending")
                notices._send()
        except CONFLICTS as exc:
            _logger.info("Notices: run stopped by a concurrent update (%s)", exc.pgcode)
            notices = waiting = Notice.browse()
        # failed notices are tried again by every run, but only waiting ones keep
        # the job running: a failed notice tried again counts as work once sent
        done = waiting | notices.filtered(lambda n: n.state == "sent")
        remaining = Notice.search_count([("state", "=", "pending")])
        self.env["credit.ledger.line"]._batch_progress(done=len(done), remaining=remaining)
        return notices
