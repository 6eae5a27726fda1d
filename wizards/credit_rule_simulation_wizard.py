import io
from datetime import timedelta

import xlsxwriter

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..models.credit_ledger_line import RULE_ORIGINS, period_start
from ..models.credit_rule import CAP_PERIODS
from ..models.utils import period_bounds

SIMULATION_PERIODS = [
    ("month", "Last Month"),
    ("quarter", "Last Quarter"),
    ("year", "Last Year"),
    ("custom", "Other Dates"),
]
# no cap: more lines than any subject can have in a period
NO_CAP = 2**31 - 1


class CreditRuleSimulationWizard(models.TransientModel):
    _name = "credit.rule.simulation.wizard"
    _description = "Simulate a Change of a Credit Rule"

    rule_id = fields.Many2one("credit.rule", required=True, readonly=True)
    current_version_id = fields.Many2one(
        "credit.rule.version", compute="_compute_current_version_id", string="Version in Force"
    )
    points = fields.Integer(
        string="Proposed Points",
        compute="_compute_terms",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )
    cap_day = fields.Integer(
        string="Proposed Cap per Day",
        compute="_compute_terms",
        store=True,
        readonly=False,
        precompute=True,
    )
    cap_week = fields.Integer(
        string="Proposed Cap per Week",
        compute="_compute_terms",
        store=True,
        readonly=False,
        precompute=True,
    )
    cap_month = fields.Integer(
        string="Proposed Cap per Month",
        compute="_compute_terms",
        store=True,
        readonly=False,
        precompute=True,
    )
    cap_year = fields.Integer(
        string="Proposed Cap per Year",
        compute="_compute_terms",
        store=True,
        readonly=False,
        precompute=True,
    )
    period = fields.Selection(
        SIMULATION_PERIODS, string="Period Type", required=True, default="month"
    )
    date_from = fields.Date(
        compute="_compute_dates", store=True, readonly=False, precompute=True, required=True
    )
    date_to = fields.Date(
        compute="_compute_dates", store=True, readonly=False, precompute=True, required=True
    )
    note = fields.Text(
        string="Why Change It",
        help="Kept with the new version of the rule when the change is applied.",
    )
    simulated = fields.Boolean(readonly=True)
    line_ids = fields.One2many("credit.rule.simulation.line", "wizard_id", string="Subjects")
    subject_count = fields.Integer(string="Number of Subjects", readonly=True)
    affected_count = fields.Integer(string="Subjects Affected", readonly=True)
    actual_total = fields.Integer(readonly=True)
    simulated_total = fields.Integer(readonly=True)
    difference = fields.Integer(readonly=True)

    @api.depends("rule_id")
    def _compute_current_version_id(self):
        today = fields.Date.context_today(self)
        for wizard in self:
            rule = wizard.rule_id
            wizard.current_version_id = rule._version_on(today) if rule else False

    @api.depends("rule_id")
    def _compute_terms(self):
        for wizard in self:
            rule = wizard.rule_id
            wizard.points = rule.points
            for period in CAP_PERIODS:
                wizard[f"cap_{period}"] = rule[f"cap_{period}"]

    @api.depends("period")
    def _compute_dates(self):
        today = fields.Date.context_today(self)
        for wizard in self:
            if wizard.period == "custom" and wizard.date_from and wizard.date_to:
                continue
            period = wizard.period if wizard.period != "custom" else "month"
            this_start, _end = period_bounds(today, period)
            wizard.date_from, wizard.date_to = period_bounds(this_start - timedelta(days=1), period)

    def _check_council(self):
        if not self.env.user.has_group("community_credit.group_credit_manager"):
            raise AccessError(
                self.env._("Only the council (社区两委) can simulate a change of a rule.")
            )

    def _check_terms(self):
        self.ensure_one()
        if not self.points:
            raise UserError(self.env._("The proposed rule must award or deduct points."))
        if self.date_from > self.date_to:
            raise UserError(self.env._("The period must end after it starts."))
        for period in CAP_PERIODS:
            cap = self[f"cap_{period}"]
            if cap < 0:
                raise UserError(self.env._("Caps cannot be negative (0 means no cap)."))
            if cap and cap < abs(self.points):
                raise UserError(
                    self.env._(
                        "A cap of %(cap)s points is smaller than the %(points)s points of "
                        "a single grant, so nothing could be granted. Raise the cap or "
                        "leave it at 0 (no cap).",
                        cap=cap,
                        points=abs(self.points),
                    )
                )

    # --------------------------------------------------------------- actions
    def action_simulate(self):
        """Work out what each subject would have got under the proposed terms."""
        self.ensure_one()
        self._check_council()
        self._check_terms()
        rows = self._simulate()
        self.line_ids.unlink()
        self.env["credit.rule.simulation.line"].create(
            [
                {
                    "wizard_id": self.id,
                    "partner_id": partner_id,
                    "line_count": count,
                    "actual_points": actual,
                    "simulated_points": simulated,
                    "difference": simulated - actual,
                }
                for partner_id, count, actual, simulated in rows
            ]
        )
        actual_total = sum(row[2] for row in rows)
        simulated_total = sum(row[3] for row in rows)
        self.write(
            {
                "simulated": True,
                "subject_count": len(rows),
                "affected_count": sum(1 for row in rows if row[2] != row[3]),
                "actual_total": actual_total,
                "simulated_total": simulated_total,
                "difference": simulated_total - actual_total,
            }
        )
        return self._reopen()

    def action_apply(self):
        """Write the proposed terms on the rule: the rule gets a new version."""
        self.ensure_one()
        if not self.env.user.has_group("community_credit.group_credit_admin"):
            raise AccessError(
                self.env._(
                    "Only credit administrators change rules: send this simulation to "
                    "an administrator to apply it."
                )
            )
        self._check_terms()
        if not (self.note or "").strip():
            raise UserError(
                self.env._("Say why the rule changes: residents see it with the new version.")
            )
        terms = {"points": self.points, **{f"cap_{p}": self[f"cap_{p}"] for p in CAP_PERIODS}}
        rule = self.rule_id
        if all(rule[name] == value for name, value in terms.items()):
            raise UserError(
                self.env._("The proposed terms are those in force: there is nothing to apply.")
            )
        rule._write_versioned(terms, note=self.note.strip())
        return {
            "type": "ir.actions.act_window",
            "res_model": "credit.rule",
            "res_id": rule.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_export_xlsx(self):
        """The simulation as a spreadsheet, one row per subject."""
        self.ensure_one()
        self._check_council()
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet(self.env._("Simulation"))
        bold = book.add_format({"bold": True})
        title = self.env._(
            "%(rule)s: %(points)s points instead of %(current)s, %(start)s to %(end)s",
            rule=self.rule_id.display_name,
            points=self.points,
            current=self.rule_id.points,
            start=self.date_from,
            end=self.date_to,
        )
        sheet.write_row(0, 0, [title], bold)
        headers = [
            self.env._("Subject"),
            self.env._("Ledger Lines"),
            self.env._("Actual Points"),
            self.env._("Simulated Points"),
            self.env._("Difference"),
        ]
        sheet.write_row(1, 0, headers, bold)
        row = 2
        for line in self.line_ids:
            sheet.write_row(
                row,
                0,
                [
                    line.partner_id.sudo().name or "",  # subjects outside the reader's places
                    line.line_count,
                    line.actual_points,
                    line.simulated_points,
                    line.difference,
                ],
            )
            row += 1
        sheet.write_row(
            row,
            0,
            [
                self.env._("Total"),
                sum(self.line_ids.mapped("line_count")),
                self.actual_total,
                self.simulated_total,
                self.difference,
            ],
            bold,
        )
        book.close()
        name = self.env._("Simulation %(code)s", code=self.rule_id.code)
        return self.env["credit.xlsx"]._xlsx_download(self, buffer, name)

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Simulate a Change"),
        }

    # ------------------------------------------------------------ computing
    def _simulate(self):
        """[(partner_id, line count, actual points, simulated points)] for every
        subject with a standing grant under the rule in the period.

        Each standing grant (posted, not reversed) becomes one grant of the
        proposed points; a grant that would take the subject past a proposed
        cap is refused whole, as the posting path does. The caps are applied by
        SQL windows per subject: day, then week, then month, then year, each
        letting through lines in date order until the period's cap is reached
        (a week that spans two months counts against the week cap before the
        month caps). Cap periods that begin before the simulated period count
        the proposed grants from their own start (a yearly cap remembers the
        year's earlier months). Nothing loops over ledger lines in Python."""
        self.ensure_one()
        # whole lines a subject may get per cap period under the proposed terms
        allowed = {
            period: self[f"cap_{period}"] // abs(self.points)
            for period in CAP_PERIODS
            if self[f"cap_{period}"]
        }
        start = min([self.date_from] + [period_start(self.date_from, p) for p in allowed])
        # one window pass per cap that is set, each over the previous one's result
        # (period keys are computed once per subject-day: date_trunc() is slow)
        passes, previous = [], "days"
        for period in ("week", "month", "year"):
            if period not in allowed:
                continue
            name = f"capped_{period}"
            passes.append(
                SQL(
                    """, %(name)s AS (
                SELECT partner_id, date, week_key, month_key, year_key,
                       LEAST(n, GREATEST(0, %(allowed)s - (SUM(n) OVER w - n)))::int AS n
                  FROM %(previous)s
                WINDOW w AS (PARTITION BY partner_id, %(key)s ORDER BY date)
            )""",
                    name=SQL.identifier(name),
                    allowed=allowed[period],
                    previous=SQL.identifier(previous),
                    key=SQL.identifier(f"{period}_key"),
                )
            )
            previous = name
        self.env["credit.ledger.line"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            WITH lines AS (
                SELECT l.partner_id, l.date, l.points
                  FROM credit_ledger_line l
                 WHERE l.rule_id = %(rule)s
                   AND l.state = 'posted'
                   AND l.origin = ANY(%(origins)s)
                   AND l.date BETWEEN %(start)s AND %(end)s
            ), days AS (
                SELECT partner_id, date,
                       date - EXTRACT(ISODOW FROM date)::int AS week_key,
                       EXTRACT(YEAR FROM date)::int * 12 + EXTRACT(MONTH FROM date)::int
                           AS month_key,
                       EXTRACT(YEAR FROM date)::int AS year_key,
                       LEAST(COUNT(*)::int, %(day)s) AS n
                  FROM lines
              GROUP BY partner_id, date
            )%(passes)s, simulated AS (
                SELECT partner_id, SUM(n) AS n
                  FROM %(last)s
                 WHERE date >= %(date_from)s
              GROUP BY partner_id
            ), actual AS (
                SELECT partner_id, COUNT(*) AS n, SUM(points) AS points
                  FROM lines
                 WHERE date >= %(date_from)s
              GROUP BY partner_id
            )
            SELECT a.partner_id, a.n, a.points, COALESCE(s.n, 0) * %(points)s
              FROM actual a
         LEFT JOIN simulated s ON s.partner_id = a.partner_id
          ORDER BY a.partner_id
            """,
                rule=self.rule_id.id,
                origins=sorted(RULE_ORIGINS),
                start=start,
                end=self.date_to,
                day=allowed.get("day", NO_CAP),
                passes=SQL().join(passes),
                last=SQL.identifier(previous),
                date_from=self.date_from,
                points=self.points,
            )
        )
        return [tuple(int(value) for value in row) for row in self.env.cr.fetchall()]
