"""The community credit index: configurable weighted indicators computed per
period for every community (and the city as a whole), with the trend against
the previous period, and the statistics officials read (participation of
people and households, points earned, redeemed and deducted, share per level)."""

import io

import xlsxwriter

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .credit_board import BOARD_PERIODS, EARNING_ORIGINS
from .utils import check_caller, period_bounds

MANAGER = "community_credit.group_credit_manager"
FINANCE = "community_credit.group_credit_finance"

INDICATORS = [
    ("participation_people", "People taking part (%)"),
    ("participation_households", "Households taking part (%)"),
    ("points_per_subject", "Points earned per person"),
    ("share_top_level", "Share at the top level (%)"),
    ("redemption_rate", "Points redeemed / earned (%)"),
    ("deduction_rate", "People with a deduction (%)"),
    ("objection_rate", "Objections per published claim (%)"),
]
LOWER_IS_BETTER = {"deduction_rate", "objection_rate"}
FIGURES = [
    "subjects",
    "participants",
    "households",
    "households_participating",
    "points_earned",
    "points_redeemed",
    "points_deducted",
    "subjects_deducted",
    "top_level_count",
    "claims_published",
    "objections",
]


def ratio(part, whole, scale=100.0):
    return scale * part / whole if whole else 0.0


class CreditIndexIndicator(models.Model):
    _name = "credit.index.indicator"
    _description = "Credit Index Indicator"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    code = fields.Selection(INDICATORS, string="Measures", required=True)
    weight = fields.Float(default=1.0, required=True)
    target = fields.Float(
        required=True,
        help="Higher is better: the value that scores 100 (less scores in proportion). "
        "Lower is better: values up to the target score 100, twice the target scores 0.",
    )
    lower_is_better = fields.Boolean(compute="_compute_lower_is_better")
    level = fields.Selection(
        [("both", "City and community"), ("community", "Community"), ("city", "City")],
        default="both",
        required=True,
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)

    @api.depends("code")
    def _compute_lower_is_better(self):
        for indicator in self:
            indicator.lower_is_better = indicator.code in LOWER_IS_BETTER

    @api.constrains("weight", "target")
    def _check_weight(self):
        for indicator in self:
            if indicator.weight < 0 or indicator.target <= 0:
                raise ValidationError(
                    self.env._(
                        "Indicator %(name)s needs a weight of 0 or more and a target above 0.",
                        name=indicator.name,
                    )
                )

    def _score(self, value):
        self.ensure_one()
        if self.code in LOWER_IS_BETTER:
            if value <= self.target:
                return 100.0
            return max(0.0, 100.0 * (2 - value / self.target))
        return min(100.0, 100.0 * value / self.target)


