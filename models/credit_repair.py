"""Credit repair (信用修复): a subject earns back one deduction by volunteer
service within a period. The deduction stays in the ledger; the repair posts its
reversal through the one posting path and the history shows it as repaired."""

from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .credit_ledger_line import REPAIR_STATES, RULE_ORIGINS, STAFF_GROUPS
from .utils import check_caller, html_text


def format_hours(hours):
    """4.0 -> '4', 2.5 -> '2.5'."""
    return f"{hours:g}"


class CreditRepair(models.Model):
    _name = "credit.repair"
    _description = "Credit Repair"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "deadline, id"
    _check_company_auto = True
    # opened by _request_repair, repaired or expired by the hours served,
    # cancelled by the council's button
    _credit_user_fields = frozenset()

    partner_id = fields.Many2one(
        "res.partner", string="Subject", required=True, readonly=True, index=True
    )
    ledger_line_id = fields.Many2one(
        "credit.ledger.line",
        string="Deduction",
        required=True,
        readonly=True,
        ondelete="restrict",
        check_company=True,
    )
    rule_id = fields.Many2one("credit.rule", readonly=True)
    deduction_date = fields.Date(readonly=True, required=True)
    points = fields.Integer(
        string="Points to Restore", readonly=True, help="The points the deduction took away."
    )
    hours_required = fields.Float(
        readonly=True, help="Copied from the community's policy when the repair was asked for."
    )
    deadline = fields.Date(readonly=True, required=True, index=True)
    hours_done = fields.Float(
        compute="_compute_hours_done",
        compute_sudo=True,
        help="Volunteer service hours done from the day of the deduction until the deadline; "
        "hours that earned back an earlier deduction do not count twice.",
    )
    state = fields.Selection(
        REPAIR_STATES, default="open", required=True, readonly=True, tracking=True, index=True
    )
    reversal_line_id = fields.Many2one(
        "credit.ledger.line", string="Reversal", readonly=True, check_company=True
    )
    requested_by_id = fields.Many2one("res.users", readonly=True)
    community_id = fields.Many2one("credit.place", readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)

    _sql_constraints = [
        (
            "ledger_line_uniq",
            "unique(ledger_line_id)",
            "A deduction can be earned back once only.",
        ),
    ]

    @api.depends("ledger_line_id.partner_id", "deadline", "state")
    def _compute_hours_done(self):
        hours = self._hours_by_repair()
        for repair in self:
            repair.hours_done = hours.get(repair.id, 0.0)

    def _hours_by_repair(self):
        """Hours of service counted for each repair of self's subjects, in one
        _read_group: each day's hours go to the subject's repairs in the order of
        their deadlines, so one service never earns back two deductions."""
        repairs = self.search(
            [("partner_id", "in", self.partner_id.ids), ("state", "in", ("open", "repaired"))],
            order="deadline, id",
        )
        if not repairs:
            return {}
        rows = self.env["credit.volunteer.service"]._read_group(
            [
                ("partner_id", "in", repairs.partner_id.ids),
                ("state", "=", "done"),
                ("date", ">=", min(repairs.mapped("deduction_date"))),
                ("date", "<=", max(repairs.mapped("deadline"))),
            ],
            ["partner_id", "date:day"],
            ["hours:sum"],
        )
        days = defaultdict(list)
        for partner, day, total in sorted(rows, key=lambda r: r[1]):
            days[partner.id].append([day, total or 0.0])
        result = defaultdict(float)
        for repair in repairs:
            needed = repair.hours_required
            for entry in days[repair.partner_id.id]:
                day, left = entry
                if result[repair.id] >= needed:
                    break
                if left <= 0 or not repair.deduction_date <= day <= repair.deadline:
                    continue
                used = min(left, needed - result[repair.id])
                result[repair.id] += used
                entry[1] -= used
        return result

    # ------------------------------------------------------------- CRUD
    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._("A credit repair stays on record: cancel it instead of deleting it.")
        )

    # ----------------------------------------------------------- request
    @api.model
    def _request_repair(self, line_id):
        """The subject (or a grid worker for them) asks to earn back a deduction.
        Called by the resident's portal page and the deduction's Earn Back button
        (credit.ledger.line.action_request_repair): the line must be readable by
        the caller, and a resident may only ask for their own lines."""
        line = self.env["credit.ledger.line"].browse(int(line_id)).exists()
        user = self.env.user
        is_staff = any(user.has_group(g) for g in STAFF_GROUPS)
        if (
            not line
            or not line.has_access("read")
            or (not is_staff and line.partner_id != user.partner_id)
        ):
            raise AccessError(self.env._("You can only ask to earn back your own deductions."))
        # sudo: residents and grid workers may not create repairs; the checks are here
        line = line.sudo()
        self._check_repairable(line)
        community = line.community_id
        repair = self.sudo().create(
            {
                "partner_id": line.partner_id.id,
                "ledger_line_id": line.id,
                "rule_id": line.rule_id.id,
                "deduction_date": line.date,
                "points": -line.points,
                "hours_required": community.repair_hours,
                "deadline": line.date + timedelta(days=community.repair_days),
                "requested_by_id": user.id,
                "community_id": community.id,
                "company_id": line.company_id.id,
            }
        )
        repair._message_log(
            body=html_text(
                self.env._(
                    "%(user)s asked to earn back %(points)s points by %(hours)s hours of "
                    "volunteer service by %(deadline)s.",
                    user=user.name,
                    points=repair.points,
                    hours=format_hours(repair.hours_required),
                    deadline=repair.deadline,
                )
            )
        )
        repair._check_done()  # service already done since the deduction counts
        return repair.with_env(self.env)

    @api.model
    def _repair_refusal(self, line):
        """Why `line` cannot be earned back (a translated sentence), or None."""
        community = line.community_id
        rule = line.rule_id
        if line.points >= 0 or line.origin not in RULE_ORIGINS or not rule:
            return self.env._("Only deductions under a rule can be earned back.")
        if not community.repair_enabled:
            return self.env._(
                "%(community)s does not offer credit repair: ask your community office.",
                community=community.display_name or self.env._("Your community"),
            )
        if not rule.repairable:
            return self.env._("A deduction for %(rule)s cannot be earned back.", rule=rule.name)
        if line.state != "posted":
            return self.env._("This deduction has already been reversed.")
        deadline = line.date + timedelta(days=community.repair_days)
        if fields.Date.context_today(self) > deadline:
            return self.env._(
                "The time to earn back this deduction ended on %(deadline)s.", deadline=deadline
            )
        if self.sudo().search_count([("ledger_line_id", "=", line.id)], limit=1):
            return self.env._("You have already asked to earn back this deduction.")
        return None

    @api.model
    def _check_repairable(self, line):
        refusal = self._repair_refusal(line)
        if refusal:
            raise UserError(refusal)

    @api.model
    def _portal_offers(self, lines):
        """{line id: button label} for the lines of `lines` that can still be
        earned back, for the resident's history."""
        # sudo: policy and rule fields of the resident's own lines
        lines = lines.sudo().filtered(lambda ln: ln.points < 0 and ln.state == "posted")
        if not lines:
            return {}
        asked = set(self.sudo().search([("ledger_line_id", "in", lines.ids)]).ledger_line_id.ids)
        return {
            line.id: self.env._(
                "Earn it back (%(hours)s hours of service by %(deadline)s)",
                hours=format_hours(line.community_id.repair_hours),
                deadline=line.date + timedelta(days=line.community_id.repair_days),
            )
            for line in lines
            if line.id not in asked and not self._repair_refusal(line)
        }

    # ---------------------------------------------------------- progress
    def _check_done(self):
        """Reverse the deductions of the open repairs of self whose hours are
        reached; cancel those whose deduction was reversed some other way. Locks
        the repairs first, so two services recorded at once repair once, and
        both count."""
        repairs = self.filtered(lambda r: r.state == "open")
        if not repairs:
            return self.browse()
        self.flush_model()
        # lock the repairs, and mark them touched: a concurrent transaction that
        # counted hours on an older snapshot then fails to serialise on this row
        # and is retried with the hours committed here
        self.env.cr.execute(
            SQL(
                "UPDATE credit_repair SET write_date = %s WHERE id = ANY(%s) AND state = 'open' "
                "RETURNING id",
                self.env.cr.now(),
                repairs.ids,
            )
        )
        # sudo: the attendance path runs as the organiser; posting checks are in _reverse
        repairs = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        repairs.invalidate_recordset()
        gone = repairs.filtered(lambda r: r.ledger_line_id.state != "posted")
        gone._set_state("cancelled", self.env._("The deduction was reversed another way."))
        hours = (repairs - gone)._hours_by_repair()
        done = (repairs - gone).filtered(lambda r: hours.get(r.id, 0.0) >= r.hours_required)
        for repair in done:
            reason = self.env._(
                "Credit repair: %(hours)s h of volunteer service",
                hours=format_hours(repair.hours_required),
            )
            reversal = repair.ledger_line_id._reverse(reason)
            repair.write({"state": "repaired", "reversal_line_id": reversal.id})
            repair._message_log(
                body=html_text(
                    self.env._(
                        "Repaired: %(points)s points restored after %(hours)s hours of "
                        "volunteer service.",
                        points=repair.points,
                        hours=format_hours(repair.hours_required),
                    )
                )
            )
        return done

    def _set_state(self, state, reason):
        if not self:
            return
        self.write({"state": state})
        for repair in self:
            repair._message_log(body=html_text(reason))

    @api.model
    def _check_partners(self, partners):
        """Volunteer service was recorded for `partners`: repair what it completes."""
        if not partners:
            return
        self.sudo().search(  # sudo: runs in the attendance path, as the organiser
            [("partner_id", "in", partners.ids), ("state", "=", "open")]
        )._check_done()

    @api.model
    def _cron_repairs(self):
        """Daily: repair what the hours complete, then expire the open repairs
        whose deadline has passed. A re-run changes and posts nothing."""
        today = fields.Date.context_today(self)
        repairs = self.sudo().search([("state", "=", "open")])
        repairs._check_done()
        late = repairs.filtered(lambda r: r.state == "open" and r.deadline < today)
        late._set_state(
            "expired",
            self.env._("Expired: the hours of service were not reached by the deadline."),
        )

    # ----------------------------------------------------------- actions
    def action_cancel(self):
        check_caller(self)
        if not self.env.user.has_group("community_credit.group_credit_manager"):
            raise AccessError(self.env._("Only the council cancels credit repairs."))
        if any(repair.state != "open" for repair in self):
            raise UserError(self.env._("Only an open repair can be cancelled."))
        # sudo: the state is the workflow's, the council member was checked above
        self.sudo()._set_state(
            "cancelled", self.env._("Cancelled by %(user)s.", user=self.env.user.name)
        )
        return True
