from odoo import api, fields, models


class CreditVolunteerService(models.Model):
    """One attendance of a volunteer at an event: the hours served and the
    ledger line of the points it earned. Kept when attendance is undone (as
    cancelled), like the ledger itself."""

    _name = "credit.volunteer.service"
    _description = "Volunteer Service"
    _inherit = ["credit.workflow.mixin"]
    _order = "date desc, id desc"
    # recorded and cancelled by attendance (event.registration, under sudo) only
    _credit_user_fields = frozenset()

    registration_id = fields.Many2one(
        "event.registration", required=True, readonly=True, ondelete="restrict", index=True
    )
    event_id = fields.Many2one("event.event", required=True, readonly=True, index=True)
    partner_id = fields.Many2one(
        "res.partner", string="Volunteer", required=True, readonly=True, index=True
    )
    date = fields.Date(required=True, readonly=True, index=True)
    hours = fields.Float(readonly=True, aggregator="sum")
    points = fields.Integer(related="ledger_line_id.points", store=True, aggregator="sum")
    ledger_line_id = fields.Many2one("credit.ledger.line", readonly=True)
    state = fields.Selection(
        [("done", "Served"), ("cancelled", "Cancelled")],
        default="done",
        required=True,
        readonly=True,
        index=True,
    )
    team_id = fields.Many2one("credit.volunteer.team", readonly=True, index=True)
    community_id = fields.Many2one("credit.place", readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)

    @api.model_create_multi
    def create(self, vals_list):
        services = super().create(vals_list)
        # service hours may complete a credit repair (信用修复) of the volunteer
        self.env["credit.repair"]._check_partners(
            services.filtered(lambda s: s.state == "done").partner_id
        )
        return services
