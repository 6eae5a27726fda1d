from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.osv import expression

from .credit_notice import PREFERRED_CHANNELS

# Given in the context by the contact merge (wizards/base_partner_merge_automatic_wizard.py)
# only: no value a client sends is this object. With it, unlink() archives the contacts
# that this addon's records still refer to (ledger lines, balances) instead of deleting them.
CREDIT_MERGE_KEEP = object()


class ResPartner(models.Model):
    _inherit = "res.partner"

    credit_role_ids = fields.Many2many(
        "credit.subject.role",
        string="Credit Roles",
        help="Resident, party member, building head, grid worker, volunteer; or, for "
        "organisations, resident unit, merchant, social organisation, party group. "
        "A subject may hold several roles.",
    )
    credit_is_subject = fields.Boolean(
        string="Credit Subject",
        compute="_compute_credit_is_subject",
        store=True,
        index=True,
    )
    credit_place_id = fields.Many2one(
        "credit.place",
        index=True,
        tracking=True,
        help="Where the subject lives or is based: a building, estate, grid or community.",
    )
    credit_community_id = fields.Many2one(
        related="credit_place_id.community_id",
        string="Community",
        store=True,
        index=True,
    )
    credit_household_id = fields.Many2one(
        "credit.household",
        string="Household",
        index=True,
        tracking=True,
    )
    credit_id_number = fields.Char(
        string="ID Number",
        groups="community_credit.group_credit_manager",
        copy=False,
        help="Identity card number, used to find the same person twice. "
        "Only credit managers can see it.",
    )
    credit_notice_channel = fields.Selection(
        PREFERRED_CHANNELS,
        string="Notices By",
        default="portal",
        help="How the subject is told of deductions and rejected claims: portal, "
        "e-mail, or SMS where Odoo's SMS app is installed (otherwise e-mail, then portal).",
    )
    credit_balance = fields.Integer(
        string="Credit Points",
        compute="_compute_credit_balance",
        search="_search_credit_balance",
    )
    credit_level_id = fields.Many2one("credit.level", compute="_compute_credit_balance")
    credit_points_month = fields.Integer(
        string="Points This Month", compute="_compute_credit_period_points"
    )
    credit_points_year = fields.Integer(
        string="Points This Year", compute="_compute_credit_period_points"
    )
    credit_line_count = fields.Integer(string="Ledger Lines", compute="_compute_credit_balance")
    credit_services_year = fields.Integer(
        string="Services This Year", compute="_compute_credit_duty"
    )
    credit_commitment_count = fields.Integer(
        string="Commitments", compute="_compute_credit_commitment_count"
    )
    credit_hours_year = fields.Float(string="Hours This Year", compute="_compute_credit_duty")
    credit_duty_progress = fields.Char(
        string="Yearly Duty",
        compute="_compute_credit_duty",
        help="Progress towards the yearly services and points their roles require "
        "(e.g. party members: 12 services and 5 points).",
    )
    credit_duty_met = fields.Boolean(string="Yearly Duty Met", compute="_compute_credit_duty")

    _sql_constraints = [
        (
            "credit_id_number_uniq",
            "unique(credit_id_number)",
            "Another contact already has this ID number: open that contact instead of "
            "creating the person twice.",
        ),
    ]

    @api.depends("credit_role_ids")
    def _compute_credit_is_subject(self):
        for partner in self:
            partner.credit_is_subject = bool(partner.credit_role_ids)

    def _compute_credit_balance(self):
        rows = (
            self.env["credit.balance"]
            .sudo()
            .search(  # figures of visible contacts
                [("partner_id", "in", self.ids), ("company_id", "=", self.env.company.id)]
            )
        )
        by_partner = {row.partner_id.id: row for row in rows}
        for partner in self:
            row = by_partner.get(partner.id)
            partner.credit_balance = row.balance if row else 0
            partner.credit_level_id = row.level_id if row else False
            partner.credit_line_count = row.line_count if row else 0

    def _search_credit_balance(self, operator, value):
        if operator not in ("=", "!=", "<", "<=", ">", ">="):
            raise ValidationError(self.env._("Unsupported search on credit points."))
        rows = (
            self.env["credit.balance"]
            .sudo()
            ._search([("balance", operator, value), ("company_id", "=", self.env.company.id)])
        )
        domain = [("id", "in", rows.subselect("partner_id"))]
        if (
            (operator in ("<", "<=") and value >= 0)
            or (operator in ("=", ">=") and value <= 0)
            or (operator == ">" and value < 0)
            or (operator == "!=" and value != 0)
        ):
            # subjects without any movement have 0 points
            without = (
                self.env["credit.balance"]
                .sudo()
                ._search([("company_id", "=", self.env.company.id)])
            )
            domain = expression.OR([domain, [("id", "not in", without.subselect("partner_id"))]])
        return domain

    @api.depends_context("company")
    def _compute_credit_period_points(self):
        today = fields.Date.context_today(self)
        lines = self.env["credit.ledger.line"].sudo()  # totals of the visible contact
        base = [("partner_id", "in", self.ids), ("company_id", "=", self.env.company.id)]
        month = dict(
            lines._read_group(
                [*base, ("date", ">=", today.replace(day=1))], ["partner_id"], ["points:sum"]
            )
        )
        year = dict(
            lines._read_group(
                [*base, ("date", ">=", today.replace(month=1, day=1))],
                ["partner_id"],
                ["points:sum"],
            )
        )
        for partner in self:
            partner.credit_points_month = month.get(partner, 0)
            partner.credit_points_year = year.get(partner, 0)

    @api.depends_context("company")
    def _compute_credit_duty(self):
        today = fields.Date.context_today(self)
        services = self.env["credit.volunteer.service"].sudo()  # of the visible contact
        totals = {
            partner: (count, hours)
            for partner, count, hours in services._read_group(
                [
                    ("partner_id", "in", self.ids),
                    ("state", "=", "done"),
                    ("date", ">=", today.replace(month=1, day=1)),
                    ("date", "<=", today.replace(month=12, day=31)),
                ],
                ["partner_id"],
                ["__count", "hours:sum"],
            )
        }
        for partner in self:
            count, hours = totals.get(partner, (0, 0.0))
            partner.credit_services_year = count
            partner.credit_hours_year = hours
            roles = partner.credit_role_ids
            need_services = max(roles.mapped("duty_services_year") or [0])
            need_points = max(roles.mapped("duty_points_year") or [0])
            if not (need_services or need_points):
                partner.credit_duty_progress = False
                partner.credit_duty_met = False
                continue
            points = partner.credit_points_year
            partner.credit_duty_met = count >= need_services and points >= need_points
            partner.credit_duty_progress = self.env._(
                "%(services)s / %(need_services)s services, %(points)s / %(need_points)s points",
                services=count,
                need_services=need_services,
                points=points,
                need_points=need_points,
            )

    def _credit_certificate_services(self):
        """The volunteer's services for the certificate, oldest first; whoever may
        print the certificate of this contact may read them."""
        self.ensure_one()
        self.check_access("read")
        user = self.env.user
        staff = user.has_group("community_credit.group_credit_grid_worker") or user.has_group(
            "community_credit.group_credit_finance"
        )
        if not staff and user.partner_id != self:
            raise AccessError(
                self.env._("Only credit staff and the volunteer may print this certificate.")
            )
        return (
            self.env["credit.volunteer.service"]
            .sudo()
            .search([("partner_id", "=", self.id), ("state", "=", "done")], order="date, id")
        )

    @api.constrains("credit_household_id", "credit_place_id")
    def _check_credit_household_place(self):
        for partner in self.filtered("credit_household_id"):
            household = partner.credit_household_id
            if (
                partner.credit_place_id
                and household.community_id
                and partner.credit_community_id != household.community_id
            ):
                raise ValidationError(
                    self.env._(
                        "%(subject)s lives in %(community)s but household %(household)s "
                        "belongs to %(other)s.",
                        subject=partner.name,
                        community=partner.credit_community_id.display_name,
                        household=household.name,
                        other=household.community_id.display_name,
                    )
                )

    def unlink(self):
        if self.env.context.get("credit_merge_keep") is CREDIT_MERGE_KEEP:
            kept = self.env["base.partner.merge.automatic.wizard"]._credit_kept(self)
            kept.action_archive()
            return super(ResPartner, self - kept).unlink()
        return super().unlink()

    def action_view_credit_ledger(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_ledger_line_action"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def _credit_passbook(self):
        """The subject's ledger lines, oldest first, each with the balance after
        it (积分存折); whoever may read the lines may print it."""
        self.ensure_one()
        lines = self.env["credit.ledger.line"].search(
            [("partner_id", "=", self.id)], order="date, id"
        )
        running, rows = 0, []
        for line in lines:
            running += line.points
            rows.append((line, running))
        return rows

    def _compute_credit_commitment_count(self):
        counts = dict(
            self.env["credit.commitment"]._read_group(
                [("partner_id", "in", self.ids), ("state", "!=", "cancelled")],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.credit_commitment_count = counts.get(partner, 0)

    def action_view_credit_commitments(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.action_credit_commitment"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def action_grant_credit_points(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_grant_wizard_action"
        )
        action["context"] = {"default_partner_ids": self.ids}
        return action
