"""Red and black boards (红榜 / 黑榜) and yearly honours, generated from the
ledger, reviewed and published by the council, kept as they were published."""

import io
from datetime import timedelta

import xlsxwriter

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_list

from .credit_ledger_line import RULE_ORIGINS
from .utils import check_caller, html_text, mask_name, period_bounds

BOARD_KINDS = [("red", "Red Board"), ("black", "Black Board"), ("honour", "Honours")]
BOARD_PERIODS = [("month", "Month"), ("quarter", "Quarter"), ("year", "Year")]
# ledger origins that earn or deduct under a rule (spending, expiry and reversals do not)
EARNING_ORIGINS = sorted(RULE_ORIGINS)
MANAGER = "community_credit.group_credit_manager"


class CreditBoard(models.Model):
    _name = "credit.board"
    _description = "Credit Board"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    # the council prepares a draft board (see write); the rest is generated or published
    _credit_user_fields = frozenset(
        {"kind", "title", "period", "date_from", "place_id", "size", "min_points", "mask_names"}
    )
    _order = "date_from desc, kind, id desc"
    _check_company_auto = True

    # in the reader's language (红榜 / Red Board), so not stored
    name = fields.Char(compute="_compute_name", search="_search_name")
    kind = fields.Selection(BOARD_KINDS, required=True, default="red", tracking=True)
    title = fields.Char(
        translate=True,
        help="Honours: the title awarded, e.g. 道德模范 (moral model) or 优秀志愿者.",
    )
    period = fields.Selection(BOARD_PERIODS, string="Period Type", required=True, default="month")
    date_from = fields.Date(
        string="Period",
        required=True,
        default=fields.Date.context_today,
        help="Any day of the period: the board covers the whole month, quarter or year.",
    )
    date_to = fields.Date(string="Period End", readonly=True)
    # no check_company: the board's company is its place's (company_id below), so a
    # new board has none yet and the company domain would offer no place at all;
    # the places offered are those of the user's companies (record rules)
    place_id = fields.Many2one(
        "credit.place",
        required=True,
        index=True,
        help="The community, estate, grid or building whose subjects the board lists.",
    )
    community_id = fields.Many2one(related="place_id.community_id", store=True, index=True)
    company_id = fields.Many2one(related="place_id.company_id", store=True, index=True)
    size = fields.Integer(help="How many subjects the board lists (the community's by default).")
    min_points = fields.Integer(
        string="Minimum Points",
        help="Points earned (red, honours) or lost (black) in the period to be listed.",
    )
    mask_names = fields.Boolean(help="Names shown as 张*三.")
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("published", "Published"),
            ("expired", "Expired"),
            ("withdrawn", "Withdrawn"),
        ],
        default="draft",
        required=True,
        tracking=True,
        index=True,
    )
    published_on = fields.Datetime(readonly=True)
    published_by_id = fields.Many2one("res.users", readonly=True)
    public_until = fields.Date(
        string="Shown to Residents Until",
        readonly=True,
        index="btree_not_null",
        help="Black boards: the last day residents see the board (set at publication from "
        "the community's policy); it then expires and stays on record for the council.",
    )
    view_count = fields.Integer(compute="_compute_view_count", string="Views")
    withdraw_reason = fields.Text(readonly=True)
    line_ids = fields.One2many("credit.board.line", "board_id", string="Listed")
    line_count = fields.Integer(compute="_compute_line_count")

    @api.depends("kind", "title", "date_from", "date_to", "place_id", "period")
    @api.depends_context("lang")
    def _compute_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for board in self:
            label = board.title if board.kind == "honour" and board.title else kinds[board.kind]
            if board.period == "year":
                when = f"{board.date_from:%Y}" if board.date_from else ""
            elif board.period == "quarter" and board.date_from:
                when = f"{board.date_from:%Y} Q{(board.date_from.month - 1) // 3 + 1}"
            else:
                when = f"{board.date_from:%Y-%m}" if board.date_from else ""
            board.name = " ".join(filter(None, [board.place_id.name, when, label]))

    def _search_name(self, operator, value):
        if operator not in ("ilike", "=ilike", "like", "=", "!="):
            raise UserError(self.env._("Boards cannot be searched by name that way."))
        negative = operator == "!="
        operator = "=" if negative else operator
        domain = ["|", ("place_id.name", operator, value), ("title", operator, value)]
        return ["!", *domain] if negative else domain

    def _compute_line_count(self):
        for board in self:
            board.line_count = len(board.line_ids)

    def _compute_view_count(self):
        counts = {}
        if self.env.user.has_group(MANAGER):
            counts = dict(
                self.env["credit.board.view"]._read_group(
                    [("board_id", "in", self.ids)], ["board_id"], ["__count"]
                )
            )
        for board in self:
            board.view_count = counts.get(board, 0)

    @api.constrains("kind", "mask_names", "place_id")
    def _check_black_masked(self):
        for board in self.filtered(lambda b: b.kind == "black" and not b.mask_names):
            if not board.place_id.community_id.board_black_unmask:
                raise ValidationError(
                    self.env._(
                        "Black boards of %(community)s always show names as 张*三: tick "
                        "'Mask Names', or let the community publish full names on black "
                        "boards (Boards policy).",
                        community=board.place_id.community_id.display_name,
                    )
                )

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):
        self._check_council()
        vals_list = [self._credit_checked_vals(vals, creating=True) for vals in vals_list]
        for vals in vals_list:
            place = self.env["credit.place"].browse(vals.get("place_id"))
            community = place.community_id or place
            kind = vals.get("kind", "red")
            vals["period"] = "year" if kind == "honour" else vals.get("period") or "month"
            vals.setdefault("size", community.board_size or 10)
            vals.setdefault(
                "min_points",
                community.board_black_min_points if kind == "black" else community.board_min_points,
            )
            vals.setdefault(
                "mask_names",
                # black boards are masked unless the community explicitly unmasks them
                not community.board_black_unmask if kind == "black" else community.board_mask_names,
            )
            self._normalise_period(vals)
        boards = super().create(vals_list)
        boards._check_black_allowed()
        return boards

    def _normalise_period(self, vals):
        if vals.get("date_from"):
            start, end = period_bounds(
                fields.Date.to_date(vals["date_from"]), vals.get("period") or self.period
            )
            vals.update(date_from=start, date_to=end)

    def write(self, vals):
        if self.env.su:
            return super().write(vals)
        vals = self._credit_checked_vals(vals)
        self._check_council()
        if any(board.state != "draft" for board in self):
            raise UserError(
                self.env._(
                    "A published board is kept as it was published: withdraw it, or "
                    "generate a new one."
                )
            )
        if {"date_from", "period"} & set(vals):
            for board in self:
                period_vals = type(vals)(vals)
                period_vals.setdefault("date_from", board.date_from)
                period_vals.setdefault("period", board.period)
                board._normalise_period(period_vals)
                super(CreditBoard, board).write(period_vals)
            self._check_black_allowed()
            return True
        result = super().write(vals)
        self._check_black_allowed()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_drafts_only(self):
        if any(board.state != "draft" for board in self):
            raise UserError(self.env._("A published board cannot be deleted; withdraw it instead."))

    def _check_council(self):
        if not self.env.su and not self.env.user.has_group(MANAGER):
            raise AccessError(self.env._("Only the council prepares and publishes boards."))

    def _check_black_allowed(self):
        for board in self.filtered(lambda b: b.kind == "black"):
            community = board.place_id.community_id
            if not community.board_black or not community.allow_deduction:
                raise UserError(
                    self.env._(
                        "%(community)s does not publish black boards (see its Boards policy).",
                        community=community.display_name,
                    )
                )

    # ------------------------------------------------------------ generation
    def action_generate(self):
        """List the period's top earners (red, honours) or biggest deductions
        (black) of the place from the ledger, ranked, names masked if chosen."""
        self._check_council()
        for board in self:
            if board.state != "draft":
                raise UserError(self.env._("Only a draft board can be generated again."))
            rows = board._ranking()
            board.line_ids.sudo().unlink()
            self.env["credit.board.line"].sudo().create(
                [
                    {
                        "board_id": board.id,
                        "rank": rank,
                        "partner_id": partner_id,
                        "name_shown": mask_name(name) if board.mask_names else name,
                        "place_id": place_id,
                        "points": points,
                        "selected": board.kind != "honour",
                    }
                    for partner_id, name, place_id, points, rank in rows
                ]
            )
        return True

    def _ranking(self):
        """(partner id, name, place id, points, rank) of the listed subjects; equal
        points share a rank (1, 2, 2, 4)."""
        self.ensure_one()
        self.env["credit.ledger.line"].flush_model()
        if self.kind == "black":
            amount = SQL("-SUM(l.points)")
            # only final deductions: notice sent, appeal window over, no appeal open or upheld
            condition = SQL(
                "l.points < 0 AND l.origin = ANY(%s) AND %s",
                EARNING_ORIGINS,
                self.env["credit.notice"]._sql_deduction_final("l"),
            )
        else:
            amount = SQL("SUM(l.points)")
            condition = SQL("l.points > 0 AND l.origin = ANY(%s)", EARNING_ORIGINS)
        self.env.cr.execute(
            SQL(
                """
                WITH totals AS (
                    SELECT l.partner_id, %(amount)s AS points
                      FROM credit_ledger_line l
                      JOIN credit_place pl ON pl.id = l.place_id
                     WHERE l.state = 'posted' AND %(condition)s
                       AND l.date BETWEEN %(start)s AND %(end)s
                       AND l.company_id = %(company)s
                       AND pl.parent_path LIKE %(path)s
                  GROUP BY l.partner_id
                    HAVING %(amount)s >= %(minimum)s
                )
                SELECT t.partner_id, p.name, p.credit_place_id, t.points,
                       RANK() OVER (ORDER BY t.points DESC)
                  FROM totals t JOIN res_partner p ON p.id = t.partner_id
              ORDER BY t.points DESC, p.name, t.partner_id
                 LIMIT %(size)s
                """,
                amount=amount,
                condition=condition,
                start=self.date_from,
                end=self.date_to,
                company=self.company_id.id,
                path=f"{self.place_id.parent_path}%",
                minimum=max(self.min_points, 1),
                size=self.size or 10,
            )
        )
        return self.env.cr.fetchall()

    # ----------------------------------------------------------- publication
    def action_publish(self):
        self._check_council()
        for board in self:
            if board.state != "draft":
                raise UserError(self.env._("%(board)s is not a draft.", board=board.name))
            board._check_black_allowed()
            if not board.line_ids.filtered("selected"):
                raise UserError(
                    self.env._(
                        "%(board)s lists nobody: generate it (and, for honours, choose "
                        "who is honoured) before publishing.",
                        board=board.name,
                    )
                )
            board.sudo().write(  # sudo: the council member was checked above
                {
                    "state": "published",
                    "published_on": fields.Datetime.now(),
                    "published_by_id": self.env.uid,
                    "public_until": board._public_until(fields.Date.context_today(self)),
                }
            )
            board._message_log(
                body=html_text(
                    self.env._(
                        "Published by %(user)s: %(names)s.",
                        user=self.env.user.name,
                        names=format_list(
                            self.env, board.line_ids.filtered("selected").mapped("name_shown")
                        ),
                    )
                )
            )
            if board.kind == "honour":
                honoured = board.line_ids.filtered("selected").partner_id
                board.message_notify(
                    partner_ids=honoured.ids,
                    subject=board.name,
                    body=html_text(
                        self.env._(
                            "Congratulations: the council has awarded you the title %(title)s.",
                            title=board.title or board.name,
                        )
                    ),
                )
        return True

    def _public_until(self, published):
        """The last day residents see a board published on `published`: black
        boards expire after the community's days (0: never); others never do."""
        self.ensure_one()
        days = self.place_id.community_id.board_black_expiry_days
        if self.kind != "black" or not days:
            return False
        return published + timedelta(days=days)

    @api.model
    def _portal_boards(self, limit=24):
        """The boards a resident sees now: published (record rules: of their
        place) and not past their public days, even before the daily expiry."""
        today = fields.Date.context_today(self)
        return self.search(
            [
                ("state", "=", "published"),
                "|",
                ("public_until", "=", False),
                ("public_until", ">=", today),
            ],
            limit=limit,
        )

    @api.model
    def _cron_expire_boards(self):
        """Daily: black boards past their public days leave the residents' pages
        (state expired); the council keeps them."""
        today = fields.Date.context_today(self)
        boards = self.sudo().search(
            [("state", "=", "published"), ("public_until", "<", today)]
        )  # sudo: the cron expires the boards of every company
        boards.write({"state": "expired"})
        for board in boards:
            board._message_log(
                body=html_text(
                    self.env._(
                        "No longer shown to residents since %(date)s; kept on record.",
                        date=board.public_until + timedelta(days=1),
                    )
                )
            )

    def action_view_log(self):
        """Who viewed this board (查看记录): the council only."""
        self.ensure_one()
        self._check_council()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_board_view_action"
        )
        action["domain"] = [("board_id", "=", self.id)]
        return action

    def action_withdraw(self, reason=None):
        self._check_council()
        for board in self:
            if board.state != "published":
                raise UserError(self.env._("%(board)s is not published.", board=board.name))
        self.sudo().write(  # sudo: the council member was checked above
            {"state": "withdrawn", "withdraw_reason": reason or False}
        )
        for board in self:
            board._message_log(
                body=html_text(
                    self.env._(
                        "Withdrawn by %(user)s. %(reason)s",
                        user=self.env.user.name,
                        reason=reason or "",
                    )
                )
            )
        return True

    def action_export_xlsx(self):
        """The board as published (or drafted), one row per listed subject."""
        self.ensure_one()
        check_caller(self, MANAGER, "community_credit.group_credit_finance")
        if self.kind == "black":
            self.env["credit.board.view"]._log(self, "backend")
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet(self.env._("Board"))
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, [self.name], bold)
        headers = [
            self.env._("Rank"),
            self.env._("Name"),
            self.env._("Place"),
            self.env._("Points"),
        ]
        sheet.write_row(1, 0, headers, bold)
        row = 2
        for line in self.line_ids.filtered("selected"):
            sheet.write_row(
                row, 0, [line.rank, line.name_shown, line.place_id.display_name or "", line.points]
            )
            row += 1
        book.close()
        return self.env["credit.xlsx"]._xlsx_download(self, buffer, self.name)


