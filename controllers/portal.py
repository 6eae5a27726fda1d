import logging
import time
from contextlib import contextmanager

import psycopg2

from odoo import SUPERUSER_ID, api, http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request
from odoo.service.model import (
    MAX_TRIES_ON_CONCURRENCY_FAILURE,
    PG_CONCURRENCY_EXCEPTIONS_TO_RETRY,
)

from odoo.addons.portal.controllers.portal import CustomerPortal

from ..models.credit_repair import format_hours

_logger = logging.getLogger(__name__)

PG_INT_MAX = 2**31 - 1
# the converter of record ids in routes: other numbers find no page (a negative id
# or one beyond PostgreSQL's integer range would fail in SQL)
RECORD_ID = f"int(min=1, max={PG_INT_MAX})"


def record_id(value):
    """A record id from a form field, or 0 (no such record) for anything else,
    including numbers beyond PostgreSQL's integer range."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 0
    return number if 0 < number <= PG_INT_MAX else 0


# control characters a form may carry but no text needs (PostgreSQL refuses NUL)
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")
MAX_TEXT = 5000


def clean_text(value, max_length=MAX_TEXT):
    """Text typed in a portal form, without control characters; refused with a
    message when longer than anybody writes."""
    text = (value or "").translate(_CONTROL) if isinstance(value, str) else ""
    if len(text) > max_length:
        raise UserError(
            request.env._("Please keep it shorter than %(count)s characters.", count=max_length)
        )
    return text


@contextmanager
def busy_on_last_try(message):
    """Around the work of a portal POST that locks a row many residents want at
    the same moment (the stock of a reward, the seats of an event).

    A concurrent commit makes the lock fail to serialise and Odoo's retrying()
    (odoo.service.model) replays the whole request, up to
    MAX_TRIES_ON_CONCURRENCY_FAILURE times, on the same request object. The
    tries are counted on that object: earlier tries raise again, so that Odoo
    retries on a fresh snapshot. On the last try the transaction is rolled
    back and its cache and pending writes dropped, as retrying() does, and the
    error becomes a UserError with the message: the route shows it on its page
    like its other refusals, instead of Odoo's "Internal Server Error"."""
    tries = request._credit_tries = getattr(request, "_credit_tries", 0) + 1
    try:
        yield
    except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as exc:
        if tries < MAX_TRIES_ON_CONCURRENCY_FAILURE:
            raise
        request.env.cr.rollback()
        request.env.reset()
        raise UserError(message) from exc


# Reads on the replica (docs/deployment.md). The portal's pages that only read
# are routed with readonly=read_on_replica: Odoo 18 serves them on a read-only
# cursor, on the replica when Odoo runs with --db_replica_host (without one, on
# the primary as before). A replica applies the primary's changes a little
# late: after a change of their own, a user's next pages read on the primary
# for READ_AFTER_WRITE_PARAM seconds, so that they show it.
READ_AFTER_WRITE_PARAM = "community_credit.replica_read_after_write"
READ_AFTER_WRITE_DEFAULT = 60
WROTE_AT = "credit_wrote_at"


def credit_wrote():
    """Mark the session: this user just changed something (a claim, an
    objection, a sign-up...). Called by a route once the change is made."""
    request.session[WROTE_AT] = time.time()


def read_after_write_seconds(env):
    """How long after a change the user's pages read on the primary: the
    system parameter READ_AFTER_WRITE_PARAM in seconds (0: never)."""
    value = (
        env["ir.config_parameter"]
        .sudo()
        .get_param(READ_AFTER_WRITE_PARAM, READ_AFTER_WRITE_DEFAULT)
    )
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        _logger.warning("%s is not a number of seconds: %r", READ_AFTER_WRITE_PARAM, value)
        return READ_AFTER_WRITE_DEFAULT


def read_on_replica(controller):
    """`readonly` of a page that only reads: True (a read-only cursor, the
    replica's) unless the session changed something in the last
    READ_AFTER_WRITE_PARAM seconds; then False, the primary, which has the
    change. Odoo calls it before the request has a cursor of its own: the
    parameter is read (from Odoo's cache, mostly) on a cursor of its own, only
    for a session that has changed something."""
    wrote_at = request.session.get(WROTE_AT)
    if not wrote_at:
        return True
    try:
        with request.registry.cursor(readonly=True) as cr:
            seconds = read_after_write_seconds(api.Environment(cr, SUPERUSER_ID, {}))
    except psycopg2.Error:
        return False  # the primary then; the parameter will be read next time
    if time.time() - wrote_at < seconds:
        return False
    del request.session[WROTE_AT]  # the next pages need not look again
    return True


