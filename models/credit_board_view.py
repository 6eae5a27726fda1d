"""Who viewed the boards (查看记录): a row per board shown to somebody, kept for
the council. Written only by the logging helper; nobody edits or deletes it."""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

VIEW_CHANNELS = [("portal", "Portal"), ("backend", "Backend")]


class CreditBoardView(models.Model):
    _name = "credit.board.view"
    _description = "Credit Board View Log"
    _order = "viewed_on desc, id desc"
    _check_company_auto = True

    board_id = fields.Many2one(
        "credit.board", required=True, readonly=True, index=True, ondelete="cascade"
    )
    kind = fields.Selection(related="board_id.kind")
    user_id = fields.Many2one("res.users", string="Viewer", required=True, readonly=True)
    partner_id = fields.Many2one("res.partner", string="Contact", readonly=True, index=True)
    viewed_on = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    ip = fields.Char(string="IP Address", readonly=True)
    channel = fields.Selection(VIEW_CHANNELS, required=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)

    @api.model_create_multi
    def create(self, vals_list):
        # written by _log only (under sudo): whatever the context, nobody else adds rows
        if not self.env.su:
            self.check_access("create")
            raise AccessError(self.env._("The board view log is written when a board is shown."))
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        # nobody changes the log, whatever the context; not even server code
        if not self.env.su:
            self.check_access("write")
        raise UserError(self.env._("The board view log cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The board view log cannot be deleted."))

    @api.model
    def _log(self, boards, channel, ip=None):
        """One row per board of `boards` seen by the current user, in one INSERT."""
        if not boards:
            return self.browse()
        now = fields.Datetime.now()
        user = self.env.user
        # sudo: nobody has the right to create log rows; this helper is the only writer
        return self.sudo().create(
            [
                {
                    "board_id": board.id,
                    "user_id": user.id,
                    "partner_id": user.partner_id.id,
                    "viewed_on": now,
                    "ip": ip or False,
                    "channel": channel,
                    "company_id": board.sudo().company_id.id,
                }
                for board in boards
            ]
        )
