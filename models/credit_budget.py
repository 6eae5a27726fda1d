from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from .credit_workflow_mixin import CheckedVals
from .utils import check_caller, period_bounds

BUDGET_PERIODS = [("month", "Month"), ("quarter", "Quarter"), ("year", "Year")]
BUDGET_PLACE_TYPES = ("community", "grid", "estate")
# the SQL filter of "points issued under rules": positive lines of these origins
# that are still posted (a reversal marks its line reversed, which frees the budget
# of the period and place where the points were granted)
ISSUED_ORIGINS = ["manual", "claim", "event", "contract"]


def period_label(date_from, period):
    """2026-12, 2026-Q4 or 2026."""
    if period == "month":
        return f"{date_from:%Y-%m}"
    if period == "quarter":
        return f"{date_from.year}-Q{(date_from.month - 1) // 3 + 1}"
    return str(date_from.year)


class CreditBudget(models.Model):
    """How many points may be granted under rules in a place and a period.

    The posting path (credit.ledger.line._post) refuses grants past a budget
    unless a council member approves them; each approved overrun is recorded."""

    _name = "credit.budget"
    _description = "Points Issuance Budget"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "date_from desc, place_id"
    _check_company_auto = True
    # the council (access rights); the period's end, the issued figures and the
    # approved overruns follow from the ledger
    _credit_user_fields = frozenset({"place_id", "period", "date_from", "points", "note"})

    # no check_company: the budget's company is its place's (company_id below), so a
    # new budget has none yet and the company domain would offer no place at all;
    # the places offered are those of the user's companies (record rules)
    place_id = fields.Many2one(
        "credit.place",
        required=True,
        index=True,
        tracking=True,
        domain=[("place_type", "in", BUDGET_PLACE_TYPES)],
        help="A community, or a grid or estate within it: grants to subjects living "
        "there (and in the places below) count against the budget.",
    )
    community_id = fields.Many2one(related="place_id.community_id", store=True, index=True)
    period = fields.Selection(BUDGET_PERIODS, required=True, default="month", tracking=True)
    date_from = fields.Date(
        string="Period Start",
        required=True,
        default=fields.Date.context_today,
        tracking=True,
        help="Any day of the period: it is moved to the first day of its period.",
    )
    date_to = fields.Date(string="Period End", compute="_compute_date_to", store=True)
    points = fields.Integer(string="Budget", required=True, tracking=True)
    issued = fields.Integer(
        compute="_compute_issued",
        help="Points granted under rules (manual grants, claims, events, commitments) in "
        "the period to subjects of the place, less the grants reversed since.",
    )
    remaining = fields.Integer(compute="_compute_issued")
    percent = fields.Float(string="Used (%)", compute="_compute_issued")
    overrun_ids = fields.One2many(
        "credit.budget.overrun", "budget_id", string="Approved Overruns", readonly=True
    )
    overrun_count = fields.Integer(compute="_compute_overrun_count")
    note = fields.Text()
    company_id = fields.Many2one(related="place_id.company_id", store=True, index=True)

    _sql_constraints = [
        (
            "place_period_uniq",
            "unique(place_id, period, date_from)",
            "This place already has a budget for this period: change that one.",
        ),
        ("points_positive", "CHECK(points >= 0)", "A budget cannot be negative."),
    ]

    @api.depends("place_id.name", "period", "date_from")
    def _compute_display_name(self):
        for budget in self:
            if budget.date_from and budget.period:
                label = period_label(budget.date_from, budget.period)
                budget.display_name = f"{label} {budget.place_id.name or ''}".strip()
            else:
                budget.display_name = budget.place_id.name or ""

    @api.depends("period", "date_from")
    def _compute_date_to(self):
        for budget in self:
            if budget.date_from and budget.period:
                budget.date_to = period_bounds(budget.date_from, budget.period)[1]
            else:
                budget.date_to = False

    def _compute_issued(self):
        issued = self._issued_by_budget(self.filtered("id").ids)
        for budget in self:
            budget.issued = issued.get(budget.id, 0)
            budget.remaining = budget.points - budget.issued
            budget.percent = 100.0 * budget.issued / budget.points if budget.points else 0.0

    def _compute_overrun_count(self):
        counts = dict(
            self.env["credit.budget.overrun"]._read_group(
                [("budget_id", "in", self.ids)], ["budget_id"], ["__count"]
            )
        )
        for budget in self:
            budget.overrun_count = counts.get(budget, 0)

    @api.constrains("place_id")
    def _check_place_type(self):
        for budget in self:
            if budget.place_id.place_type not in BUDGET_PLACE_TYPES:
                raise ValidationError(
                    self.env._(
                        "%(place)s is not a community, a grid or an estate: budgets are "
                        "set for those places only.",
                        place=budget.place_id.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._credit_checked_vals(vals, creating=True) for vals in vals_list]
        for vals in vals_list:
            self._normalise_period(vals)
        return super().create(vals_list)

    def write(self, vals):
        vals = self._credit_checked_vals(vals)
        if "date_from" in vals or "period" in vals:
            for budget in self:
                budget_vals = CheckedVals(
                    {"period": budget.period, "date_from": budget.date_from, **vals}
                )
                self._normalise_period(budget_vals)
                super(CreditBudget, budget).write(budget_vals)
            return True
        return super().write(vals)

    @api.model
    def _normalise_period(self, vals):
        if vals.get("date_from"):
            period = vals.get("period") or "month"
            vals["date_from"] = period_bounds(fields.Date.to_date(vals["date_from"]), period)[0]

    def action_view_overruns(self):
        self.ensure_one()
        check_caller(
            self, "community_credit.group_credit_manager", "community_credit.group_credit_finance"
        )
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_budget_overrun_action"
        )
        action["domain"] = [("budget_id", "=", self.id)]
        return action

    # ----------------------------------------------------------- business
    @api.model
    def _issued_by_budget(self, budget_ids):
        """{budget_id: points issued} in one aggregate query."""
        if not budget_ids:
            return {}
        self.env["credit.ledger.line"].flush_model(
            ["points", "origin", "state", "date", "place_id", "community_id", "company_id"]
        )
        self.env["credit.place"].flush_model(["parent_path"])
        self.flush_model(["place_id", "community_id", "date_from", "date_to", "company_id"])
        # One sum per budget, correlated: each reads only its community's lines
        # of its period (index on community and date), however long the
        # ledger's history; a line's community is that of its place. A grid's or
        # an estate's budget keeps the lines of the places below it.
        self.env.cr.execute(
            SQL(
                """
                SELECT b.id,
                       (SELECT COALESCE(SUM(l.points), 0)
                          FROM credit_ledger_line l
                         WHERE l.community_id = b.community_id
                           AND l.date BETWEEN b.date_from AND b.date_to
                           AND (b.place_id = b.community_id OR l.place_id = ANY(ARRAY(
                                SELECT lp.id FROM credit_place lp
                                 WHERE lp.parent_path LIKE bp.parent_path || %(any)s)))
                           AND l.company_id = b.company_id
                           AND l.points > 0
                           AND l.state = 'posted'
                           AND l.origin = ANY(%(origins)s))
                  FROM credit_budget b
                  JOIN credit_place bp ON bp.id = b.place_id
                 WHERE b.id = ANY(%(budgets)s)
                """,
                origins=ISSUED_ORIGINS,
                budgets=list(budget_ids),
                any="%",
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _check_lines(self, vals_list, place_paths_by_id, approval=False):
        """Refuse grants past a budget; returns the overruns a council member approved.

        vals_list: new positive lines under rules; place_paths_by_id: {place_id:
        parent_path}. At most one query when no budget applies. The budgets are
        locked (and touched, so that a concurrent transaction that checked the same
        budget fails to serialise and is retried with a fresh snapshot) in id order.
        """
        ancestors = defaultdict(set)  # place id of a line -> ids of its places upwards
        for place_id, path in place_paths_by_id.items():
            ancestors[place_id] = {int(p) for p in (path or "").split("/") if p}
        all_places = sorted(set().union(*ancestors.values())) if ancestors else []
        if not all_places:
            return []
        company_ids = sorted({v["company_id"] for v in vals_list})
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                UPDATE credit_budget b SET write_date = b.write_date
                  FROM (SELECT id FROM credit_budget
                         WHERE place_id = ANY(%(places)s)
                           AND company_id = ANY(%(companies)s)
                           AND date_from <= %(last)s AND date_to >= %(first)s
                      ORDER BY id
                           FOR UPDATE) AS locked
                 WHERE b.id = locked.id
             RETURNING b.id, b.place_id, b.date_from, b.date_to, b.points
                """,
                places=all_places,
                companies=company_ids,
                first=min(v["date"] for v in vals_list),
                last=max(v["date"] for v in vals_list),
            )
        )
        rows = sorted(self.env.cr.fetchall())
        if not rows:
            return []
        batch = defaultdict(int)
        lines_of = defaultdict(list)
        for vals in vals_list:
            for budget_id, place_id, date_from, date_to, _points in rows:
                if place_id in ancestors[vals["place_id"]] and date_from <= vals["date"] <= date_to:
                    batch[budget_id] += vals["points"]
                    lines_of[budget_id].append(vals)
        if not batch:
            return []
        issued = self._issued_by_budget(list(batch))
        approved = bool(approval) and self.env.user.has_group(
            "community_credit.group_credit_manager"
        )
        overruns = []
        for budget_id, _place_id, _date_from, _date_to, points in rows:
            if budget_id not in batch:
                continue
            done = issued.get(budget_id, 0)
            if done + batch[budget_id] <= points:
                continue
            budget = self.browse(budget_id).sudo()  # the granter may not read budgets
            if not approved:
                raise UserError(
                    self.env._(
                        "Granting these %(points)s points would exceed the %(period)s budget "
                        "of %(place)s (%(total)s, %(issued)s issued): the council must "
                        "approve grants past the budget.",
                        points=batch[budget_id],
                        period=period_label(budget.date_from, budget.period),
                        place=budget.place_id.name,
                        total=points,
                        issued=done,
                    )
                )
            overruns.append(
                {
                    "budget_id": budget_id,
                    "points": batch[budget_id],
                    "issued_before": done,
                    "budget_points": points,
                    "points_over": done + batch[budget_id] - max(points, done),
                    "keys": [v["idempotency_key"] for v in lines_of[budget_id]],
                }
            )
        return overruns

    @api.model
    def _record_overruns(self, overruns, lines, reason=False):
        """One credit.budget.overrun per approved overrun, linked to its lines."""
        if not overruns:
            return
        by_key = {line.idempotency_key: line for line in lines}
        reason = reason if isinstance(reason, str) else ""
        vals_list = []
        for overrun in overruns:
            budget_lines = self.env["credit.ledger.line"].browse(
                [by_key[key].id for key in overrun.pop("keys") if key in by_key]
            )
            vals_list.append(
                {
                    **overrun,
                    "user_id": self.env.uid,
                    "line_ids": [fields.Command.set(budget_lines.ids)],
                    "origin": budget_lines[:1].origin,
                    "origin_ref": budget_lines[:1].origin_ref,
                    "reason": reason or budget_lines[:1].description,
                }
            )
        # sudo: the approver is a council member, who reads but does not create
        # overrun records by hand; they are made here only
        records = self.env["credit.budget.overrun"].sudo().create(vals_list)
        for record in records:
            record.budget_id.message_post(
                body=self.env._(
                    "%(user)s approved %(points)s points past the budget (%(over)s over).",
                    user=record.user_id.name,
                    points=record.points,
                    over=record.points_over,
                )
            )
