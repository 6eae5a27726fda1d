from contextlib import contextmanager

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.osv import expression

from .credit_notice import PREFERRED_CHANNELS
from .credit_place import path_within, place_paths
from .utils import check_caller

GRID = "community_credit.group_credit_grid_worker"
MANAGER = "community_credit.group_credit_manager"
FINANCE = "community_credit.group_credit_finance"
# what makes a contact a subject of a place (and so of the staff who look after
# it): set by grid workers within their places, by the council anywhere
SUBJECT_FIELDS = ("credit_place_id", "credit_household_id", "credit_role_ids",
                  "credit_notice_channel")  # fmt: skip
# stored values derived by the server, never given by hand
SYSTEM_FIELDS = ("credit_is_subject", "credit_community_id")

# Transactions in which the contact merge (wizards/base_partner_merge_automatic_wizard.py)
# is running: there unlink() archives the contacts that this addon's records still refer
# to (ledger lines, balances) instead of deleting them. Server state, set by the merge's
# own code around Odoo's merge: nothing a client sends (context, arguments) reaches it.
_MERGING = set()


@contextmanager
def merging(env):
    """Within this block, contacts unlinked in env's transaction that this addon's
    records refer to are archived instead (the contact merge)."""
    key = id(env.transaction)
    _MERGING.add(key)
    try:
        yield
    finally:
        _MERGING.discard(key)


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
    credit_in_scope = fields.Boolean(
        string="Credit Figures Shown",
        compute="_compute_credit_in_scope",
        help="Whether you may see this subject's credit figures: grid workers see those "
        "of the places they look after, the council and finance every subject's.",
    )

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

    @api.depends_context("uid")
    def _compute_credit_in_scope(self):
        visible = self._credit_in_scope()
        for partner in self:
            partner.credit_in_scope = partner in visible

    @api.depends_context("uid", "company")
    def _compute_credit_balance(self):
        # sudo: the figures of the contacts whose figures the user may see (scope)
        rows = (
            self.env["credit.balance"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", self._credit_in_scope().ids),
                    ("company_id", "=", self.env.company.id),
                ]
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
        # nobody finds out another's points by searching: only contacts in scope
        return expression.AND([domain, self._credit_scope_domain()])

    @api.depends_context("uid", "company")
    def _compute_credit_period_points(self):
        today = fields.Date.context_today(self)
        lines = self.env["credit.ledger.line"].sudo()  # totals of the contacts in scope
        base = [
            ("partner_id", "in", self._credit_in_scope().ids),
            ("company_id", "=", self.env.company.id),
        ]
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

    @api.depends_context("uid", "company")
    def _compute_credit_duty(self):
        today = fields.Date.context_today(self)
        services = self.env["credit.volunteer.service"].sudo()  # of the contacts in scope
        visible = self._credit_in_scope()
        totals = {
            partner: (count, hours)
            for partner, count, hours in services._read_group(
                [
                    ("partner_id", "in", visible.ids),
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
            roles = (
                partner.credit_role_ids if partner in visible else self.env["credit.subject.role"]
            )
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
        if user.partner_id != self:
            if not (user.has_group(GRID) or user.has_group(FINANCE)):
                raise AccessError(
                    self.env._("Only credit staff and the volunteer may print this certificate.")
                )
            # grid workers: the volunteers of their places only
            self._credit_check_scope()
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

    @api.model_create_multi
    def create(self, vals_list):
        partners = self
        if not self.env.su:
            partners = self._credit_without_forged_defaults()
            context = partners.env.context
            # a default_<field> key is a value like any other: checked as one
            defaults = {
                name: context[f"default_{name}"]
                for name in SUBJECT_FIELDS
                if f"default_{name}" in context
            }
            for vals in vals_list:
                self._credit_check_system_vals(vals)
                given = {
                    name: value
                    for name, value in {**defaults, **vals}.items()
                    if name in SUBJECT_FIELDS and _given(name, value)
                }
                self.browse()._credit_check_subject_vals(given)
        return super(ResPartner, partners).create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._credit_check_system_vals(vals)
            self._credit_check_subject_vals(self._credit_changing(vals))
        return super().write(vals)

    def unlink(self):
        if id(self.env.transaction) in _MERGING:
            kept = self.env["base.partner.merge.automatic.wizard"]._credit_kept(self)
            kept.action_archive()
            return super(ResPartner, self - kept).unlink()
        return super().unlink()

    def action_view_credit_ledger(self):
        self.ensure_one()
        check_caller(self, GRID, FINANCE)
        self._credit_check_scope()
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

    def _get_report_base_filename(self):
        """The file name of the passbook a resident downloads on the portal (the
        portal's report download names its files after this)."""
        self.ensure_one()
        return self.env._("Points Passbook - %(name)s", name=self.name or "")

    @api.depends_context("uid")
    def _compute_credit_commitment_count(self):
        if not self.env["credit.commitment"].has_access("read"):
            self.credit_commitment_count = 0
            return
        # record rules: the commitments of the subjects the user looks after
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
        check_caller(self, GRID)
        self._credit_check_scope()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.action_credit_commitment"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def action_grant_credit_points(self):
        check_caller(self, GRID)
        self._credit_check_scope()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_grant_wizard_action"
        )
        action["context"] = {"default_partner_ids": self.ids}
        return action

    # ---------------------------------------------------------------- scope
    @api.model
    def _credit_sees_all(self):
        """Server code, the council and finance see every subject's figures."""
        user = self.env.user
        return self.env.su or user.has_group(MANAGER) or user.has_group(FINANCE)

    def _credit_in_scope(self, own=True):
        """The contacts of `self` whose credit figures the user may see: every one
        for the council, finance and server code; for grid workers and reviewers,
        those living in the places they look after; everybody sees their own
        (unless `own` is False)."""
        if self._credit_sees_all():
            return self
        user = self.env.user
        paths = place_paths(user.credit_place_ids) if user.has_group(GRID) else ()
        # sudo: where the contacts live, to compare with the user's places
        return self.filtered(
            lambda p: (
                (own and p.id == user.partner_id.id)
                or path_within(p.sudo().credit_place_id.parent_path, paths)
            )
        )

    @api.model
    def _credit_scope_domain(self):
        """The contacts in scope, as a search domain (see _credit_in_scope)."""
        if self._credit_sees_all():
            return expression.TRUE_DOMAIN
        user = self.env.user
        own = [("id", "=", user.partner_id.id)]
        if not (user.has_group(GRID) and user.credit_place_ids):
            return own
        return expression.OR([own, [("credit_place_id", "child_of", user.credit_place_ids.ids)]])

    def _credit_check_scope(self, own=True):
        """Refuse staff who do not look after every one of these subjects."""
        if self._credit_sees_all():
            return
        outside = self - self._credit_in_scope(own=own)
        if outside:
            raise AccessError(
                self.env._(
                    "%(subjects)s do not live in the places you look after.",
                    subjects=", ".join(outside.sudo().mapped("name")),
                )
            )

    @api.model
    def _credit_check_system_vals(self, vals):
        """Refuse the values the server derives (never given by hand)."""
        refused = [name for name in SYSTEM_FIELDS if name in vals]
        if refused:
            raise AccessError(
                self.env._(
                    "%(fields)s of %(model)s change only through the workflow (its "
                    "buttons), never by hand.",
                    fields=", ".join(sorted({self._fields[n].string for n in refused})),
                    model=self._description,
                )
            )

    @api.model
    def _credit_without_forged_defaults(self):
        """Without the `default_` context keys of the derived values."""
        keys = {f"default_{name}" for name in SYSTEM_FIELDS}
        if not keys & set(self.env.context):
            return self
        # the same context less the forged defaults (companies, language... stay)
        context = {k: v for k, v in self.env.context.items() if k not in keys}
        return self.with_context(context)  # pylint: disable=context-overridden

    def _credit_changing(self, vals):
        """The subject fields of `vals` that change at least one of the contacts
        (Odoo's own tools, such as the contact merge, write them back unchanged)."""
        changing = {}
        for name in SUBJECT_FIELDS:
            if name not in vals:
                continue
            field = self._fields[name]
            if field.type == "many2many":
                changing[name] = vals[name]
                continue
            new = vals[name] or False
            # sudo: the values as they are, to compare
            for partner in self.sudo():
                old = partner[name].id if field.type == "many2one" else partner[name]
                if (old or False) != new:
                    changing[name] = vals[name]
                    break
        return changing

    def _credit_check_subject_vals(self, vals):
        """Who may place contacts (`self`; none when creating one), put them in a
        household, give them roles or choose how they are told: the council
        anywhere; grid workers and reviewers for subjects living in the places
        they look after, moving them only between those places. The place,
        household and roles given must be ones the user may read."""
        if self.env.su or not vals:
            return
        user = self.env.user
        is_manager = user.has_group(MANAGER)
        if not (is_manager or user.has_group(GRID)):
            raise AccessError(
                self.env._(
                    "Only grid workers and the council may change where a subject lives, "
                    "their household, their credit roles or how they are told."
                )
            )
        place = self.env["credit.place"].browse(vals.get("credit_place_id") or [])
        household = self.env["credit.household"].browse(vals.get("credit_household_id") or [])
        roles = self.env["credit.subject.role"].browse(
            [i for c in vals.get("credit_role_ids") or [] for i in _command_ids(c)]
        )
        for record in (place, household, roles):
            record.exists().check_access("read")
        if is_manager:
            return
        places = user.credit_place_ids
        # the contacts as they live now: nobody places themselves, or anybody
        # else from outside their places, where they may grant points
        self._credit_check_scope(own=False)
        if not self and "credit_place_id" not in vals:
            # a new contact given a household or roles only would live nowhere
            raise AccessError(self.env._("Give the new subject one of the places you look after."))
        if "credit_place_id" in vals and not place._is_within(places):
            raise AccessError(
                self.env._(
                    "You can move subjects only to the places you look after, not to %(place)s.",
                    place=place.display_name or self.env._("no place"),
                )
            )
        if household and not household.sudo().place_id._is_within(places):
            raise AccessError(
                self.env._(
                    "Household %(household)s is not in the places you look after.",
                    household=household.sudo().name,
                )
            )


def _given(name, value):
    """Whether a creation really gives a subject field (not its empty default)."""
    if name == "credit_role_ids":
        return any(_command_ids(command) for command in value or [])
    if name == "credit_notice_channel":
        return bool(value) and value != "portal"
    return bool(value)


def _command_ids(command):
    """The record ids an x2many command links (SET, LINK), or none."""
    if isinstance(command, (list, tuple)) and command:
        if command[0] == 6 and len(command) > 2:
            return [i for i in command[2] if isinstance(i, int)]
        if command[0] == 4 and len(command) > 1 and isinstance(command[1], int):
            return [command[1]]
    return []
