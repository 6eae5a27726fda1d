from odoo import fields, models


class CreditVoucherHonourWizard(models.TransientModel):
    _name = "credit.voucher.honour.wizard"
    _description = "Hand Over a Reward"

    code = fields.Char(required=True, help="Scan the voucher's QR code or type its code.")

    def action_confirm(self):
        self.ensure_one()
        voucher = self.env["credit.voucher"].honour(self.code)
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
