import base64
import os
from datetime import date as date_cls

from PIL import Image

from odoo import fields, http
from odoo.exceptions import UserError
from odoo.http import request
from odoo.tools.image import image_process
from odoo.tools.mimetypes import guess_mimetype

from odoo.addons.portal.controllers.portal import CustomerPortal

from ..models.credit_claim import MAX_PORTAL_FILES
from ..models.utils import MAX_EVIDENCE_BYTES
from .portal import (
    RECORD_ID,
    busy_on_last_try,
    clean_text,
    credit_wrote,
    read_on_replica,
    record_id,
)

# A phone photo (4000 x 3000, 5-8 MB) is made smaller in the browser before it is
# sent (static/src/js/credit_photo_resize.js); without JavaScript it arrives
# whole and is made smaller here, as the browser would: 1600 px on its long side,
# JPEG quality 80. Larger than MAX_UPLOAD_BYTES, a file is refused unread. Five
# of those fit in Odoo's limit of a request (odoo.http.DEFAULT_MAX_CONTENT_LENGTH,
# 128 MiB): a larger request gets Odoo's "413 Request Entity Too Large".
MAX_UPLOAD_MB = 25
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
PHOTO_SIZE = (1600, 1600)
PHOTO_QUALITY = 80


def _error_text(exc):
    return exc.args[0] if exc.args else str(exc)


def shrink_photo(env, name, raw):
    """The bytes of an uploaded file, a photo larger than MAX_EVIDENCE_BYTES
    made smaller (name, bytes); a UserError saying what to do for a large file
    that is not a photo this can make smaller."""
    if len(raw) <= MAX_EVIDENCE_BYTES:
        return name, raw
    too_large = env._(
        "%(name)s is larger than 5 MB. Only photos are made smaller: send a smaller file.",
        name=name,
    )
    mimetype = guess_mimetype(raw, default="")
    if not mimetype.startswith("image/") or mimetype == "image/svg+xml":
        raise UserError(too_large)
    try:
        # verify_resolution: an image of more than 50 million pixels is refused unread
        small = image_process(
            raw,
            size=PHOTO_SIZE,
            verify_resolution=True,
            quality=PHOTO_QUALITY,
            output_format="JPEG",
        )
    # not decodable, or far too many pixels
    except (UserError, ValueError, OSError, Image.DecompressionBombError) as exc:
        raise UserError(
            env._("%(name)s could not be made smaller: take the photo again.", name=name)
        ) from exc
    if len(small) > MAX_EVIDENCE_BYTES:  # an image kind Odoo does not process (WEBP)
        raise UserError(too_large)
    return f"{os.path.splitext(name)[0] or 'photo'}.jpg", small


