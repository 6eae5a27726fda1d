import secrets
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .utils import check_caller

# no 0/O, 1/I: codes are read aloud and typed by elderly residents and shopkeepers
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


class CreditVoucher(models.Model):
    """A reward redeemed for points: the points leave the balance when it is
    issued; the merchant or exchange point confirms the hand-over with its code;
    cancelling or expiry refunds the points through a reversal."""

    _name = "credit.voucher"
    _description = "Reward Voucher"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "id desc"
    _rec_name = "code"
    # issued by _redeem, handed over by _honour, refunded by action_cancel and expiry
    _credit_user_fields = frozenset()

    code = fields.Char(required=True, readonly=True, copy=False, index=True)
    qr_url = fields.Char(string="QR Code", compute="_compute_qr_url")
    partner_id = fields.Many2one(
        "res.partner", string="Resident", required=True, readonly=True, index=True
    )
    product_tmpl_id = fields.Many2one(
        "product.template", string="Reward", required=True, readonly=True, index=True
    )
    stock_id = fields.Many2one(
        "credit.reward.stock", string="Collect At", required=True, readonly=True
    )
    merchant_id = fields.Many2one("res.partner", string="Donated By", readonly=True, index=True)
    points = fields.Integer(readonly=True)
    donated_value = fields.Monetary(readonly=True, currency_field="currency_id")
    currency_id = fields.Many2one(related="company_id.currency_id")
    ledger_line_id = fields.Many2one("credit.ledger.line", readonly=True)
    state = fields.Selection(
        [
            ("issued", "Issued"),
            ("honoured", "Handed Over"),
            ("cancelled", "Cancelled"),
            ("expired", "Expired"),
        ],
        default="issued",
        required=True,
        readonly=True,
        tracking=True,
        index=True,
    )
    issue_date = fields.Date(string="Redeemed On", readonly=True, index=True)
    expiry_date = fields.Date(readonly=True)
    honoured_by_id = fields.Many2one("res.users", string="Handed Over By", readonly=True)
    honoured_date = fields.Datetime(string="Handed Over On", readonly=True)
    community_id = fields.Many2one("credit.place", readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)

    _sql_constraints = [("code_uniq", "unique(code)", "Voucher codes are unique.")]

    @api.depends("code")
    def _compute_qr_url(self):
        for voucher in self:
            voucher.qr_url = (
                f"/report/barcode/?barcode_type=QR&value={voucher.code}&width=180&height=180"
                if voucher.code
                else False
            )

    # ------------------------------------------------------------ redemption
    @api.model
    def _redeem(self, stock_id, partner_id=None):
        """Redeem one unit of the reward at a collection point, for the current
        user (a resident) or, for staff, for a subject of their places.
        Returns the voucher. Called by the resident's portal page (and staff's
        server code): the checks are here."""
        user = self.env.user
        partner = self.env["res.partner"].browse(partner_id) if partner_id else user.partner_id
        partner = partner.sudo()  # staff and residents read the subject's community
        if partner != user.partner_id:
            self._check_staff_for(partner)
        stock = self.env["credit.reward.stock"].sudo().browse(stock_id).exists()
        if not stock:
            raise UserError(self.env._("This reward cannot be collected there any more."))
        product = stock.product_tmpl_id
        today = fields.Date.context_today(self)
        if not (product.credit_is_reward and product.active):
            raise UserError(self.env._("%(reward)s is not offered any more.", reward=product.name))
        if (product.credit_valid_from and today < product.credit_valid_from) or (
            product.credit_valid_to and today > product.credit_valid_to
        ):
            raise UserError(
                self.env._(
                    "%(reward)s cannot be redeemed today (from %(start)s to %(end)s).",
                    reward=product.name,
                    start=product.credit_valid_from or "",
                    end=product.credit_valid_to or "",
                )
            )
        if partner.credit_community_id != stock.community_id:
            raise UserError(
                self.env._(
                    "%(point)s serves residents of %(community)s only.",
                    point=stock.collection_point,
                    community=stock.community_id.display_name,
                )
            )
        company = stock.community_id.company_id
        code = self._new_code()
        created = self.browse()

        def take_under_lock(posting):
            """Runs inside the posting pipeline once the resident's balance is
            locked: the monthly limit and the stock are checked and taken there,
            and the voucher the ledger line points to is created."""
            nonlocal created
            self._check_person_limit(partner, product, today)
            self.env["credit.reward.stock"].flush_model()
            self.env.cr.execute(
                SQL("SELECT quantity FROM credit_reward_stock WHERE id = %s FOR UPDATE", stock.id)
            )
            if self.env.cr.fetchone()[0] <= 0:
                raise UserError(
                    self.env._(
                        "%(reward)s is no longer available at %(point)s.",
                        reward=product.name,
                        point=stock.collection_point,
                    )
                )
            created = self.sudo().create(
                {
                    "code": code,
                    "partner_id": partner.id,
                    "product_tmpl_id": product.id,
                    "stock_id": stock.id,
                    "merchant_id": product.credit_merchant_id.id,
                    "points": product.credit_points_price,
                    "donated_value": product.credit_donated_value,
                    "issue_date": today,
                    "expiry_date": today + timedelta(days=product.credit_voucher_days),
                    "community_id": stock.community_id.id,
                    "company_id": company.id,
                }
            )
            posting.vals_list[0]["origin_ref"] = f"credit.voucher,{created.id}"

        # all or nothing, even for a caller that catches the error
        with self.env.cr.savepoint():
            # sudo: redeeming spends the redeemer's own points; the posting path
            # locks the balance and checks it (never below zero)
            line = (
                self.env["credit.ledger.line"]
                .sudo()
                ._post(
                    [
                        {
                            "partner_id": partner.id,
                            "points": -product.credit_points_price,
                            "origin": "redemption",
                            "idempotency_key": f"redeem:{code}",
                            "description": self.env._("Redeemed: %(reward)s", reward=product.name),
                            "company_id": company.id,
                        }
                    ],
                    check_rights=False,
                    allow_negative=False,
                    on_locked=take_under_lock,
                )
            )
            self.env.cr.execute(
                SQL(
                    "UPDATE credit_reward_stock SET quantity = quantity - 1 WHERE id = %s", stock.id
                )
            )
            stock.invalidate_recordset(["quantity"])
            created.ledger_line_id = line
        return created.with_env(self.env)

    def _check_person_limit(self, partner, product, today):
        """A reward's monthly limit per person, counted under the balance lock."""
        if not product.credit_person_limit:
            return
        taken = self.sudo().search_count(
            [
                ("partner_id", "=", partner.id),
                ("product_tmpl_id", "=", product.id),
                ("state", "in", ("issued", "honoured")),
                ("issue_date", ">=", today.replace(day=1)),
            ]
        )
        if taken >= product.credit_person_limit:
            raise UserError(
                self.env._(
                    "%(subject)s has already redeemed %(count)s × %(reward)s this month, "
                    "the most allowed.",
                    subject=partner.name,
                    count=taken,
                    reward=product.name,
                )
            )

    def _new_code(self):
        return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))

    def _check_staff_for(self, partner, honour=False):
        user = self.env.user
        if user.has_group("community_credit.group_credit_manager"):
            return
        places = user.sudo().credit_place_ids
        if not (
            user.has_group("community_credit.group_credit_grid_worker")
            and partner.credit_place_id
            and partner.credit_place_id._is_within(places)
        ):
            if honour:
                raise AccessError(
                    self.env._(
                        "This voucher belongs to a resident outside the places you look "
                        "after: the exchange point of their own place hands it over."
                    )
                )
            raise AccessError(self.env._("You can only redeem rewards with your own points."))

    # ------------------------------------------------------------- hand-over
    @api.model
    def _honour(self, code):
        """The merchant (or exchange-point staff) confirms the hand-over with the
        code the resident shows: the exact code of one voucher, for a reward of
        the merchant's own shop (staff: of a resident of their places). Called
        by the merchant's portal page and the hand-over wizard; returns the
        voucher."""
        code = code.strip().upper().replace(" ", "") if isinstance(code, str) else ""
        if not code:
            raise UserError(self.env._("Type the code of the voucher the resident shows."))
        # sudo: merchants cannot read vouchers; the one with this exact code is checked below
        voucher = self.sudo().search([("code", "=", code)], limit=1)
        if not voucher:
            raise UserError(self.env._("No voucher has the code %(code)s.", code=code))
        user = self.env.user
        if user.has_group("community_credit.group_credit_grid_worker"):
            self._check_staff_for(voucher.partner_id, honour=True)
        elif not voucher.merchant_id or (
            user.partner_id.commercial_partner_id != voucher.merchant_id
        ):
            raise AccessError(
                self.env._(
                    "Voucher %(code)s is for a reward of another merchant: you cannot "
                    "hand it over.",
                    code=code,
                )
            )
        self.env.cr.execute(
            SQL("SELECT state FROM credit_voucher WHERE id = %s FOR UPDATE", voucher.id)
        )
        voucher.invalidate_recordset(["state"])
        if voucher.state == "honoured":
            raise UserError(
                self.env._(
                    "Voucher %(code)s was already used on %(date)s.",
                    code=code,
                    date=voucher.honoured_date,
                )
            )
        if voucher.state != "issued":
            raise UserError(
                self.env._(
                    "Voucher %(code)s is %(state)s: the points were refunded.",
                    code=code,
                    state=dict(self._fields["state"]._description_selection(self.env))[
                        voucher.state
                    ],
                )
            )
        voucher.write(  # sudo (above): the hand-over is the workflow's
            {
                "state": "honoured",
                "honoured_by_id": user.id,
                "honoured_date": fields.Datetime.now(),
            }
        )
        return voucher.with_env(self.env)

    # ------------------------------------------------------- cancel / expire
    def action_cancel(self):
        """The resident (or staff) gives the voucher back: points refunded."""
        check_caller(self)
        user = self.env.user
        for voucher in self.sudo():
            if voucher.partner_id != user.partner_id:
                self._check_staff_for(voucher.partner_id)
        self.sudo()._refund("cancelled", self.env._("Voucher cancelled: points refunded."))
        return True

    def _refund(self, state, reason):
        for voucher in self:
            if voucher.state != "issued":
                raise UserError(
                    self.env._(
                        "Voucher %(code)s was handed over or refunded already.",
                        code=voucher.code,
                    )
                )
        self.env.cr.execute(
            SQL("SELECT id FROM credit_voucher WHERE id = ANY(%s) FOR UPDATE", self.ids)
        )
        self.ledger_line_id._reverse(reason)
        for voucher in self:
            self.env.cr.execute(
                SQL(
                    "UPDATE credit_reward_stock SET quantity = quantity + 1 WHERE id = %s",
                    voucher.stock_id.id,
                )
            )
        self.stock_id.invalidate_recordset(["quantity"])
        self.write({"state": state})

    @api.model
    def _cron_expire_vouchers(self):
        today = fields.Date.context_today(self)
        vouchers = self.sudo().search([("state", "=", "issued"), ("expiry_date", "<", today)])
        if vouchers:
            vouchers._refund("expired", self.env._("Voucher expired: points refunded."))
        return vouchers