class CreditIndexPeriod(models.Model):
    _name = "credit.index.period"
    _description = "Credit Index Period"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "date_from desc, id desc"
    # the council and officials (access rights) choose a period once; its
    # figures come from the Compute button
    _credit_user_fields = frozenset()
    _credit_create_fields = frozenset({"period", "date_from", "city_id", "company_id"})

    name = fields.Char(compute="_compute_name", store=True)
    period = fields.Selection(BOARD_PERIODS, string="Period Type", required=True, default="month")
    date_from = fields.Date(string="Period", required=True, default=fields.Date.context_today)
    date_to = fields.Date(string="Period End", readonly=True)
    city_id = fields.Many2one(
        "credit.place",
        string="City / District",
        domain="[('place_type', '=', 'city')]",
        help="The communities below this place; empty: every community of the company.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    line_ids = fields.One2many("credit.index.line", "period_id", string="Communities")
    computed_on = fields.Datetime(readonly=True)

    @api.depends("period", "date_from", "city_id")
    def _compute_name(self):
        for record in self:
            if not record.date_from:
                record.name = False
                continue
            when = {
                "year": f"{record.date_from:%Y}",
                "quarter": f"{record.date_from:%Y} Q{(record.date_from.month - 1) // 3 + 1}",
            }.get(record.period, f"{record.date_from:%Y-%m}")
            record.name = " ".join(filter(None, [record.city_id.name, when]))

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._credit_checked_vals(vals, creating=True) for vals in vals_list]
        for vals in vals_list:
            start, end = period_bounds(
                fields.Date.to_date(vals.get("date_from") or fields.Date.context_today(self)),
                vals.get("period", "month"),
            )
            vals.update(date_from=start, date_to=end)
        return super().create(vals_list)

    def write(self, vals):
        if {"period", "date_from", "city_id"} & set(vals):
            raise UserError(self.env._("Create another period instead of changing this one."))
        return super().write(vals)

    def _check_official(self):
        check_caller(self)
        if not (
            self.env.su or self.env.user.has_group(MANAGER) or self.env.user.has_group(FINANCE)
        ):
            raise AccessError(self.env._("Only the council and officials compute the index."))

    def _communities(self):
        domain = [("place_type", "=", "community"), ("company_id", "=", self.company_id.id)]
        if self.city_id:
            domain.append(("id", "child_of", self.city_id.id))
        return self.env["credit.place"].sudo().search(domain)

    def action_compute(self):
        """Compute the figures of every community in a few aggregate queries,
        then the indicators, the index and the trend."""
        self._check_official()
        for record in self:
            communities = record._communities()
            figures = record._figures(communities.ids)
            total = {name: sum(f[name] for f in figures.values()) for name in FIGURES}
            lines = [dict(figures[c.id], community_id=c.id) for c in communities]
            lines.append(dict(total, community_id=False, is_city=True))
            record.line_ids.sudo().unlink()
            created = (
                self.env["credit.index.line"]
                .sudo()
                .create([dict(vals, period_id=record.id) for vals in lines])
            )
            created._compute_scores()
            # sudo: the figures are the workflow's, the official was checked above
            record.sudo().computed_on = fields.Datetime.now()
        return True

    def _figures(self, community_ids):
        """{community id: {figure: value}} for the period, from the ledger,
        the subjects, households, balances and claims."""
        self.ensure_one()
        self.env.flush_all()
        cr = self.env.cr
        figures = {cid: dict.fromkeys(FIGURES, 0) for cid in community_ids}
        period = {"start": self.date_from, "end": self.date_to, "communities": community_ids}

        def collect(query, names):
            cr.execute(query)
            for row in cr.fetchall():
                if row[0] in figures:
                    figures[row[0]].update(zip(names, (v or 0 for v in row[1:]), strict=True))

        collect(
            SQL(
                """
                SELECT p.credit_community_id, COUNT(*) FROM res_partner p
                 WHERE p.credit_community_id = ANY(%(communities)s) AND p.active
                   AND p.credit_is_subject AND NOT p.is_company
              GROUP BY 1
                """,
                **period,
            ),
            ["subjects"],
        )
        collect(
            SQL(
                "SELECT community_id, COUNT(*) FROM credit_household "
                "WHERE community_id = ANY(%(communities)s) AND active GROUP BY 1",
                **period,
            ),
            ["households"],
        )
        collect(
            SQL(
                """
                SELECT l.community_id,
                       COUNT(DISTINCT l.partner_id) FILTER (WHERE earning AND NOT p.is_company),
                       COUNT(DISTINCT l.household_id) FILTER (WHERE earning),
                       SUM(l.points) FILTER (WHERE earning),
                       -SUM(l.points) FILTER (WHERE l.origin = 'redemption'),
                       -SUM(l.points) FILTER (WHERE deduction),
                       COUNT(DISTINCT l.partner_id) FILTER (WHERE deduction AND NOT p.is_company)
                  FROM (SELECT *, points > 0 AND origin = ANY(%(origins)s) AS earning,
                               points < 0 AND origin = ANY(%(origins)s) AS deduction
                          FROM credit_ledger_line
                         WHERE state = 'posted' AND date BETWEEN %(start)s AND %(end)s
                           AND community_id = ANY(%(communities)s)) l
                  JOIN res_partner p ON p.id = l.partner_id
              GROUP BY 1
                """,
                origins=EARNING_ORIGINS,
                **period,
            ),
            [
                "participants",
                "households_participating",
                "points_earned",
                "points_redeemed",
                "points_deducted",
                "subjects_deducted",
            ],
        )
        collect(
            SQL(
                """
                SELECT c.community_id, COUNT(DISTINCT c.id), COUNT(o.id)
                  FROM credit_claim c
             LEFT JOIN credit_claim_objection o ON o.claim_id = c.id
                 WHERE c.community_id = ANY(%(communities)s)
                   AND c.publish_until BETWEEN %(start)s AND %(end)s
              GROUP BY 1
                """,
                **period,
            ),
            ["claims_published", "objections"],
        )
        for community_id, count in self._top_level_counts(community_ids).items():
            figures[community_id]["top_level_count"] = count
        return figures

    def _top_level_counts(self, community_ids):
        """People of each community whose balance at the end of the period
        reaches the community's top level."""
        table = self.env["credit.level"]._level_table(community_ids)
        thresholds = {
            cid: max((m for m, _level in (table.get(cid) or table[False])), default=None)
            for cid in community_ids
        }
        # each subject's balance at the end of the period: today's balance less
        # what moved after it (a period usually ends close to today, so this reads
        # far fewer lines than summing the whole history up to the period's end)
        balances = SQL(
            """
            SELECT b.partner_id, b.balance - COALESCE(later.points, 0) AS balance
              FROM credit_balance b
         LEFT JOIN (SELECT partner_id, SUM(points) AS points FROM credit_ledger_line
                     WHERE date > %(end)s AND company_id = %(company)s
                  GROUP BY partner_id) later ON later.partner_id = b.partner_id
             WHERE b.company_id = %(company)s
            """,
            end=self.date_to,
            company=self.company_id.id,
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT p.credit_community_id, b.balance
                  FROM (%(balances)s) b JOIN res_partner p ON p.id = b.partner_id
                 WHERE p.credit_community_id = ANY(%(communities)s) AND p.active
                   AND p.credit_is_subject AND NOT p.is_company
                """,
                balances=balances,
                communities=list(community_ids),
            )
        )
        counts = dict.fromkeys(community_ids, 0)
        for community_id, balance in self.env.cr.fetchall():
            threshold = thresholds.get(community_id)
            if threshold is not None and balance >= threshold:
                counts[community_id] += 1
        return counts

    def action_export_xlsx(self):
        """Every community's figures, indicators and index for the period."""
        self.ensure_one()
        self._check_official()
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet(self.env._("Index"))
        bold = book.add_format({"bold": True})
        Line = self.env["credit.index.line"]
        columns = ["community_id", *FIGURES, *Line._RATES, "index", "trend"]
        sheet.write_row(0, 0, [self.name], bold)
        sheet.write_row(
            1, 0, [Line._fields[name].get_description(self.env)["string"] for name in columns], bold
        )
        for row, line in enumerate(self.line_ids, start=2):
            values = [
                line.community_id.display_name or self.env._("All communities")
                if name == "community_id"
                else line[name]
                for name in columns
            ]
            sheet.write_row(row, 0, values)
        book.close()
        return self.env["credit.xlsx"]._xlsx_download(self, buffer, self.name)


class CreditIndexLine(models.Model):
    _name = "credit.index.line"
    _description = "Community Credit Index"
    _inherit = ["credit.workflow.mixin"]
    _order = "period_id, is_city desc, index desc, id"
    # computed by the period's Compute button only
    _credit_user_fields = frozenset()
    _RATES = [
        "participation_people",
        "participation_households",
        "points_per_subject",
        "share_top_level",
        "redemption_rate",
        "deduction_rate",
        "objection_rate",
    ]

    period_id = fields.Many2one(
        "credit.index.period",
        string="Index Period",
        required=True,
        ondelete="cascade",
        index=True,
    )
    date_from = fields.Date(related="period_id.date_from", string="Period Start", store=True)
    period = fields.Selection(related="period_id.period", store=True)
    company_id = fields.Many2one(related="period_id.company_id", store=True)
    community_id = fields.Many2one("credit.place", readonly=True, index=True)
    is_city = fields.Boolean(string="Whole City", readonly=True)
    subjects = fields.Integer(string="People", readonly=True, aggregator="sum")
    participants = fields.Integer(string="People Taking Part", readonly=True, aggregator="sum")
    households = fields.Integer(readonly=True, aggregator="sum")
    households_participating = fields.Integer(
        string="Households Taking Part", readonly=True, aggregator="sum"
    )
    points_earned = fields.Integer(readonly=True, aggregator="sum")
    points_redeemed = fields.Integer(readonly=True, aggregator="sum")
    points_deducted = fields.Integer(readonly=True, aggregator="sum")
    subjects_deducted = fields.Integer(
        string="People with a Deduction", readonly=True, aggregator="sum"
    )
    top_level_count = fields.Integer(
        string="People at the Top Level", readonly=True, aggregator="sum"
    )
    claims_published = fields.Integer(readonly=True, aggregator="sum")
    objections = fields.Integer(readonly=True, aggregator="sum")
    participation_people = fields.Float(
        string="People Taking Part (%)", digits=(5, 2), readonly=True, aggregator="avg"
    )
    participation_households = fields.Float(
        string="Households Taking Part (%)", digits=(5, 2), readonly=True, aggregator="avg"
    )
    points_per_subject = fields.Float(
        string="Points per Person", digits=(10, 2), readonly=True, aggregator="avg"
    )
    share_top_level = fields.Float(
        string="Share at Top Level (%)", digits=(5, 2), readonly=True, aggregator="avg"
    )
    redemption_rate = fields.Float(
        string="Redeemed / Earned (%)", digits=(5, 2), readonly=True, aggregator="avg"
    )
    deduction_rate = fields.Float(
        string="People with a Deduction (%)", digits=(5, 2), readonly=True, aggregator="avg"
    )
    objection_rate = fields.Float(
        string="Objections per Claim (%)", digits=(5, 2), readonly=True, aggregator="avg"
    )
    index = fields.Float(string="Credit Index", digits=(5, 1), readonly=True, aggregator="avg")
    previous_index = fields.Float(digits=(5, 1), readonly=True)
    trend = fields.Float(
        digits=(5, 1), readonly=True, help="Index minus the previous period's index."
    )
    score_ids = fields.One2many("credit.index.score", "line_id", string="Indicators")

    @api.depends("community_id", "is_city", "period_id")
    def _compute_display_name(self):
        for line in self:
            where = line.community_id.display_name or self.env._("All communities")
            line.display_name = f"{line.period_id.name} {where}"

    def _compute_scores(self):
        indicators = self.env["credit.index.indicator"].sudo().search([])
        score_vals = []
        for line in self:
            rates = {
                "participation_people": ratio(line.participants, line.subjects),
                "participation_households": ratio(line.households_participating, line.households),
                "points_per_subject": ratio(line.points_earned, line.subjects, 1.0),
                "share_top_level": ratio(line.top_level_count, line.subjects),
                "redemption_rate": ratio(line.points_redeemed, line.points_earned),
                "deduction_rate": ratio(line.subjects_deducted, line.subjects),
                "objection_rate": ratio(line.objections, line.claims_published),
            }
            level = "city" if line.is_city else "community"
            weighted = weights = 0.0
            for indicator in indicators.filtered(lambda i, lv=level: i.level in ("both", lv)):
                value = rates[indicator.code]
                score = indicator._score(value)
                weighted += indicator.weight * score
                weights += indicator.weight
                score_vals.append(
                    {
                        "line_id": line.id,
                        "indicator_id": indicator.id,
                        "value": value,
                        "score": score,
                    }
                )
            previous = self.search(
                [
                    ("period", "=", line.period),
                    ("date_from", "<", line.date_from),
                    ("community_id", "=", line.community_id.id),
                    ("is_city", "=", line.is_city),
                    ("company_id", "=", line.company_id.id),
                    ("period_id.city_id", "=", line.period_id.city_id.id),
                ],
                order="date_from desc",
                limit=1,
            )
            index = weighted / weights if weights else 0.0
            line.write(
                dict(
                    rates,
                    index=index,
                    previous_index=previous.index,
                    trend=index - previous.index if previous else 0.0,
                )
            )
        self.env["credit.index.score"].sudo().create(score_vals)


class CreditIndexScore(models.Model):
    _name = "credit.index.score"
    _description = "Credit Index Indicator Score"
    _inherit = ["credit.workflow.mixin"]
    _order = "line_id, indicator_id"
    # computed by the period's Compute button only
    _credit_user_fields = frozenset()

    line_id = fields.Many2one("credit.index.line", required=True, ondelete="cascade", index=True)
    indicator_id = fields.Many2one("credit.index.indicator", required=True, ondelete="cascade")
    value = fields.Float(digits=(10, 2), readonly=True)
    score = fields.Float(digits=(5, 1), readonly=True)
