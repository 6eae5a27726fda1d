import io
from datetime import timedelta

import xlsxwriter

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .utils import check_caller, html_text, period_bounds

FINANCE = "community_credit.group_credit_finance"
MANAGER = "community_credit.group_credit_manager"
# what finance sets on a draft settlement; the buttons do the rest
DRAFT_FIELDS = {"merchant_id", "community_id", "date_from", "date_to"}
# the role that makes a contact a merchant (data/credit_subject_role_data.xml)
MERCHANT_DOMAIN = [("credit_role_ids.code", "=", "merchant")]


class CreditSettlement(models.Model):
    """A merchant's monthly settlement: vouchers issued and handed over, their
    points and donated value, against the merchant's pledge."""

    _name = "credit.settlement"
    _description = "Merchant Settlement"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "date_from desc, merchant_id"
    # finance (access rights): the merchant and period in draft, the explanation
    # until reconciled. line_ids carries the lines' explanations from the form:
    # each line checks its own fields, and finance neither creates nor deletes lines.
    _credit_user_fields = frozenset({*DRAFT_FIELDS, "difference_note", "line_ids"})

    @api.model
    def _last_month(self):
        """First and last day of the month before today: what finance settles."""
        today = fields.Date.context_today(self)
        return period_bounds(today.replace(day=1) - timedelta(days=1), "month")

    def _default_date_from(self):
        return self._last_month()[0]

    def _default_date_to(self):
        return self._last_month()[1]

    name = fields.Char(compute="_compute_name", store=True)
    merchant_id = fields.Many2one(
        "res.partner",
        required=True,
        index=True,
        tracking=True,
        string="Donor Merchant",
        domain=MERCHANT_DOMAIN,
    )
    community_id = fields.Many2one(
        "credit.place", required=True, domain=[("place_type", "=", "community")], index=True
    )
    date_from = fields.Date(
        required=True,
        default=_default_date_from,
        help="The first day settled: by default the first day of last month.",
    )
    date_to = fields.Date(
        required=True,
        default=_default_date_to,
        help="The last day settled: by default the last day of last month.",
    )
    state = fields.Selection(
        [("draft", "Draft"), ("confirmed", "Confirmed"), ("reconciled", "Reconciled")],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
    )
    line_ids = fields.One2many("credit.settlement.line", "settlement_id", string="Vouchers")
    # totals are one aggregate query over the lines (30,000 vouchers a month)
    issued_count = fields.Integer(compute="_compute_totals")
    honoured_count = fields.Integer(compute="_compute_totals", string="Handed Over")
    points_honoured = fields.Integer(compute="_compute_totals")
    value_honoured = fields.Monetary(compute="_compute_totals", string="Delivered Value")
    pledged_value = fields.Monetary(readonly=True)
    difference = fields.Monetary(compute="_compute_totals", help="Pledged minus delivered.")
    difference_note = fields.Text(
        string="Explanation", help="Why the delivered value differs from the pledge."
    )
    company_id = fields.Many2one(related="community_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")

    _sql_constraints = [
        (
            "merchant_period_uniq",
            "unique(merchant_id, community_id, date_from)",
            "This merchant already has a settlement of this community for this period.",
        ),
    ]

    @api.depends("merchant_id", "date_from")
    def _compute_name(self):
        for settlement in self:
            settlement.name = f"{settlement.merchant_id.name or ''} {settlement.date_from or ''}"[
                :60
            ]

    @api.depends("line_ids.honoured", "line_ids.points", "line_ids.donated_value", "pledged_value")
    def _compute_totals(self):
        totals = {
            (settlement, honoured): (count, points, value)
            for settlement, honoured, count, points, value in self.env[
                "credit.settlement.line"
            ]._read_group(
                [("settlement_id", "in", self.ids)],
                ["settlement_id", "honoured"],
                ["__count", "points:sum", "donated_value:sum"],
            )
        }
        for settlement in self:
            done = totals.get((settlement, True), (0, 0, 0.0))
            open_ = totals.get((settlement, False), (0, 0, 0.0))
            settlement.issued_count = done[0] + open_[0]
            settlement.honoured_count = done[0]
            settlement.points_honoured = done[1]
            settlement.value_honoured = done[2]
            settlement.difference = settlement.pledged_value - done[2]

    @api.constrains("date_from", "date_to")
    def _check_period(self):
        for settlement in self:
            if settlement.date_to < settlement.date_from:
                raise ValidationError(self.env._("The period ends before it starts."))

    @api.constrains("merchant_id", "community_id", "date_from", "date_to")
    def _check_no_overlap(self):
        """A voucher is settled once: a merchant's settlements of a community
        never cover the same day twice."""
        for settlement in self:
            other = self.sudo().search(
                [
                    ("id", "!=", settlement.id),
                    ("merchant_id", "=", settlement.merchant_id.id),
                    ("community_id", "=", settlement.community_id.id),
                    ("date_from", "<=", settlement.date_to),
                    ("date_to", ">=", settlement.date_from),
                ],
                limit=1,
            )
            if other:
                raise ValidationError(
                    self.env._(
                        "%(merchant)s already has the settlement %(other)s (%(start)s to "
                        "%(end)s) for these days: its vouchers would be counted twice. "
                        "Recompute that one instead.",
                        merchant=settlement.merchant_id.name,
                        other=other.name,
                        start=other.date_from,
                        end=other.date_to,
                    )
                )

    @api.model
    def _check_period_given(self, vals):
        """A settlement covers a period: say so, rather than a database error,
        when its first or last day is emptied."""
        if any(name in vals and not vals[name] for name in ("date_from", "date_to")):
            raise UserError(
                self.env._(
                    "Give the first and the last day of the period to settle, e.g. the "
                    "first and the last day of last month."
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_period_given(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_period_given(vals)
        if not self.env.su:
            if DRAFT_FIELDS & set(vals) and any(s.state != "draft" for s in self):
                raise UserError(
                    self.env._(
                        "A confirmed settlement keeps its merchant and period: only a "
                        "draft settlement can change."
                    )
                )
            if {"difference_note", "line_ids"} & set(vals) and any(
                s.state == "reconciled" for s in self
            ):
                raise UserError(self.env._("A reconciled settlement can no longer change."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_drafts_only(self):
        # a confirmed settlement is the record of what was counted (and its
        # pledges stay as counted): deleting it would undo both
        if any(settlement.state != "draft" for settlement in self):
            raise UserError(
                self.env._(
                    "A confirmed settlement stays on record: only a draft settlement can "
                    "be deleted."
                )
            )

    def _check_finance(self):
        check_caller(self)
        if not self.env.user.has_group(FINANCE):
            raise AccessError(self.env._("Only finance staff settle merchants' donations."))

    def action_compute(self):
        """(Re)load the period's vouchers of the merchant and the pledge, in SQL."""
        self._check_finance()
        self.check_access("write")
        for settlement in self:
            if settlement.state != "draft":
                raise UserError(self.env._("Only a draft settlement can be recomputed."))
            if settlement.date_to < settlement.date_from:
                raise UserError(self.env._("The period ends before it starts."))
            self.env.flush_all()
            self.env.cr.execute(
                SQL("DELETE FROM credit_settlement_line WHERE settlement_id = %s", settlement.id)
            )
            self.env.cr.execute(
                SQL(
                    """
                INSERT INTO credit_settlement_line (settlement_id, voucher_id, points,
                       donated_value, honoured, voucher_state, create_uid, create_date,
                       write_uid, write_date)
                SELECT %(sid)s, v.id, v.points, COALESCE(v.donated_value, 0),
                       v.state = 'honoured', v.state, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM credit_voucher v
                 WHERE v.merchant_id = %(merchant)s
                   AND v.community_id = %(community)s
                   AND v.issue_date BETWEEN %(start)s AND %(end)s
                """,
                    sid=settlement.id,
                    uid=self.env.uid,
                    now=self.env.cr.now(),
                    merchant=settlement.merchant_id.id,
                    community=settlement.community_id.id,
                    start=settlement.date_from,
                    end=settlement.date_to,
                )
            )
            pledged = sum(
                self.env["credit.merchant.pledge"]
                .search(
                    [
                        ("merchant_id", "=", settlement.merchant_id.id),
                        ("community_id", "=", settlement.community_id.id),
                        ("month", ">=", settlement.date_from.replace(day=1)),
                        ("month", "<=", settlement.date_to),
                    ]
                )
                .mapped("value")
            )
            # sudo: the pledge is the workflow's figure, finance was checked above
            settlement.sudo().pledged_value = pledged
        self.invalidate_recordset()
        self.env["credit.settlement.line"].invalidate_model()
        for settlement in self:
            settlement._message_log(
                body=html_text(
                    self.env._(
                        "Computed: %(count)s vouchers, %(done)s handed over.",
                        count=settlement.issued_count,
                        done=settlement.honoured_count,
                    )
                )
            )
        return True

    def action_confirm(self):
        self._check_finance()
        for settlement in self:
            if settlement.state != "draft":
                raise UserError(self.env._("Only a draft settlement can be confirmed."))
            if not settlement.line_ids:
                raise UserError(self.env._("The settlement has no vouchers: compute it first."))
        self.check_access("write")
        self.sudo().write({"state": "confirmed"})  # sudo: finance was checked above
        return True

    def action_reconcile(self):
        """Every difference explained: vouchers not handed over, and the gap
        between pledge and delivery."""
        self._check_finance()
        for settlement in self:
            if settlement.state != "confirmed":
                raise UserError(self.env._("Confirm the settlement before reconciling it."))
            unexplained = settlement.line_ids.filtered(lambda ln: not ln.honoured and not ln.note)
            if unexplained:
                raise UserError(
                    self.env._(
                        "Explain the %(count)s vouchers that were not handed over "
                        "(e.g. cancelled by the resident, expired), line by line.",
                        count=len(unexplained),
                    )
                )
            if settlement.difference and not settlement.difference_note:
                raise UserError(
                    self.env._(
                        "The merchant delivered %(delivered)s against a pledge of "
                        "%(pledged)s: explain the difference.",
                        delivered=settlement.value_honoured,
                        pledged=settlement.pledged_value,
                    )
                )
        self.check_access("write")
        self.sudo().write({"state": "reconciled"})  # sudo: finance was checked above
        return True

    def action_export_xlsx(self):
        """An XLSX that finance can open and sum: one row per voucher, totals below."""
        self.ensure_one()
        check_caller(self, FINANCE, MANAGER)
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet(self.env._("Settlement"))
        bold = book.add_format({"bold": True})
        money = book.add_format({"num_format": "#,##0.00"})
        headers = [
            self.env._("Voucher"),
            self.env._("Resident"),
            self.env._("Reward"),
            self.env._("Status"),
            self.env._("Points"),
            self.env._("Donated Value"),
            self.env._("Explanation"),
        ]
        sheet.write_row(0, 0, [self.name], bold)
        sheet.write_row(1, 0, headers, bold)
        states = dict(self.env["credit.voucher"]._fields["state"]._description_selection(self.env))
        row = 2
        lines = self.line_ids.sudo()  # finance reads vouchers of every resident
        for line in lines:
            voucher = line.voucher_id
            sheet.write_row(
                row,
                0,
                [
                    voucher.code,
                    voucher.partner_id.name,
                    voucher.product_tmpl_id.name,
                    states.get(line.voucher_state, line.voucher_state),
                    line.points,
                ],
            )
            sheet.write_number(row, 5, line.donated_value, money)
            sheet.write(row, 6, line.note or "")
            row += 1
        sheet.write(row, 3, self.env._("Total"), bold)
        if lines:
            sheet.write_formula(row, 4, f"=SUM(E3:E{row})", bold, sum(lines.mapped("points")))
            sheet.write_formula(
                row, 5, f"=SUM(F3:F{row})", money, sum(lines.mapped("donated_value"))
            )
        sheet.write(row + 2, 0, self.env._("Pledged Value"), bold)
        sheet.write_number(row + 2, 5, self.pledged_value, money)
        sheet.write(row + 3, 0, self.env._("Delivered Value"), bold)
        sheet.write_number(row + 3, 5, self.value_honoured, money)
        book.close()
        return self.env["credit.xlsx"]._xlsx_download(self, buffer, self.name)