class CreditResidentPortal(CustomerPortal):
    """The resident's phone pages: declare a good deed and follow it, object to a
    published claim of their place, join volunteer events, redeem rewards.
    Every page reads through the resident's own rights; where a helper reads
    with sudo, it selects the resident's own records first."""

    # ------------------------------------------------------------- helpers
    def _credit_values(self, page_name, **extra):
        values = self._prepare_portal_layout_values()
        values.update(page_name=page_name, partner=request.env.user.partner_id)
        values.update(extra)
        return values

    def _credit_files(self, field="photos"):
        """The uploaded photos as (name, base64) pairs, refused before being read
        whole when there are too many or one is larger than anything a phone
        takes; a photo over 5 MB is made smaller (shrink_photo)."""
        files = [f for f in request.httprequest.files.getlist(field) if f and f.filename]
        if len(files) > MAX_PORTAL_FILES:
            raise UserError(
                request.env._("Add at most %(count)s photos to one claim.", count=MAX_PORTAL_FILES)
            )
        result = []
        for upload in files:
            name = clean_text(upload.filename, max_length=255)
            raw = upload.read(MAX_UPLOAD_BYTES + 1)
            if len(raw) > MAX_UPLOAD_BYTES:
                raise UserError(
                    request.env._(
                        "%(name)s is larger than %(size)s MB: take a smaller photo.",
                        name=name,
                        size=MAX_UPLOAD_MB,
                    )
                )
            name, raw = shrink_photo(request.env, name, raw)
            result.append((name, base64.b64encode(raw)))
        return result

    @staticmethod
    def _credit_int(value):
        return record_id(value)

    # ------------------------------------------------------------- declare
    def _declare_values(self, **extra):
        partner = request.env.user.partner_id
        rules = request.env["credit.rule"]._portal_declarable(partner)
        values = self._credit_values(
            "credit_declare",
            rules=rules,
            form={"date": fields.Date.to_string(fields.Date.context_today(partner))},
            max_files=MAX_PORTAL_FILES,
        )
        values.update(extra)
        return values

    @http.route(
        "/my/credit/declare",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_declare(self, rule_id=None, **kwargs):
        values = self._declare_values()
        if rule_id:
            values["form"]["rule_id"] = self._credit_int(rule_id)
        return request.render("community_credit.portal_credit_declare", values)

    @http.route("/my/credit/declare", type="http", auth="user", methods=["POST"], website=True)
    def credit_declare_submit(self, rule_id=None, date=None, description=None, **kwargs):
        form = {"rule_id": self._credit_int(rule_id), "date": date, "description": description}
        try:
            description = clean_text(description)
            try:
                day = date_cls.fromisoformat(date or "")
            except ValueError as exc:
                raise UserError(request.env._("Say on which day it happened.")) from exc
            claim = request.env["credit.claim"]._portal_declare(
                form["rule_id"], day, description, self._credit_files()
            )
        except UserError as exc:  # also AccessError and ValidationError
            # the form comes back as it was typed: nothing the resident wrote is lost
            values = self._declare_values(error=_error_text(exc))
            values["form"] = form
            return request.render("community_credit.portal_credit_declare", values)
        credit_wrote()
        return request.redirect(f"/my/credit/claims/{claim.id}?submitted=1")

    # -------------------------------------------------------------- claims
    def _my_claims_domain(self):
        user = request.env.user
        return [
            "|",
            ("submitted_by_id", "=", user.id),
            ("partner_ids", "in", user.partner_id.ids),
        ]

    @http.route(
        "/my/credit/claims",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_claims(self, **kwargs):
        claims = request.env["credit.claim"].search(
            self._my_claims_domain(), order="id desc", limit=50
        )
        return request.render(
            "community_credit.portal_credit_claims",
            self._credit_values("credit_claims", claims=claims),
        )

    def _my_claim(self, claim_id):
        return request.env["credit.claim"].search(
            [("id", "=", claim_id), *self._my_claims_domain()], limit=1
        )

    @http.route(
        f"/my/credit/claims/<{RECORD_ID}:claim_id>",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_claim(self, claim_id, **kwargs):
        claim = self._my_claim(claim_id)
        if not claim:
            return request.redirect("/my/credit/claims")
        return request.render("community_credit.portal_credit_claim", self._claim_values(claim))

    def _claim_values(self, claim, **extra):
        # record rules: the resident's own notice of this claim, if it was not accepted
        notice = request.env["credit.notice"].search(
            [
                ("claim_id", "=", claim.id),
                ("partner_id", "=", request.env.user.partner_id.id),
                ("state", "=", "sent"),
            ],
            limit=1,
        )
        return self._credit_values(
            "credit_claim", claim=claim, notice=notice, max_files=MAX_PORTAL_FILES, **extra
        )

    @http.route(
        f"/my/credit/claims/<{RECORD_ID}:claim_id>/resubmit",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def credit_claim_resubmit(self, claim_id, **kwargs):
        claim = self._my_claim(claim_id)
        if not claim:
            return request.redirect("/my/credit/claims")
        try:
            claim._portal_resubmit(self._credit_files())
        except UserError as exc:
            return request.render(
                "community_credit.portal_credit_claim",
                self._claim_values(claim, error=_error_text(exc)),
            )
        credit_wrote()
        return request.redirect(f"/my/credit/claims/{claim.id}?submitted=1")

    # -------------------------------------------------------- publications
    def _publication_values(self, **extra):
        # record rules: the published claims of the resident's estate (and their own)
        claims = request.env["credit.claim"].search(
            [("state", "=", "published")], order="publish_until, id", limit=100
        )
        # record rules: the resident's own objections, decided or not, with the
        # council's answer; the newest one per claim is shown on its card
        objections = request.env["credit.claim.objection"].search(
            [("objector_id", "=", request.env.user.partner_id.id)], order="id desc", limit=30
        )
        objection_of = {}
        for objection in objections:
            objection_of.setdefault(objection.claim_id.id, objection)
        # sudo: a claim withdrawn after an objection is no longer published, and the
        # objector may not read it any more; these are the claims of their own
        # objections, shown as published (names masked as the community chooses)
        objected_claims = {o.id: o.sudo().claim_id for o in objections}
        return self._credit_values(
            "credit_publications",
            claims=claims,
            objections=objections,
            objection_of=objection_of,
            objected_claims=objected_claims,
            **extra,
        )

    @http.route(
        "/my/credit/publications",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_publications(self, **kwargs):
        return request.render(
            "community_credit.portal_credit_publications", self._publication_values()
        )

    @http.route(
        f"/my/credit/publications/<{RECORD_ID}:claim_id>/object",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def credit_publication_object(self, claim_id, reason=None, **kwargs):
        claim = request.env["credit.claim"].search(
            [("id", "=", claim_id), ("state", "=", "published")], limit=1
        )
        try:
            if not claim:
                raise UserError(request.env._("This claim is not open for objections."))
            claim._object(clean_text(reason))
        except UserError as exc:
            values = self._publication_values(
                error=_error_text(exc), reason=reason, error_claim_id=claim_id
            )
            return request.render("community_credit.portal_credit_publications", values)
        credit_wrote()
        values = self._publication_values(
            message=request.env._(
                "Thank you: the council will look into your objection and answer you."
            )
        )
        return request.render("community_credit.portal_credit_publications", values)

    # ------------------------------------------------------------- notices
    @staticmethod
    def _notice_evidence(notice):
        """The files of the resident's own notice they may open: those stored on
        the notice's own case (its claim, its ledger line) when the resident may
        read that record. A file merely linked to the case (an id given by hand)
        belongs to another record and is neither listed nor served."""
        owners = {
            (case._name, case.id)
            for case in (notice.claim_id, notice.ledger_line_id)
            if case and case.has_access("read")
        }
        # sudo: residents cannot read attachments; the notice is theirs and each
        # file is checked to belong to a record of it they may read
        return notice.sudo().attachment_ids.filtered(
            lambda a: (a.res_model, a.res_id) in owners and not a.res_field and a.type == "binary"
        )

    def _notice_values(self, **extra):
        # record rules: the resident's own notices only
        notices = request.env["credit.notice"].search(
            [("partner_id", "=", request.env.user.partner_id.id), ("state", "=", "sent")],
            order="sent_date desc, id desc",
            limit=50,
        )
        evidence = {notice.id: self._notice_evidence(notice) for notice in notices}
        # record rules: the appeals of the resident's own notices, with the council's
        # answer once decided
        appeal_of = {notice.id: notice.appeal_ids.sorted("id")[-1:] for notice in notices}
        return self._credit_values(
            "credit_notices",
            notices=notices,
            evidence=evidence,
            appeal_of=appeal_of,
            max_files=MAX_PORTAL_FILES,
            **extra,
        )

    @http.route(
        "/my/credit/notices",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_notices(self, **kwargs):
        return request.render("community_credit.portal_credit_notices", self._notice_values())

    @http.route(
        f"/my/credit/notices/<{RECORD_ID}:notice_id>/appeal",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def credit_notice_appeal(self, notice_id, reason=None, **kwargs):
        notice = request.env["credit.notice"].search(
            [("id", "=", notice_id), ("partner_id", "=", request.env.user.partner_id.id)], limit=1
        )
        try:
            if not notice:
                raise UserError(request.env._("This notice is not one of yours."))
            notice._appeal(clean_text(reason), self._credit_files())
        except UserError as exc:
            values = self._notice_values(
                error=_error_text(exc), reason=reason, error_notice_id=notice_id
            )
            return request.render("community_credit.portal_credit_notices", values)
        credit_wrote()
        values = self._notice_values(
            message=request.env._(
                "Thank you: the council will look into your appeal and tell you its decision."
            )
        )
        return request.render("community_credit.portal_credit_notices", values)

    @http.route(
        f"/my/credit/notices/<{RECORD_ID}:notice_id>/evidence/<{RECORD_ID}:attachment_id>",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_notice_evidence(self, notice_id, attachment_id, **kwargs):
        notice = request.env["credit.notice"].search(
            [("id", "=", notice_id), ("partner_id", "=", request.env.user.partner_id.id)], limit=1
        )
        attachment = (
            self._notice_evidence(notice).filtered(lambda a: a.id == attachment_id)
            if notice
            else None
        )
        if not attachment:
            return request.redirect("/my/credit/notices")
        # sudo: a file of the resident's own notice, checked just above
        stream = request.env["ir.binary"]._get_stream_from(attachment.sudo())
        return stream.get_response()

    # -------------------------------------------------------------- events
    def _event_values(self, **extra):
        partner = request.env.user.partner_id
        events = request.env["event.event"]._credit_portal_events(partner)
        # sudo: residents cannot read registrations; these are their own
        mine = (
            request.env["event.registration"]
            .sudo()
            .search(
                [("partner_id", "=", partner.id), ("state", "!=", "cancel")],
                order="event_begin_date desc, id desc",
                limit=30,
            )
        )
        Service = request.env["credit.volunteer.service"]  # record rules: their own
        year_start = fields.Date.context_today(partner).replace(month=1, day=1)
        [[hours_total]] = Service._read_group([("state", "=", "done")], [], ["hours:sum"])
        [[hours_year]] = Service._read_group(
            [("state", "=", "done"), ("date", ">=", year_start)], [], ["hours:sum"]
        )
        return self._credit_values(
            "credit_events",
            events=events,
            registrations=mine,
            registered_events=mine.event_id,
            hours_total=hours_total or 0.0,
            hours_year=hours_year or 0.0,
            now=fields.Datetime.now(),
            **extra,
        )

    @http.route(
        "/my/credit/events",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_events(self, **kwargs):
        values = self._event_values()
        if kwargs.get("registered"):
            values["message"] = request.env._("You are signed up. Thank you for volunteering!")
        elif kwargs.get("cancelled"):
            values["message"] = request.env._("Your sign-up is cancelled.")
        return request.render("community_credit.portal_credit_events", values)

    @http.route(
        f"/my/credit/events/<{RECORD_ID}:event_id>/register",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def credit_event_register(self, event_id, **kwargs):
        busy = request.env._(
            "Many residents are signing up for this event at this very moment. "
            "You are not signed up yet: please try again."
        )
        try:
            with busy_on_last_try(busy):
                request.env["event.event"]._credit_portal_register(event_id)
        except UserError as exc:
            return request.render(
                "community_credit.portal_credit_events",
                self._event_values(error=_error_text(exc)),
            )
        credit_wrote()
        return request.redirect("/my/credit/events?registered=1")

    @http.route(
        f"/my/credit/events/registration/<{RECORD_ID}:registration_id>/cancel",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def credit_event_cancel(self, registration_id, **kwargs):
        try:
            request.env["event.registration"].browse(registration_id)._credit_portal_cancel()
        except UserError as exc:
            return request.render(
                "community_credit.portal_credit_events",
                self._event_values(error=_error_text(exc)),
            )
        credit_wrote()
        return request.redirect("/my/credit/events?cancelled=1")

    # ------------------------------------------------------------- rewards
    def _reward_values(self, **extra):
        partner = request.env.user.partner_id
        # record rules: the resident's own vouchers
        vouchers = request.env["credit.voucher"].search([], order="id desc", limit=30)
        return self._credit_values(
            "credit_rewards",
            stocks=request.env["credit.reward.stock"]._portal_catalogue(partner),
            vouchers=vouchers,
            **extra,
        )

    @http.route(
        "/my/credit/rewards",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_rewards(self, **kwargs):
        return request.render("community_credit.portal_credit_rewards", self._reward_values())

    @http.route(
        "/my/credit/rewards/redeem", type="http", auth="user", methods=["POST"], website=True
    )
    def credit_reward_redeem(self, stock_id=None, **kwargs):
        try:
            stock = self._credit_int(stock_id)
            if not stock:
                raise UserError(request.env._("Choose a reward to redeem."))
            busy = request.env._(
                "Many residents are redeeming this reward at this very moment. "
                "Nothing was taken from your points: please try again."
            )
            with busy_on_last_try(busy):
                voucher = request.env["credit.voucher"]._redeem(stock)
        except UserError as exc:
            return request.render(
                "community_credit.portal_credit_rewards",
                self._reward_values(error=_error_text(exc)),
            )
        credit_wrote()
        return request.redirect(f"/my/credit/rewards/vouchers/{voucher.id}?redeemed=1")

    @http.route(
        f"/my/credit/rewards/vouchers/<{RECORD_ID}:voucher_id>",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_voucher(self, voucher_id, **kwargs):
        # record rules: only the resident's own voucher is found
        voucher = request.env["credit.voucher"].search([("id", "=", voucher_id)], limit=1)
        if not voucher:
            return request.redirect("/my/credit/rewards")
        return request.render(
            "community_credit.portal_credit_voucher",
            self._credit_values("credit_voucher", voucher=voucher),
        )
