from odoo import api, fields, models

from .event_event import SET_BY, check_rule_setter, refuse_set_by, without_set_by_default

# what events of the type inherit: the rule (points) and the hours
TYPE_CONFIG = ("credit_rule_id", "credit_hours")


class EventType(models.Model):
    _inherit = "event.type"

    credit_rule_id = fields.Many2one(
        "credit.rule",
        domain=[("points", ">", 0)],
        help="The rule under which attending events of this type earns points.",
    )
    credit_hours = fields.Float(
        string="Service Hours",
        help="Service hours per attendee; 0 takes the event's duration.",
    )
    credit_rule_set_by_id = fields.Many2one(
        "res.users",
        string="Points Set By",
        readonly=True,
        copy=False,
        help="Who last chose the rule or hours of this type, checked then.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        refuse_set_by(self, vals_list)
        types = without_set_by_default(self)
        if self.env.su:
            records = super(EventType, types).create(vals_list)
            records._credit_record_setter()
            return records
        # a refused configuration leaves nothing behind, for callers that go on
        with self.env.cr.savepoint():
            records = super(EventType, types).create(vals_list)
            records._credit_check_setter()
            records._credit_record_setter()
        return records

    def write(self, vals):
        refuse_set_by(self, [vals])
        if not set(TYPE_CONFIG) & set(vals):
            return super().write(vals)
        if self.env.su:
            result = super().write(vals)
            self._credit_record_setter()
            return result
        with self.env.cr.savepoint():
            result = super().write(vals)
            self._credit_check_setter()
            self._credit_record_setter()
        return result

    def _credit_check_setter(self):
        """The user may choose what attending events of these types earns: a
        type serves every community, so the council only (see check_rule_setter)."""
        for event_type in self.sudo().filtered("credit_rule_id"):
            check_rule_setter(self.env, event_type.credit_rule_id, label=event_type.name)

    def _credit_record_setter(self):
        types = self.sudo().filtered("credit_rule_id")
        if types:
            # sudo: the server records who set the rule, checked before (or server code)
            types.write({SET_BY: self.env.uid})
