from odoo import models
from odoo.http import request


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        """Times on the pages, the merchant's hand-overs and the PDFs a user
        downloads read in the user's time zone; a user without one (most
        residents and shopkeepers never set it) reads the community's, not UTC.
        Set before the routing's own dispatch, so that the records it binds to
        the route and the pages it renders carry it."""
        if request.env.uid and not request.env.context.get("tz"):
            tz = cls._credit_default_tz()
            if tz:
                request.update_context(tz=tz)
        return super()._pre_dispatch(rule, args)

    @classmethod
    def _credit_default_tz(cls):
        """The time zone of a user who has none: the current company's (its
        contact's), else that of the user's own company."""
        # sudo: only the time zone of the user's own companies is read
        user = request.env.user.sudo()
        if user.tz:
            return user.tz
        return request.env.company.sudo().partner_id.tz or user.company_id.partner_id.tz
