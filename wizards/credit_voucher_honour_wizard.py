from odoo import fields, models

from ..models.utils import check_caller


class CreditVoucherHonourWizard(models.TransientModel):
    _name = "credit.voucher.honour.wizard"
    _description = "Hand Over a Reward"

    code = fields.Char(required=True, help="Scan the voucher's QR code or type its code.")

    def action_confirm(self):
        """Staff at an exchange point hand over the reward of the voucher whose
        code the resident shows (credit.voucher._honour checks the code and
        that the resident lives in the places the user looks after)."""
        self.ensure_one()
        check_caller(self, "community_credit.group_credit_grid_worker")
        voucher = self.env["credit.voucher"]._honour(self.code)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._(
                    "Hand over %(reward)s to %(resident)s.",
                    reward=voucher.sudo().product_tmpl_id.name,
                    resident=voucher.sudo().partner_id.name,
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
