from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal


class CreditMerchantPortal(CustomerPortal):
    """The merchant's page: vouchers of their shop's rewards to hand over, and a
    form to confirm a hand-over by the voucher's code."""

    def _credit_merchant_vouchers(self):
        merchant = request.env.user.partner_id.commercial_partner_id
        # sudo: the merchant sees only their own shop's vouchers, selected here
        return (
            request.env["credit.voucher"]
            .sudo()
            .search(
                [("merchant_id", "=", merchant.id), ("state", "in", ("issued", "honoured"))],
                order="state, issue_date desc, id desc",
                limit=200,
            )
        )

    @http.route("/my/credit/vouchers", type="http", auth="user", methods=["GET"], website=True)
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
            voucher = request.env["credit.voucher"].honour(code)
        except UserError as exc:  # AccessError is a UserError: a clear message, no traceback
            values["error"] = exc.args[0]
        else:
            values["message"] = request.env._(
                "Hand over %(reward)s to %(resident)s.",
                reward=voucher.sudo().product_tmpl_id.name,
                resident=voucher.sudo().partner_id.name,
            )
        values["vouchers"] = self._credit_merchant_vouchers()
        return request.render("community_credit.portal_merchant_vouchers", values)
