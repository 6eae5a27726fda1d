import logging
from collections import defaultdict
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from psycopg2.errors import DeadlockDetected, LockNotAvailable, SerializationFailure

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .credit_place import path_within, place_paths
from .credit_rule import CAP_PERIODS

ORIGINS = [
    ("manual", "Manual grant"),
    ("claim", "Claim"),
    ("event", "Volunteer event"),
    ("contract", "Commitment contract"),
    ("redemption", "Reward redemption"),
    ("expiry", "Expiry"),
    ("reversal", "Reversal"),
    ("merge", "Contact merge"),
]
# origins whose lines follow their rule's sign, validity, caps and deduction policy
RULE_ORIGINS = {"manual", "claim", "event", "contract"}
# fields the posting method itself may change after a line is posted
SYSTEM_WRITABLE = {"state"}
LINE_DEFAULTS = {
    "state": "posted",
    "rule_id": False,
    "origin_ref": False,
    "description": False,
    "attachment_ids": [],
    "reversal_of_id": False,
    "organisation_id": False,
}
# states of a credit repair (credit.repair), also shown on the deduction it repairs
REPAIR_STATES = [
    ("open", "Open"),
    ("repaired", "Repaired"),
    ("expired", "Expired"),
    ("cancelled", "Cancelled"),
]
STAFF_GROUPS = (
    "community_credit.group_credit_grid_worker",
    "community_credit.group_credit_manager",
)
# what stops a run of a batch job when another transaction got there first (the
# errors Odoo's request loop retries): the run keeps what it did before, the
# next run, with a new snapshot, does the rest
CONFLICTS = (SerializationFailure, DeadlockDetected, LockNotAvailable)

_logger = logging.getLogger(__name__)


class Posting:
    """One call of the posting pipeline (credit.ledger.line._post): the lines'
    values and what each step found, handed from step to step."""

    def __init__(self, vals_list, *, check_rights, allow_negative, budget_approval):
        self.vals_list = [dict(vals) for vals in vals_list]
        self.check_rights = check_rights
        self.allow_negative = allow_negative
        self.budget_approval = budget_approval
        self.keys = []  # idempotency keys, in the caller's order
        self.partners = self.rules = None  # sudo recordsets of the subjects and rules
        self.company_id = None
        self.balances = {}  # {partner_id: balance} read under the lock
        self.existing = {}  # {key: line id} already posted
        self.new_vals = []  # the lines to insert
        self.deltas = {}  # {partner_id: [points, earned, spent, count, last date]}
        self.overruns = []
        self.created = None  # the inserted lines


def period_start(date, period):
    if period == "day":
        return date
    if period == "week":
        return date - timedelta(days=date.weekday())
    if period == "month":
        return date.replace(day=1)
    return date.replace(month=1, day=1)