def is_credit_merchant(user):
    """True when `user` speaks for a merchant: their shop (their contact's
    company) has the merchant role, or donates rewards, so that residents hand
    them vouchers."""
    # sudo: merchants read neither roles nor rewards; only their own shop is looked at
    shop = user.sudo().partner_id.commercial_partner_id
    if "merchant" in shop.credit_role_ids.mapped("code"):
        return True
    Reward = user.env["product.template"].sudo().with_context(active_test=False)
    return bool(Reward.search_count([("credit_merchant_id", "=", shop.id)], limit=1))


class CreditMerchantPortal(CustomerPortal):
    """The merchant's page: a form to confirm a hand-over with the code the
    resident shows, and the hand-overs of their shop already confirmed. The
    codes of vouchers not yet handed over are never listed: without the
    resident's code, nobody confirms a hand-over."""

    def _credit_merchant_vouchers(self):
        merchant = request.env.user.partner_id.commercial_partner_id
        # sudo: merchants cannot read vouchers; these are their own shop's, selected here,
        # and only those already handed over
        return (
            request.env["credit.voucher"]
            .sudo()
            .search(
                [("merchant_id", "=", merchant.id), ("state", "=", "honoured")],
                order="honoured_date desc, id desc",
                limit=200,
            )
        )

    @http.route(
        "/my/credit/vouchers",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_merchant_vouchers(self, **kwargs):
        values = self._prepare_portal_layout_values()
        values.update(vouchers=self._credit_merchant_vouchers(), page_name="credit_vouchers")
        return request.render("community_credit.portal_merchant_vouchers", values)

    @http.route(
        "/my/credit/vouchers/honour", type="http", auth="user", methods=["POST"], website=True
    )
    def credit_merchant_honour(self, code=None, **kwargs):
        values = self._prepare_portal_layout_values()
        values["page_name"] = "credit_vouchers"
        try:
            voucher = request.env["credit.voucher"]._honour(clean_text(code, max_length=64))
        except UserError as exc:  # AccessError is a UserError: a clear message, no traceback
            values["error"] = exc.args[0]
        else:
            credit_wrote()
            values["message"] = request.env._(
                "Hand over %(reward)s to %(resident)s.",
                reward=voucher.sudo().product_tmpl_id.name,
                resident=voucher.sudo().partner_id.name,
            )
        values["vouchers"] = self._credit_merchant_vouchers()
        return request.render("community_credit.portal_merchant_vouchers", values)


class CreditCommitmentPortal(CustomerPortal):
    """The subject's commitments: read and sign a commitment offered to them,
    follow their progress, download the signed commitment."""

    def _credit_commitment_values(self, **extra):
        partner = request.env.user.partner_id
        # sudo: residents may read templates; the offer depends on roles they cannot read
        offered = request.env["credit.commitment.template"].sudo()._offered_templates(partner)
        values = self._prepare_portal_layout_values()
        values.update(
            page_name="credit_commitments",
            commitments=request.env["credit.commitment"].search(
                [("partner_id", "=", partner.id), ("state", "!=", "cancelled")]
            ),
            offered=offered,
            # the period, both outcomes and what already breaks each one, before signing
            terms={template.id: template._portal_terms(partner) for template in offered},
        )
        values.update(extra)
        return values

    @http.route(
        "/my/credit/commitments",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_commitments(self, **kwargs):
        return request.render(
            "community_credit.portal_my_commitments", self._credit_commitment_values()
        )

    @http.route(
        f"/my/credit/commitments/<{RECORD_ID}:commitment_id>",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_commitment(self, commitment_id, access_token=None, report_type=None, **kwargs):
        try:
            commitment = self._document_check_access(
                "credit.commitment", commitment_id, access_token=access_token
            )
        except (AccessError, MissingError):
            return request.redirect("/my/credit/commitments")
        if report_type in ("html", "pdf"):
            return self._show_report(
                model=commitment,
                report_type=report_type,
                report_ref="community_credit.action_report_credit_commitment",
                download=kwargs.get("download") == "true",
            )
        values = self._prepare_portal_layout_values()
        values.update(page_name="credit_commitment", commitment=commitment)
        return request.render("community_credit.portal_my_commitment", values)

    @http.route(
        f"/my/credit/commitments/sign/<{RECORD_ID}:template_id>",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_commitment_read(self, template_id, **kwargs):
        values = self._credit_commitment_values()
        template = values["offered"].filtered(lambda t: t.id == template_id)
        if not template:
            return request.redirect("/my/credit/commitments")
        values.update(
            page_name="credit_commitment_sign",
            template=template,
            terms=values["terms"][template.id],
        )
        return request.render("community_credit.portal_commitment_sign", values)

    @http.route(
        "/my/credit/commitments/sign", type="http", auth="user", methods=["POST"], website=True
    )
    def credit_commitment_sign(self, template_id=None, accept=None, **kwargs):
        try:
            if not accept:
                raise UserError(
                    request.env._("Tick the box to say you have read and accept the commitment.")
                )
            commitment = request.env["credit.commitment"]._portal_sign(
                record_id(template_id), ip=request.httprequest.remote_addr
            )
        except (UserError, ValueError) as exc:
            message = (
                exc.args[0] if isinstance(exc, UserError) else request.env._("Unknown commitment.")
            )
            return request.render(
                "community_credit.portal_my_commitments",
                self._credit_commitment_values(error=message),
            )
        credit_wrote()
        return request.redirect(f"/my/credit/commitments/{commitment.id}?signed=1")


class CreditBoardPortal(CustomerPortal):
    """The published boards of the resident's place, and their own passbook."""

    @staticmethod
    def _credit_log_board_views(boards):
        """Who viewed the boards, written on the primary. The page reads on a
        read-only cursor (the replica's); the log takes a read/write cursor of
        its own, committed at once, as Odoo logs a session's device
        (res.device.log). Without a replica the page's cursor writes it."""
        ip = request.httprequest.remote_addr
        env = request.env
        if not env.cr.readonly:
            env["credit.board.view"]._log(boards, "portal", ip=ip)
            return
        # the read-only transaction ends first (a test cursor opens a read/write
        # one only then); the page's reads go on in a new one
        env.cr.rollback()
        with env.registry.cursor() as cr:
            rw_env = env(cr=cr)
            rw_env["credit.board.view"]._log(boards.with_env(rw_env), "portal", ip=ip)

    @http.route(
        "/my/credit/boards",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_boards(self, **kwargs):
        values = self._prepare_portal_layout_values()
        # record rules: published boards of the places the resident lives in
        boards = request.env["credit.board"]._portal_boards(limit=24)
        self._credit_log_board_views(boards)
        values.update(page_name="credit_boards", boards=boards)
        return request.render("community_credit.portal_my_boards", values)

    @http.route(
        "/my/credit/passbook",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_passbook(self, report_type="pdf", **kwargs):
        partner = request.env.user.partner_id
        return self._show_report(
            model=partner,
            report_type=report_type if report_type in ("html", "pdf") else "pdf",
            report_ref="community_credit.action_report_credit_passbook",
            download=report_type != "html",
        )


class CreditHomePortal(CustomerPortal):
    """My credit: balance, level, this month's and year's points, the history
    with reasons, and the way to the resident's other credit pages."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if not counters:
            # the /my page itself (its counters come afterwards and return counts
            # only): a card for each credit page of the user, resident or merchant
            user = request.env.user
            values.update(
                credit_resident=user.has_group("community_credit.group_credit_resident"),
                credit_merchant=is_credit_merchant(user),
            )
        return values

    def _credit_home_values(self, **extra):
        partner = request.env.user.partner_id
        # record rules: the resident's own lines and repairs only
        lines = request.env["credit.ledger.line"].search(
            [("partner_id", "=", partner.id)], limit=50
        )
        Repair = request.env["credit.repair"]
        values = self._prepare_portal_layout_values()
        values.update(
            page_name="credit_home",
            partner=partner,
            lines=lines,
            repairs=Repair.search(
                [("partner_id", "=", partner.id)], order="state, deadline desc", limit=20
            ),
            repair_offers=Repair._portal_offers(lines),
        )
        values.update(extra)
        return values

    @http.route(
        "/my/credit",
        type="http",
        auth="user",
        methods=["GET"],
        website=True,
        readonly=read_on_replica,
    )
    def credit_home(self, **kwargs):
        return request.render("community_credit.portal_my_credit", self._credit_home_values())

    @http.route(
        f"/my/credit/repair/<{RECORD_ID}:line_id>",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def credit_repair_request(self, line_id, **kwargs):
        try:
            repair = request.env["credit.repair"]._request_repair(line_id)
        except UserError as exc:  # AccessError too: a clear message, no traceback
            values = self._credit_home_values(error=exc.args[0])
        else:
            credit_wrote()
            hours = format_hours(repair.hours_required)
            message = request.env._(
                "Thank you. Do %(hours)s hours of volunteer service by %(deadline)s and "
                "the %(points)s points come back.",
                hours=hours,
                deadline=repair.deadline,
                points=repair.points,
            )
            if repair.state == "repaired":
                message = request.env._(
                    "Your volunteer service has already earned back these %(points)s points.",
                    points=repair.points,
                )
            values = self._credit_home_values(message=message)
        return request.render("community_credit.portal_my_credit", values)