class CreditBoardLine(models.Model):
    _name = "credit.board.line"
    _description = "Credit Board Entry"
    _order = "board_id, rank, id"

    board_id = fields.Many2one("credit.board", required=True, ondelete="cascade", index=True)
    rank = fields.Integer(readonly=True)
    # the person behind a (possibly masked) name: the council's only
    partner_id = fields.Many2one(
        "res.partner",
        string="Subject",
        readonly=True,
        index=True,
        groups="community_credit.group_credit_manager",
    )
    name_shown = fields.Char(string="Name", readonly=True)
    place_id = fields.Many2one("credit.place", readonly=True)
    points = fields.Integer(readonly=True)
    selected = fields.Boolean(
        string="Honoured",
        help="Honours: the council's decision on this nominee.",
    )
    state = fields.Selection(related="board_id.state")
    kind = fields.Selection(related="board_id.kind")

    def _portal_name(self):
        """The name residents see: always masked on a black board unless its
        community publishes full names on black boards."""
        self.ensure_one()
        board = self.board_id
        if board.kind == "black" and not (
            board.mask_names or board.place_id.community_id.board_black_unmask
        ):
            return mask_name(self.name_shown)
        return self.name_shown

    def write(self, vals):
        self.board_id._check_council()
        if set(vals) - {"selected"} or any(
            line.board_id.state != "draft" or line.board_id.kind != "honour" for line in self
        ):
            raise UserError(
                self.env._("Board entries come from the ledger; only honours are chosen by hand.")
            )
        return super().write(vals)

    def action_toggle_selected(self):
        for line in self:
            line.write({"selected": not line.selected})
        return True
