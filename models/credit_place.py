from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .utils import check_caller, mask_name


def place_paths(places):
    """The parent paths of places, as a tuple for str.startswith()."""
    return tuple(path for path in places.mapped("parent_path") if path)


def path_within(path, paths):
    """True when the place of `path` lies in (or is) one of the places of `paths`."""
    return bool(path and paths and path.startswith(paths))


PLACE_TYPES = [
    ("city", "City / District"),
    ("community", "Community"),
    ("grid", "Grid"),
    ("estate", "Estate"),
    ("building", "Building"),
]
# which kinds of place may stand directly below which
ALLOWED_PARENTS = {
    "city": {False, "city"},
    "community": {False, "city"},
    "grid": {"community", "grid", "estate"},
    "estate": {"community", "grid"},
    "building": {"community", "grid", "estate"},
}


class CreditPlace(models.Model):
    _name = "credit.place"
    _description = "Credit Place"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _parent_store = True
    _order = "complete_name"
    _rec_name = "complete_name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=False, tracking=True)
    code = fields.Char(tracking=True)
    place_type = fields.Selection(
        PLACE_TYPES, string="Type", required=True, default="community", tracking=True
    )
    parent_id = fields.Many2one(
        "credit.place",
        string="Parent Place",
        index=True,
        ondelete="restrict",
        check_company=True,
        tracking=True,
    )
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many("credit.place", "parent_id", string="Sub-places")
    complete_name = fields.Char(compute="_compute_complete_name", recursive=True, store=True)
    community_id = fields.Many2one(
        "credit.place",
        compute="_compute_community_id",
        recursive=True,
        store=True,
        index=True,
        help="The community this place belongs to (itself for a community).",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    active = fields.Boolean(default=True)
    partner_ids = fields.One2many(
        "res.partner", "credit_place_id", string="Subjects living or based here"
    )
    subject_count = fields.Integer(compute="_compute_subject_count")
    # Community policy (meaningful on communities only)
    allow_deduction = fields.Boolean(
        string="Allow Deductions",
        default=True,
        tracking=True,
        help="Untick for communities whose principle is 'points are never deducted, "
        "never reset' (积分不扣分,永远不清零): deduction rules and deduction lines "
        "are then refused.",
    )
    points_expire = fields.Boolean(
        tracking=True,
        help="Unspent points expire after the given number of months.",
    )
    expiry_months = fields.Integer(string="Expire After (months)", default=24, tracking=True)
    household_points_mode = fields.Selection(
        [("sum", "Sum of the members"), ("average", "Average per member")],
        string="Household Points",
        default="sum",
        required=True,
        help="How a household's points are derived from its members' balances.",
    )

    # Claim review policy (meaningful on communities only)
    claim_council_stage = fields.Boolean(
        string="Council Re-check",
        default=True,
        tracking=True,
        help="Claims approved by a review group go to the council for a second check.",
    )
    claim_publication = fields.Boolean(
        string="Publish Before Posting",
        default=True,
        tracking=True,
        help="Approved claims are published to the residents of their estate or grid, "
        "who may object during the publication window (公示).",
    )
    claim_publication_days = fields.Integer(
        string="Publication Window (days)", default=7, tracking=True
    )
    claim_post_immediately = fields.Boolean(
        string="Post at Approval",
        tracking=True,
        help="Post the points as soon as a claim is approved; an objection upheld "
        "during publication then reverses them. Otherwise points post when the "
        "publication window closes without an upheld objection.",
    )
    claim_mask_names = fields.Boolean(
        string="Mask Names When Publishing",
        default=True,
        tracking=True,
        help="Published lists show 张*三 instead of full names.",
    )
    claim_review_days = fields.Integer(
        string="Days to Review",
        default=7,
        tracking=True,
        help="Deadline of each review stage, counted from the day the claim reaches it.",
    )
    claim_escalation_days = fields.Integer(
        string="Escalate After (days overdue)",
        default=3,
        tracking=True,
        help="Claims overdue by this many days are escalated to the council secretary.",
    )
    claim_daily_limit = fields.Integer(
        string="Self-declarations per Resident per Day",
        default=5,
        tracking=True,
    )
    objection_daily_limit = fields.Integer(
        string="Objections per Resident per Day",
        default=5,
        tracking=True,
        help="How many published claims one resident may object to in one day.",
    )
    # Boards policy (meaningful on communities only)
    board_size = fields.Integer(
        default=10,
        tracking=True,
        help="How many subjects a red board (or a black board) lists.",
    )
    board_min_points = fields.Integer(
        string="Red Board Minimum",
        default=1,
        tracking=True,
        help="Points a subject must have earned in the period to appear on the red board.",
    )
    board_mask_names = fields.Boolean(
        string="Mask Names on Boards",
        default=True,
        tracking=True,
        help="Published boards show names as 张*三.",
    )
    board_black = fields.Boolean(
        string="Publish Black Boards",
        tracking=True,
        help="Off by default: many communities do not publish deductions. When on, the "
        "council may publish a black board of the period's deductions.",
    )
    board_black_min_points = fields.Integer(
        string="Black Board Minimum",
        default=5,
        tracking=True,
        help="Points a subject must have lost in the period to appear on the black board.",
    )
    appeal_days = fields.Integer(
        string="Appeal Window (days)",
        default=15,
        tracking=True,
        help="Days a subject has, from the notice of a deduction or rejection, to appeal.",
    )
    board_black_expiry_days = fields.Integer(
        string="Black Board Shown For (days)",
        default=180,
        tracking=True,
        help="A published black board disappears from the residents' pages this many days "
        "after it was published (it stays on record for the council). 0: never.",
    )
    board_black_unmask = fields.Boolean(
        string="Full Names on Black Boards",
        tracking=True,
        help="Off by default: black boards always show names as 张*三, whatever the "
        "names setting of the other boards. Tick only if the council has decided to "
        "publish deductions with full names.",
    )
    # Credit repair policy (meaningful on communities only)
    repair_enabled = fields.Boolean(
        string="Credit Repair",
        tracking=True,
        help="A subject may earn back a deduction (信用修复) by volunteer service within a "
        "period; the repaired deduction stays in the history, marked repaired.",
    )
    repair_hours = fields.Float(
        string="Service Hours per Deduction",
        default=4.0,
        tracking=True,
        help="Hours of volunteer service that earn back one deduction.",
    )
    repair_days = fields.Integer(
        string="Repair Within (days)",
        default=90,
        tracking=True,
        help="The service must be done within this many days after the deduction.",
    )
    claim_council_user_id = fields.Many2one(
        "res.users",
        string="Council Secretary",
        tracking=True,
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("community_credit.group_credit_manager").ids)
        ],
        help="Receives the council re-check, objections and escalated claims as activities.",
    )
    # Points liability (meaningful on communities only)
    point_value = fields.Float(
        digits=(16, 4),
        tracking=True,
        help="What one point is worth in the company currency (e.g. 0.10), to value "
        "the points residents hold against the merchants' pledges.",
    )
    finance_user_id = fields.Many2one(
        "res.users",
        string="Finance Officer",
        tracking=True,
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("community_credit.group_credit_finance").ids)
        ],
        help="Is told (an activity) when the pledges no longer cover the points liability; "
        "the council secretary otherwise.",
    )
    budget_count = fields.Integer(compute="_compute_budget_count")

    _sql_constraints = [
        (
            "appeal_days_positive",
            "CHECK(appeal_days > 0)",
            "Subjects must have at least one day to appeal.",
        ),
        (
            "code_company_uniq",
            "unique(code, company_id)",
            "A place code must be unique per company.",
        ),
        (
            "expiry_months_positive",
            "CHECK(expiry_months > 0)",
            "Points must expire after at least one month.",
        ),
        (
            "claim_days_positive",
            "CHECK(claim_publication_days > 0 AND claim_review_days > 0 "
            "AND claim_escalation_days >= 0 AND claim_daily_limit >= 0 "
            "AND objection_daily_limit >= 0)",
            "Publication and review periods must last at least one day; limits cannot be negative.",
        ),
        (
            "board_repair_positive",
            "CHECK(board_black_expiry_days >= 0 AND repair_hours > 0 AND repair_days > 0)",
            "Repair hours and days must be positive; a black board's display days cannot "
            "be negative (0 means never expire).",
        ),
    ]

    @api.depends("name", "parent_id.complete_name")
    def _compute_complete_name(self):
        for place in self:
            if place.parent_id:
                place.complete_name = f"{place.parent_id.complete_name} / {place.name}"
            else:
                place.complete_name = place.name

    @api.depends("place_type", "parent_id.community_id")
    def _compute_community_id(self):
        for place in self:
            if place.place_type == "community":
                place.community_id = place
            else:
                place.community_id = place.parent_id.community_id

    def _compute_subject_count(self):
        counts = dict(
            self.env["res.partner"]._read_group(
                [("credit_place_id", "child_of", self.ids)],
                ["credit_place_id"],
                ["__count"],
            )
        )
        for place in self:
            place.subject_count = sum(
                count
                for sub, count in counts.items()
                if sub.parent_path.startswith(place.parent_path or "/")
            )

    def _compute_budget_count(self):
        if not self.env["credit.budget"].has_access("read"):
            self.budget_count = 0
            return
        counts = dict(
            self.env["credit.budget"]._read_group(
                [("place_id", "in", self.ids)], ["place_id"], ["__count"]
            )
        )
        for place in self:
            place.budget_count = counts.get(place, 0)

    @api.constrains("parent_id")
    def _check_parent(self):
        if self._has_cycle():
            raise ValidationError(self.env._("A place cannot be inside itself."))

    @api.constrains("parent_id", "place_type")
    def _check_hierarchy(self):
        labels = dict(self._fields["place_type"]._description_selection(self.env))
        for place in self:
            parent_type = place.parent_id.place_type or False
            if parent_type not in ALLOWED_PARENTS[place.place_type]:
                raise ValidationError(
                    self.env._(
                        "A %(kind)s cannot be placed under %(parent)s. "
                        "Use the hierarchy city → community → grid or estate → building.",
                        kind=labels[place.place_type],
                        parent=labels[parent_type] if parent_type else self.env._("nothing"),
                    )
                )

    def action_view_subjects(self):
        self.ensure_one()
        check_caller(self)
        action = self.env["ir.actions.act_window"]._for_xml_id("contacts.action_contacts")
        action.update(
            domain=[("credit_place_id", "child_of", self.id)],
            context={"default_credit_place_id": self.id},
        )
        return action

    def action_view_budgets(self):
        self.ensure_one()
        check_caller(
            self, "community_credit.group_credit_manager", "community_credit.group_credit_finance"
        )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_budget_action"
        )
        action.update(domain=[("place_id", "=", self.id)], context={"default_place_id": self.id})
        return action

    def _is_within(self, places):
        """True when this place lies in (or is) one of `places`; an empty
        recordset lies nowhere."""
        return len(self) == 1 and path_within(self.parent_path, place_paths(places))

    def _credit_exchange_record(self, month=None):
        """The community's rewards handed over in a month (the previous one by
        default), names masked, for the monthly public exchange record."""
        self.ensure_one()
        if not (
            self.env.user.has_group("community_credit.group_credit_manager")
            or self.env.user.has_group("community_credit.group_credit_finance")
        ):
            raise AccessError(self.env._("Only the council and finance publish exchange records."))
        today = fields.Date.context_today(self)
        start = (month or (today.replace(day=1) - relativedelta(months=1))).replace(day=1)
        end = start + relativedelta(months=1, days=-1)
        # sudo: the record shows every resident's exchange, masked
        vouchers = (
            self.env["credit.voucher"]
            .sudo()
            .search(
                [
                    ("community_id", "=", self.community_id.id or self.id),
                    ("state", "=", "honoured"),
                    ("issue_date", ">=", start),
                    ("issue_date", "<=", end),
                ],
                order="issue_date, id",
            )
        )
        rows = [
            {
                "date": voucher.issue_date,
                "resident": mask_name(voucher.partner_id.name),
                "reward": voucher.product_tmpl_id.name,
                "merchant": voucher.merchant_id.name or "",
                "points": voucher.points,
                "value": voucher.donated_value,
            }
            for voucher in vouchers
        ]
        return {
            "month": f"{start:%Y-%m}",
            "rows": rows,
            "points": sum(r["points"] for r in rows),
            "value": sum(r["value"] for r in rows),
        }