class CreditLedgerLine(models.Model):
    _name = "credit.ledger.line"
    _description = "Credit Ledger Line"
    _order = "date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Subject",
        required=True,
        readonly=True,
        ondelete="restrict",
    )
    rule_id = fields.Many2one("credit.rule", index=True, readonly=True, ondelete="restrict")
    # set by the posting path (not stored-related: that would rewrite every posted line)
    category_id = fields.Many2one("credit.rule.category", readonly=True)
    # the terms the line was posted under, set by the posting path (no index on
    # purpose: nothing searches lines by version, and every index costs each line)
    rule_version_id = fields.Many2one("credit.rule.version", readonly=True, ondelete="restrict")
    points = fields.Integer(required=True, readonly=True, aggregator="sum")
    date = fields.Date(required=True, index=True, readonly=True)
    origin = fields.Selection(ORIGINS, required=True, readonly=True)
    origin_ref = fields.Char(
        string="Origin Document",
        readonly=True,
        help="The record that caused this movement, as model,id.",
    )
    idempotency_key = fields.Char(
        required=True,
        readonly=True,
        copy=False,
        help="One key per grant: posting the same key again posts nothing.",
    )
    description = fields.Text(string="Reason", readonly=True)
    granted_by_id = fields.Many2one("res.users", readonly=True)
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "credit_ledger_line_ir_attachment_rel",
        "credit_ledger_line_id",
        "ir_attachment_id",
        string="Evidence",
        readonly=True,
        copy=False,
    )
    state = fields.Selection(
        [("posted", "Posted"), ("reversed", "Reversed")],
        default="posted",
        required=True,
        readonly=True,
    )
    reversal_of_id = fields.Many2one(
        "credit.ledger.line", string="Reverses", readonly=True, index="btree_not_null"
    )
    reversal_ids = fields.One2many("credit.ledger.line", "reversal_of_id", string="Reversed By")
    # Where the subject stood when the line was posted: scores roll up to the
    # residential place and to the workplace, as they were at that time.
    place_id = fields.Many2one("credit.place", readonly=True, index=True)
    # indexed with the date, in init(): budgets sum a community's lines of a period
    community_id = fields.Many2one("credit.place", readonly=True)
    household_id = fields.Many2one("credit.household", readonly=True, index="btree_not_null")
    organisation_id = fields.Many2one(
        "res.partner",
        string="Workplace",
        readonly=True,
        index="btree_not_null",
        help="The organisation the subject belonged to when the line was posted.",
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    is_deduction = fields.Boolean(readonly=True)
    # from the notice, never stored on the line (lines are append-only)
    notice_id = fields.Many2one("credit.notice", compute="_compute_notice", compute_sudo=True)
    notice_state = fields.Selection(
        [
            ("pending", "Notice to send"),
            ("failed", "Notice failed"),
            ("appeal", "Appeal window open"),
            ("appealed", "Under appeal"),
            ("final", "Final"),
        ],
        compute="_compute_notice",
        compute_sudo=True,
        help="A deduction is not final until its notice is sent and the appeal window "
        "is over with no appeal open or upheld.",
    )
    deduction_final = fields.Boolean(
        compute="_compute_notice",
        compute_sudo=True,
        search="_search_deduction_final",
        help="A deduction whose notice was sent and whose appeal window is over, with "
        "no appeal open or upheld.",
    )
    # credit repair (信用修复): lines are append-only, so "repaired" is read from
    # the repair, never written on the line
    repair_ids = fields.One2many("credit.repair", "ledger_line_id", string="Credit Repair")
    repair_state = fields.Selection(
        REPAIR_STATES,
        string="Repair",
        compute="_compute_repair_state",
        search="_search_repair_state",
        compute_sudo=True,
        help="Whether the subject is earning back this deduction, or has earned it back.",
    )

    _sql_constraints = [
        ("idempotency_key_uniq", "unique(idempotency_key)", "This grant has already been posted."),
        ("points_not_zero", "CHECK(points <> 0)", "A ledger line must move points."),
    ]

    @api.private  # Odoo calls it at install and upgrade; nobody over RPC
    def init(self):
        # Few indexes on purpose: every one costs each posted line. Subject
        # lookups use this composite (its leading column is partner_id).
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS credit_ledger_line_partner_rule_date_idx "
                "ON credit_ledger_line (partner_id, rule_id, date)"
            )
        )
        # Community lookups (leading column) and a community's lines of a period
        # (what a budget has issued). It replaces the plain community_id index at
        # the same size: B-tree deduplication keeps both small.
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS credit_ledger_line_community_date_idx "
                "ON credit_ledger_line (community_id, date)"
            )
        )
        self.env.cr.execute(SQL("DROP INDEX IF EXISTS credit_ledger_line__community_id_index"))

    @api.depends("partner_id", "rule_id", "points")
    def _compute_display_name(self):
        for line in self:
            what = line.rule_id.name or dict(ORIGINS).get(line.origin, "")
            line.display_name = f"{line.partner_id.name}: {line.points:+d} ({what})"

    @api.depends_context("uid")
    def _compute_notice(self):
        notices = self.env["credit.notice"].search([("ledger_line_id", "in", self.ids)])
        by_line = {notice.ledger_line_id.id: notice for notice in notices}
        for line in self:
            notice = by_line.get(line.id, notices.browse())
            line.notice_id = notice
            line.deduction_final = notice.is_final
            if not notice:
                line.notice_state = False
            elif notice.state != "sent":
                line.notice_state = notice.state
            elif notice.is_final:
                line.notice_state = "final"
            elif notice.appeal_state == "open":
                line.notice_state = "appealed"
            else:
                line.notice_state = "appeal"

    def _search_deduction_final(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Unsupported search on final deductions."))
        final = self.env["credit.notice"].sudo()._search([("is_final", "=", True)])
        if (operator == "=") == value:
            return [("id", "in", final.subselect("ledger_line_id"))]
        return [("id", "not in", final.subselect("ledger_line_id"))]

    @api.depends("repair_ids.state")
    def _compute_repair_state(self):
        for line in self:
            line.repair_state = line.repair_ids[:1].state or False

    def _search_repair_state(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(self.env._("Ledger lines cannot be searched by repair that way."))
        values = [value] if operator in ("=", "!=") else list(value)
        negative = operator in ("!=", "not in")
        states = [v for v in values if v]
        # sudo: the repair is read to filter lines the user may already read
        query = self.env["credit.repair"].sudo()._search([("state", "in", states)])
        domain = [("id", "in", query.subselect("ledger_line_id"))]
        if len(states) != len(values):  # False: lines without any repair
            every = self.env["credit.repair"].sudo()._search([])
            domain = ["|", *domain, ("id", "not in", every.subselect("ledger_line_id"))]
        return ["!", *domain] if negative else domain

    # ------------------------------------------------------------------ CRUD
    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        # _post() inserts lines itself, after its checks: nobody creates them here
        if not self.env.su:
            self.check_access("create")
        raise UserError(
            self.env._(
                "Ledger lines are posted by the credit workflow only: use "
                "'Grant Points' or a claim instead of creating lines directly."
            )
        )

    def write(self, vals):
        if not self.env.su:
            self.check_access("write")
        if set(vals) - SYSTEM_WRITABLE or not self.env.su:
            raise UserError(
                self.env._(
                    "Posted ledger lines cannot be changed. To correct a line, reverse "
                    "it: a reversal line is added and the original stays in the history."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._(
                "Ledger lines cannot be deleted. To correct a line, reverse it: a "
                "reversal line is added and the original stays in the history."
            )
        )

    def copy(self, default=None):  # pylint: disable=method-required-super
        raise UserError(self.env._("Ledger lines cannot be duplicated."))

    # --------------------------------------------------------------- actions
    def action_reverse(self):
        """Open the reversal wizard (managers only)."""
        self._check_manager()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reverse Points"),
            "res_model": "credit.reverse.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_line_ids": self.ids},
        }

    def action_request_repair(self):
        """Earn back this deduction by volunteer service (信用修复), as the
        community's policy allows; the checks are in credit.repair."""
        self.ensure_one()
        self.env["credit.repair"]._request_repair(self.id)
        return True

    def _check_manager(self):
        if not self.env.user.has_group("community_credit.group_credit_manager"):
            raise AccessError(self.env._("Only credit managers can reverse ledger lines."))

    # ------------------------------------------------------- the posting path
    def _reverse(self, reason, date=None):
        """Post one reversal line for each line of self; returns the reversals."""
        if not reason or not reason.strip():
            raise UserError(self.env._("Say why the points are reversed."))
        date = date or fields.Date.context_today(self)
        vals_list = []
        for line in self:
            if line.origin == "reversal":
                raise UserError(
                    self.env._(
                        "%(line)s is itself a reversal. Grant the points again instead "
                        "of reversing a reversal.",
                        line=line.display_name,
                    )
                )
            if line.state == "reversed":
                raise UserError(
                    self.env._("%(line)s has already been reversed.", line=line.display_name)
                )
            vals_list.append(
                {
                    "partner_id": line.partner_id.id,
                    "rule_id": line.rule_id.id,
                    # a reversal undoes the line under the terms it was posted under
                    "rule_version_id": line.rule_version_id.id,
                    "points": -line.points,
                    "date": date,
                    "origin": "reversal",
                    "origin_ref": f"{line._name},{line.id}",
                    "reversal_of_id": line.id,
                    "description": reason.strip(),
                    "idempotency_key": f"reversal:{line.id}",
                    "company_id": line.company_id.id,
                }
            )
        return self._post(vals_list, check_rights=False)

    @api.model
    def _post(
        self,
        vals_list,
        *,
        check_rights=True,
        allow_negative=True,
        budget_approval=False,
        on_locked=None,
    ):
        """Post many ledger lines at once: the only way points enter the ledger.

        Each dict needs partner_id, idempotency_key and origin; rule_id and date
        are usual; points default to the rule's points. With check_rights, the
        current user must be allowed to grant each rule to each subject. With
        allow_negative=False a line may not take a balance below zero. With
        budget_approval (the reason, given by a council member whose right the
        caller checked) grants past a budget are posted and the overrun recorded.
        on_locked(posting) runs once the subjects' balances are locked, before
        anything is checked against them: a caller's own checks that must hold
        under the lock (a redemption's monthly limit and stock) go there, and it
        may complete the lines' values (their origin_ref).

        Lines whose idempotency key was already posted are not posted again:
        the existing line is returned in their place. The whole batch is posted
        or, on the first refused line, nothing is.

        The steps below are the pipeline; each is a method another module may
        extend (they all take and return the same ``Posting``).
        """
        if not vals_list:
            return self.browse()
        posting = Posting(
            vals_list,
            check_rights=check_rights,
            allow_negative=allow_negative,
            budget_approval=budget_approval,
        )
        self._post_prepare(posting)  # defaults, subject's place, rule version
        self._post_check_rights(posting)  # the rule applies; the caller may grant it
        self._post_lock(posting)  # lock the subjects' balances
        if on_locked:
            on_locked(posting)
        self._post_skip_posted(posting)  # idempotency: keys already posted
        self._post_check_limits(posting)  # caps, budgets, balance floor
        self._post_insert(posting)  # lines, balances, evidence
        self._post_after(posting)  # overruns, notices, reversed lines
        by_key = {line.idempotency_key: line.id for line in posting.created}
        by_key.update(posting.existing)
        return self.browse([by_key[key] for key in posting.keys])

    @api.model
    def _post_prepare(self, posting):
        """Complete every line's values: date, points, category, rule version,
        the subject's place, community, household and company."""
        today = fields.Date.context_today(self)
        vals_list = posting.vals_list
        posting.keys = [v.get("idempotency_key") for v in vals_list]
        if not all(posting.keys):
            raise UserError(self.env._("Every ledger line needs an idempotency key."))
        if len(set(posting.keys)) != len(posting.keys):
            raise UserError(self.env._("The same grant appears twice in one batch."))
        # sudo: reading place and roles of subjects the caller may not open
        partners = (
            self.env["res.partner"]
            .browse({v.get("partner_id") for v in vals_list if v.get("partner_id")})
            .sudo()
        )
        rules = (
            self.env["credit.rule"]
            .browse({v["rule_id"] for v in vals_list if v.get("rule_id")})
            .sudo()
        )
        partners.fetch(
            [
                "credit_place_id",
                "credit_community_id",
                "credit_household_id",
                "credit_role_ids",
                "is_company",
                "commercial_partner_id",
                "name",
            ]
        )
        # one query each, not one per subject inside the loop
        partners.credit_place_id.fetch(["parent_path"])
        partners.credit_community_id.fetch(["company_id", "allow_deduction"])
        versions = rules._current_versions()
        for vals in vals_list:
            partner = partners.browse(vals.get("partner_id"))
            if not partner:
                raise UserError(self.env._("Choose the subject who receives the points."))
            rule = rules.browse(vals.get("rule_id")) if vals.get("rule_id") else rules.browse()
            if vals.get("origin") not in dict(ORIGINS):
                raise UserError(
                    self.env._("Unknown origin of points: %(origin)s", origin=vals.get("origin"))
                )
            vals.setdefault("date", today)
            vals["date"] = fields.Date.to_date(vals["date"])
            if vals["date"] > today:
                raise UserError(
                    self.env._(
                        "%(date)s is in the future: points can only be posted for "
                        "today or earlier.",
                        date=vals["date"],
                    )
                )
            if not vals.get("points"):
                vals["points"] = rule.points
            if not vals["points"]:
                raise UserError(self.env._("A ledger line must move points."))
            # every column gets a value: _insert_lines() writes them all at once
            for name, value in LINE_DEFAULTS.items():
                vals.setdefault(name, value)
            vals["category_id"] = rule.category_id.id
            if rule and not vals.get("rule_version_id"):
                # the terms applied are the rule's as it is now (points and caps):
                # the line keeps the version in force today, also when backdated
                vals["rule_version_id"] = versions.get(rule.id, False)
            vals["is_deduction"] = vals["points"] < 0
            vals.setdefault("granted_by_id", self.env.uid)
            vals.setdefault("place_id", partner.credit_place_id.id)
            vals.setdefault("community_id", partner.credit_community_id.id)
            vals.setdefault("household_id", partner.credit_household_id.id)
            if partner.commercial_partner_id != partner and not vals.get("organisation_id"):
                vals["organisation_id"] = partner.commercial_partner_id.id
            vals.setdefault(
                "company_id",
                partner.credit_community_id.company_id.id or self.env.company.id,
            )
        company_ids = {v["company_id"] for v in vals_list}
        if len(company_ids) > 1:
            raise UserError(self.env._("Post the points of one company at a time."))
        posting.company_id = company_ids.pop()
        posting.partners, posting.rules = partners, rules
        return posting

    @api.model
    def _post_check_rights(self, posting):
        """Each rule applies to its subject (sign, validity, roles, policy) and,
        with check_rights, the caller may grant it to that subject."""
        check_rights = posting.check_rights
        user_places = place_paths(self.env.user.credit_place_ids) if check_rights else ()
        is_manager = self.env.user.has_group("community_credit.group_credit_manager")
        if check_rights and not any(self.env.user.has_group(g) for g in STAFF_GROUPS):
            raise AccessError(self.env._("You are not allowed to grant credit points."))
        for vals in posting.vals_list:
            partner = posting.partners.browse(vals["partner_id"])
            rule = posting.rules.browse(vals["rule_id"] or [])
            if vals["origin"] in RULE_ORIGINS:
                self._check_rule_applies(vals, partner, rule)
            if check_rights:
                if vals["origin"] == "manual" and partner == self.env.user.partner_id:
                    raise AccessError(
                        self.env._(
                            "You cannot grant points to yourself: ask another member of "
                            "staff, or declare the good deed as a claim."
                        )
                    )
                self._check_granter(partner, rule, user_places, is_manager)
        return posting

    @api.model
    def _post_lock(self, posting):
        """Lock the subjects' balance rows (one order for everyone, no deadlock):
        what follows is checked against committed data."""
        posting.balances = (
            self.env["credit.balance"].sudo()._lock_rows(posting.partners.ids, posting.company_id)
        )
        self.flush_model()
        return posting

    @api.model
    def _post_skip_posted(self, posting):
        """Keys already posted are returned, not posted again (and must be the
        same grant)."""
        posting.existing = self._check_idempotency(posting.vals_list)
        posting.new_vals = [
            v for v in posting.vals_list if v["idempotency_key"] not in posting.existing
        ]
        return posting

    @api.model
    def _post_check_limits(self, posting):
        """Caps of the rules, budgets of the places, and the balance floor."""
        new_vals = posting.new_vals
        self._check_caps([v for v in new_vals if v["origin"] in RULE_ORIGINS], posting.rules)
        posting.overruns = self._check_budgets(new_vals, posting.budget_approval)
        deltas = {}
        for vals in new_vals:
            delta = deltas.setdefault(vals["partner_id"], [0, 0, 0, 0, vals["date"]])
            delta[0] += vals["points"]
            delta[1 if vals["points"] > 0 else 2] += abs(vals["points"])
            delta[3] += 1
            delta[4] = max(delta[4], vals["date"])
        posting.deltas = deltas
        if not posting.allow_negative:
            for partner_id, delta in deltas.items():
                balance = posting.balances.get(partner_id, 0)
                if balance + delta[0] < 0:
                    raise UserError(
                        self.env._(
                            "%(subject)s has %(balance)s points, not enough for this.",
                            subject=posting.partners.browse(partner_id).name,
                            balance=balance,
                        )
                    )
        return posting

    @api.model
    def _post_insert(self, posting):
        """Insert the new lines, move the balances, attach loose evidence."""
        posting.created = self._insert_lines(posting.new_vals)
        self.env["credit.balance"].sudo()._apply_deltas(posting.company_id, posting.deltas)
        self._link_evidence(posting.created, posting.new_vals)
        return posting

    @api.model
    def _post_after(self, posting):
        """What follows a posting in the same transaction: budget overruns are
        recorded, every deduction under a rule is told to its subject, reversed
        lines are marked."""
        created, new_vals = posting.created, posting.new_vals
        self.env["credit.budget"]._record_overruns(
            posting.overruns, created, posting.budget_approval
        )
        deductions = [
            line.id
            for line, vals in zip(created, new_vals, strict=True)
            if vals["points"] < 0 and vals["origin"] in RULE_ORIGINS
        ]
        if deductions:
            # sudo: the notice is the subject's, whoever posted the deduction
            self.env["credit.notice"].sudo()._create_for_lines(self.browse(deductions))
        reversed_lines = self.browse([v["reversal_of_id"] for v in new_vals if v["reversal_of_id"]])
        if reversed_lines:
            # sudo: the posting path is the only writer of a line's state
            reversed_lines.sudo().write({"state": "reversed"})
        return posting

    @api.model
    def _check_idempotency(self, vals_list):
        """Return {key: id} of the keys already posted. A key posted again must
        be the same grant (subject, rule, points): anything else is refused, never
        answered with the first line."""
        self.env.cr.execute(
            SQL(
                "SELECT idempotency_key, id, partner_id, rule_id, points "
                "FROM credit_ledger_line WHERE idempotency_key = ANY(%s)",
                [v["idempotency_key"] for v in vals_list],
            )
        )
        existing = {}
        posted = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        for vals in vals_list:
            key = vals["idempotency_key"]
            if key not in posted:
                continue
            line_id, partner_id, rule_id, points = posted[key]
            if (partner_id, rule_id or False, points) != (
                vals["partner_id"],
                vals.get("rule_id") or False,
                vals["points"],
            ):
                raise UserError(
                    self.env._(
                        "Grant %(key)s was already posted with another subject, rule or "
                        "number of points: it is not posted again.",
                        key=key,
                    )
                )
            existing[key] = line_id
        return existing

    @api.model
    def _insert_lines(self, vals_list):
        """Insert checked lines in one statement (the ORM's create() costs a
        default lookup and a cache entry per line; nothing here needs them).
        Returns the new lines, in the order of vals_list."""
        if not vals_list:
            return self.browse()
        self.flush_model()
        columns = {
            "partner_id": "int4", "rule_id": "int4", "category_id": "int4",
            "rule_version_id": "int4",
            "points": "int4", "date": "date", "origin": "varchar",
            "origin_ref": "varchar", "idempotency_key": "varchar", "description": "text",
            "granted_by_id": "int4", "state": "varchar", "reversal_of_id": "int4",
            "place_id": "int4", "community_id": "int4", "household_id": "int4",
            "organisation_id": "int4", "company_id": "int4", "is_deduction": "bool",
        }  # fmt: skip
        arrays = [
            SQL("%s::%s[]", [v.get(name) or None for v in vals_list], SQL(kind))
            for name, kind in columns.items()
        ]
        arrays[list(columns).index("is_deduction")] = SQL(
            "%s::bool[]", [bool(v["is_deduction"]) for v in vals_list]
        )
        names = SQL(", ").join(SQL.identifier(name) for name in columns)
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO credit_ledger_line (%(names)s, create_uid, create_date,
                                                write_uid, write_date)
                SELECT %(names)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(arrays)s) AS v(%(names)s)
             RETURNING id, idempotency_key
                """,
                names=names,
                arrays=SQL(", ").join(arrays),
                uid=self.env.uid,
                now=self.env.cr.now(),
            )
        )
        ids = {key: line_id for line_id, key in self.env.cr.fetchall()}
        lines = self.browse([ids[v["idempotency_key"]] for v in vals_list])
        pairs = []
        for line, vals in zip(lines, vals_list, strict=True):
            for command in vals.get("attachment_ids") or []:
                if command[0] == fields.Command.SET:
                    pairs += [(line.id, att_id) for att_id in command[2]]
                elif command[0] == fields.Command.LINK:
                    pairs.append((line.id, command[1]))
                else:
                    raise UserError(self.env._("Evidence can only be attached to new lines."))
        if pairs:
            self.env.cr.execute(
                SQL(
                    "INSERT INTO credit_ledger_line_ir_attachment_rel "
                    "(credit_ledger_line_id, ir_attachment_id) "
                    "SELECT * FROM unnest(%s::int[], %s::int[]) ON CONFLICT DO NOTHING",
                    [p[0] for p in pairs],
                    [p[1] for p in pairs],
                )
            )
        self.invalidate_model(["reversal_ids", "attachment_ids"])
        return lines

    @api.model
    def _link_evidence(self, lines, vals_list):
        """Attach evidence that belongs to no record (fresh uploads, wizards) to the
        first line that uses it, so that whoever may read the line may read it."""
        if not any(v["attachment_ids"] for v in vals_list):
            return
        for attachment in lines.attachment_ids.sudo():
            loose = not attachment.res_model or not attachment.res_id
            from_wizard = (
                attachment.res_model in self.env and self.env[attachment.res_model]._transient
            )
            if loose or from_wizard:
                line = lines.filtered(lambda ln, a=attachment: a in ln.attachment_ids)[:1]
                attachment.write({"res_model": self._name, "res_id": line.id})

    @api.model
    def _check_rule_applies(self, vals, partner, rule):
        if not rule:
            raise UserError(self.env._("Choose the rule under which the points are granted."))
        if not partner.credit_role_ids:
            raise UserError(
                self.env._(
                    "%(subject)s is not a credit subject yet: give them a role "
                    "(resident, volunteer, merchant...) on their Credit tab first.",
                    subject=partner.name,
                )
            )
        if rule.company_id.id != vals["company_id"]:
            raise UserError(
                self.env._(
                    "Rule %(rule)s belongs to another company than %(subject)s.",
                    rule=rule.display_name,
                    subject=partner.name,
                )
            )
        if not rule.active:
            raise UserError(self.env._("Rule %(rule)s is archived.", rule=rule.display_name))
        if not rule._is_valid_on(vals["date"]):
            raise UserError(
                self.env._(
                    "Rule %(rule)s is not valid on %(date)s.",
                    rule=rule.display_name,
                    date=vals["date"],
                )
            )
        if rule.community_id and rule.community_id != partner.credit_community_id:
            raise UserError(
                self.env._(
                    "Rule %(rule)s belongs to %(community)s; %(subject)s is not a "
                    "subject of that community.",
                    rule=rule.display_name,
                    community=rule.community_id.display_name,
                    subject=partner.name,
                )
            )
        subject_type = "organisation" if partner.is_company else "person"
        if rule.subject_type not in ("any", subject_type):
            raise UserError(
                self.env._(
                    "Rule %(rule)s does not apply to %(subject)s (wrong kind of subject).",
                    rule=rule.display_name,
                    subject=partner.name,
                )
            )
        if (vals["points"] > 0) != (rule.points > 0):
            raise UserError(
                self.env._(
                    "Rule %(rule)s %(direction)s points: a line under it cannot do the opposite.",
                    rule=rule.display_name,
                    direction=self.env._("awards") if rule.points > 0 else self.env._("deducts"),
                )
            )
        if (
            vals["points"] < 0
            and not partner.credit_community_id.allow_deduction
            and partner.credit_community_id
        ):
            raise UserError(
                self.env._(
                    "%(community)s does not deduct points (积分不扣分): %(subject)s "
                    "cannot lose points under %(rule)s.",
                    community=partner.credit_community_id.display_name,
                    subject=partner.name,
                    rule=rule.display_name,
                )
            )
        if rule.evidence_required and not vals.get("attachment_ids"):
            raise UserError(
                self.env._(
                    "Rule %(rule)s requires evidence: attach a photo or a document.",
                    rule=rule.display_name,
                )
            )

    @api.model
    def _check_granter(self, partner, rule, user_places, is_manager):
        if rule.granter_group_ids and not (rule.granter_group_ids & self.env.user.groups_id):
            raise AccessError(
                self.env._(
                    "You may not grant rule %(rule)s: it is reserved for %(groups)s.",
                    rule=rule.display_name,
                    groups=", ".join(rule.granter_group_ids.mapped("name")),
                )
            )
        if is_manager:
            return
        if not path_within(partner.credit_place_id.parent_path, user_places):
            raise AccessError(
                self.env._(
                    "%(subject)s does not live in the places you look after, so you "
                    "cannot grant them points.",
                    subject=partner.name,
                )
            )

    @api.model
    def _check_caps(self, vals_list, rules):
        """Refuse lines that would take a subject past a rule's cap in a period.

        Existing totals come from one aggregate query; lines of the same batch
        count against each other.
        """
        capped_rules = {r.id for r in rules if any(r[f"cap_{p}"] for p in CAP_PERIODS)}
        capped = [v for v in vals_list if v.get("rule_id") in capped_rules]
        if not capped:
            return
        pairs = sorted({(v["partner_id"], v["rule_id"]) for v in capped})
        # the earliest period start that any cap of the batch reaches back to
        # (a week can begin in the previous year)
        start = min(period_start(v["date"], p) for v in capped for p in ("week", "year"))
        end = max(v["date"] for v in capped).replace(month=12, day=31) + timedelta(days=6)
        self.env.cr.execute(
            SQL(
                """
            SELECT l.partner_id, l.rule_id, l.date, SUM(l.points)
              FROM credit_ledger_line l
              JOIN unnest(%(partners)s::int[], %(rules)s::int[]) AS k(partner_id, rule_id)
                ON k.partner_id = l.partner_id AND k.rule_id = l.rule_id
             WHERE l.date BETWEEN %(start)s AND %(end)s
          GROUP BY l.partner_id, l.rule_id, l.date
            """,
                partners=[p for p, _r in pairs],
                rules=[r for _p, r in pairs],
                start=start,
                end=end,
            )
        )
        daily = defaultdict(int)
        for partner_id, rule_id, date, total in self.env.cr.fetchall():
            daily[(partner_id, rule_id, date)] += total
        totals = defaultdict(int)
        for (partner_id, rule_id, date), total in daily.items():
            for period in CAP_PERIODS:
                totals[(partner_id, rule_id, period, period_start(date, period))] += total
        labels = {
            "day": self.env._("day"),
            "week": self.env._("week"),
            "month": self.env._("month"),
            "year": self.env._("year"),
        }
        for vals in capped:
            rule = rules.browse(vals["rule_id"])
            sign = 1 if rule.points > 0 else -1
            for period in CAP_PERIODS:
                cap = rule[f"cap_{period}"]
                if not cap:
                    continue
                key = (vals["partner_id"], rule.id, period, period_start(vals["date"], period))
                if sign * (totals[key] + vals["points"]) > cap:
                    partner = self.env["res.partner"].browse(vals["partner_id"]).sudo()
                    raise UserError(
                        self.env._(
                            "Cap reached: rule %(rule)s allows at most %(cap)s points per "
                            "%(period)s for each subject, and %(subject)s already has "
                            "%(done)s in the %(period)s of %(date)s.",
                            rule=rule.display_name,
                            cap=cap,
                            period=labels[period],
                            subject=partner.name,
                            done=sign * totals[key],
                            date=vals["date"],
                        )
                    )
            for period in CAP_PERIODS:
                totals[
                    (vals["partner_id"], rule.id, period, period_start(vals["date"], period))
                ] += vals["points"]

    @api.model
    def _check_budgets(self, vals_list, approval=False):
        """Refuse new grants under rules that would take a place past its budget
        (see credit.budget._check_lines); returns the overruns a council member
        approved (`approval`, the reason), to be recorded once the lines exist.
        No query when the batch grants nothing under rules."""
        granted = [
            v
            for v in vals_list
            if v["origin"] in RULE_ORIGINS and v["points"] > 0 and v.get("place_id")
        ]
        if not granted:
            return []
        # sudo: the granter may not read every place; parent paths were prefetched
        places = self.env["credit.place"].browse({v["place_id"] for v in granted}).sudo()
        paths = {place.id: place.parent_path for place in places}
        # sudo: budgets bind every granter, whether or not they may read them
        return self.env["credit.budget"].sudo()._check_lines(granted, paths, approval)

    # ------------------------------------------------------------- expiry
    @api.model
    def _cron_expire_points(self, limit=5000):
        """Expire unspent points older than each community's expiry period,
        for about `limit` subjects at a time (the cron runs again while some are
        left).

        Spending and deductions use the oldest points first, so what expires is
        what was earned up to the cut-off date minus everything ever taken away.
        A re-run on the same day posts nothing (idempotency key per cut-off).

        Shared between workers: a run takes the subjects whose balance rows no
        other transaction holds (FOR UPDATE SKIP LOCKED) and posts for those
        only, so two runs at once (two cron workers, see _batch_progress) split
        the subjects and never wait for each other. A subject skipped because
        another transaction held it is still due and counted as remaining: the
        next run takes it. Returns the expiry lines posted.
        """
        today = fields.Date.context_today(self)
        communities = (
            self.env["credit.place"]
            .sudo()
            .search([("place_type", "=", "community"), ("points_expire", "=", True)])
        )
        self.flush_model()
        due = {}  # (partner, company): (amount, community, cutoff)
        for community in communities:
            cutoff = today - relativedelta(months=community.expiry_months)
            self.env.cr.execute(
                SQL(
                    """
                SELECT l.partner_id,
                       SUM(CASE WHEN l.points > 0 AND l.date <= %(cutoff)s
                                THEN l.points ELSE 0 END)
                     - SUM(CASE WHEN l.points < 0 THEN -l.points ELSE 0 END)
                  FROM credit_ledger_line l
                  JOIN res_partner p ON p.id = l.partner_id
                 WHERE p.credit_community_id = %(community)s
                   AND l.company_id = %(company)s
              GROUP BY l.partner_id
                HAVING SUM(CASE WHEN l.points > 0 AND l.date <= %(cutoff)s
                                THEN l.points ELSE 0 END)
                     > SUM(CASE WHEN l.points < 0 THEN -l.points ELSE 0 END)
                """,
                    cutoff=cutoff,
                    community=community.id,
                    company=community.company_id.id,
                )
            )
            company_id = community.company_id.id
            for partner_id, amount in self.env.cr.fetchall():
                due[partner_id, company_id] = (amount, community, cutoff)
        expired = self.browse()
        try:
            with self.env.cr.savepoint():
                # the subjects nobody else is posting for right now: under
                # REPEATABLE READ a run that waited for another's subject would
                # fail once the other commits
                self.env["credit.balance"].flush_model()
                self.env.cr.execute(
                    SQL(
                        """
                        SELECT b.partner_id, b.company_id FROM credit_balance b
                          JOIN unnest(%s::int[], %s::int[]) AS d(partner_id, company_id)
                            ON d.partner_id = b.partner_id AND d.company_id = b.company_id
                      ORDER BY b.partner_id, b.company_id
                         LIMIT %s
                           FOR UPDATE OF b SKIP LOCKED
                        """,
                        [partner for partner, _company in due],
                        [company for _partner, company in due],
                        limit,
                    ),
                    log_exceptions=False,
                )
                taken = self.env.cr.fetchall()
                by_company = defaultdict(list)
                for partner_id, company_id in taken:
                    amount, community, cutoff = due[partner_id, company_id]
                    by_company[company_id].append(
                        {
                            "partner_id": partner_id,
                            "points": -amount,
                            "date": today,
                            "origin": "expiry",
                            "company_id": company_id,
                            "description": self.env._(
                                "Points earned up to %(date)s and not used expire.",
                                date=cutoff,
                            ),
                            "idempotency_key": f"expiry:{community.id}:{partner_id}:{cutoff}",
                        }
                    )
                lines = self.browse()
                for vals_list in by_company.values():
                    lines |= self.sudo()._post(vals_list, check_rights=False)
                expired = lines
        except CONFLICTS as exc:
            # another transaction changed one of these subjects since this one
            # began: nothing of this run stays, the next one (a new snapshot) does it
            _logger.info("Point expiry: run stopped by a concurrent update (%s)", exc.pgcode)
        self._batch_progress(done=len(expired), remaining=len(due) - len(expired))
        return expired

    @api.model
    def _batch_progress(self, done, remaining):
        """Report one run of a batch job (point expiry, commitment evaluation,
        notice sending, closing publications) to Odoo's cron runner, and see that
        what is left is taken.

        Odoo 18 runs one scheduled action on one worker at a time: ir.cron
        locks the action's row while it runs (FOR NO KEY UPDATE SKIP LOCKED),
        runs the job up to 10 times while it reports work done and work
        remaining (_notify_progress), committing after each run, then leaves
        it ready for any worker of any node. So that two nodes work on one
        year-end at the same time, each of these jobs has a second scheduled
        action running the same code (data/ir_cron_data.xml; more may be added
        by copying one); the runs take rows no other transaction holds (FOR
        UPDATE SKIP LOCKED) and split the work between them:

        - while work is left after a run that did some, every other active
          scheduled action running the same code is triggered (unless one is
          already due), so that an idle worker joins in;
        - a run that did nothing although work is left (everything left was
          held by another transaction, or changed under it) looks again in a
          minute: if the holder's transaction was rolled back (a worker killed),
          its rows are taken then, not at the next daily call.

        Outside a cron (a test, a shell) only the progress is reported."""
        crons = self.env["ir.cron"].sudo()
        crons._notify_progress(done=done, remaining=remaining)
        cron = crons.browse(self.env.context.get("cron_id")).exists()
        if not cron or not remaining:
            return
        if not done:
            cron._trigger(fields.Datetime.now() + timedelta(minutes=1))
            return
        others = crons.search(
            [("id", "!=", cron.id), ("code", "=", cron.code), ("active", "=", True)]
        )
        due = self.env["ir.cron.trigger"].sudo().search([("cron_id", "in", others.ids)]).cron_id
        for other in others - due:
            other._trigger()
