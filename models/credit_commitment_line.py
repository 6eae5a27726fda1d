from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .credit_commitment import COUNTED_ORIGINS
from .credit_commitment_obligation import COUNTED_KINDS
from .utils import check_caller, html_text

RESULTS = [("pending", "Pending"), ("met", "Met"), ("not_met", "Not Met")]


class CreditCommitmentLine(models.Model):
    """One obligation of one signed commitment, with its outcome."""

    _name = "credit.commitment.line"
    _description = "Commitment Obligation Outcome"
    _inherit = ["credit.workflow.mixin"]
    _order = "commitment_id, id"
    # made by signing, measured by the evaluation, checked by staff's buttons
    _credit_user_fields = frozenset()

    commitment_id = fields.Many2one(
        "credit.commitment", required=True, ondelete="cascade", index=True
    )
    obligation_id = fields.Many2one(
        "credit.commitment.obligation", required=True, ondelete="restrict", index=True
    )
    name = fields.Char(related="obligation_id.name", string="Description")
    kind = fields.Selection(related="obligation_id.kind", store=True)
    target = fields.Float(related="obligation_id.target", digits=(12, 1))
    weight = fields.Integer(related="obligation_id.weight")
    partner_id = fields.Many2one(related="commitment_id.partner_id")
    state = fields.Selection(related="commitment_id.state")
    result = fields.Selection(RESULTS, default="pending", required=True, readonly=True)
    value = fields.Float(
        string="Reached", digits=(12, 1), readonly=True, help="Measured at evaluation."
    )
    checked_by_id = fields.Many2one("res.users", readonly=True)
    checked_on = fields.Datetime(readonly=True)
    progress_value = fields.Float(string="So Far", digits=(12, 1), compute="_compute_progress")
    progress_met = fields.Boolean(string="Met So Far", compute="_compute_progress")
    progress_text = fields.Char(string="Progress", compute="_compute_progress")

    @api.depends("result", "value", "commitment_id.state")
    def _compute_progress(self):
        # live figures while the commitment runs, the recorded ones once evaluated
        running = self.filtered(lambda ln: ln.commitment_id.state == "signed" and ln.id)
        live = running.sudo()._measure()
        for line in self:
            value = live.get(line.id, line.value)
            if line.kind == "manual":
                met = line.result == "met"
                text = dict(RESULTS)[line.result]
            elif line.kind == "no_deduction":
                met = not value
                text = (
                    self.env._("No deduction")
                    if met
                    else self.env._("%(count)s deductions", count=int(value))
                )
            else:
                met = value >= line.target
                text = f"{value:g} / {line.target:g}"
            line.progress_value = value
            line.progress_met = met
            line.progress_text = text

    def _measure(self):
        """Current value of each measured obligation line: {line id: value}.
        One aggregate query per obligation and period, whatever the number of
        subjects."""
        groups = defaultdict(list)
        for line in self:
            if line.kind in COUNTED_KINDS or line.kind == "no_deduction":
                commitment = line.commitment_id
                key = (
                    line.obligation_id,
                    commitment.date_from,
                    commitment.date_to,
                    commitment.company_id.id,
                )
                groups[key].append(line)
        values = {}
        for (obligation, start, end, company_id), lines in groups.items():
            partner_ids = list({ln.commitment_id.partner_id.id for ln in lines})
            totals = self._measure_query(obligation, start, end, company_id, partner_ids)
            for line in lines:
                values[line.id] = totals.get(line.commitment_id.partner_id.id, 0)
        return values

    @api.model
    def _measure_query(self, obligation, start, end, company_id, partner_ids):
        kind = obligation.kind
        if kind in ("services", "hours"):
            self.env["credit.volunteer.service"].flush_model()
            measure = SQL("COUNT(*)") if kind == "services" else SQL("COALESCE(SUM(hours), 0)")
            query = SQL(
                """
                SELECT partner_id, %(measure)s FROM credit_volunteer_service
                 WHERE partner_id = ANY(%(partners)s) AND state = 'done'
                   AND date BETWEEN %(start)s AND %(end)s AND company_id = %(company)s
              GROUP BY partner_id
                """,
                measure=measure,
                partners=partner_ids,
                start=start,
                end=end,
                company=company_id,
            )
        else:
            self.env["credit.ledger.line"].flush_model()
            conditions = [SQL("state = 'posted'"), SQL("origin = ANY(%s)", COUNTED_ORIGINS)]
            if kind == "no_deduction":
                conditions.append(SQL("points < 0"))
            else:
                conditions.append(SQL("points > 0"))
            if obligation.rule_ids and kind in ("rule_lines", "no_deduction"):
                conditions.append(SQL("rule_id = ANY(%s)", obligation.rule_ids.ids))
            measure = SQL("SUM(points)") if kind == "points" else SQL("COUNT(*)")
            query = SQL(
                """
                SELECT partner_id, %(measure)s FROM credit_ledger_line
                 WHERE partner_id = ANY(%(partners)s)
                   AND date BETWEEN %(start)s AND %(end)s AND company_id = %(company)s
                   AND %(conditions)s
              GROUP BY partner_id
                """,
                measure=measure,
                partners=partner_ids,
                start=start,
                end=end,
                company=company_id,
                conditions=SQL(" AND ").join(conditions),
            )
        self.env.cr.execute(query)
        return {partner_id: float(value) for partner_id, value in self.env.cr.fetchall()}

    @api.model
    def _write_results(self, rows):
        """rows: (line id, value, result), written in one statement."""
        if not rows:
            return
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                UPDATE credit_commitment_line l
                   SET value = v.value, result = v.result,
                       write_uid = %(uid)s, write_date = %(now)s
                  FROM unnest(%(ids)s::int[], %(values)s::float8[], %(results)s::varchar[])
                       AS v(id, value, result)
                 WHERE l.id = v.id
                """,
                uid=self.env.uid,
                now=self.env.cr.now(),
                ids=[r[0] for r in rows],
                values=[r[1] for r in rows],
                results=[r[2] for r in rows],
            )
        )
        self.invalidate_model(["value", "result"])

    # ------------------------------------------------------- checks by staff
    def _record_check(self, result):
        check_caller(self)
        if not self.env.user.has_group("community_credit.group_credit_grid_worker"):
            raise AccessError(self.env._("Only staff record the checks of commitments."))
        self.check_access("write")  # record rules: subjects of the user's places
        for line in self:
            if line.kind != "manual":
                raise UserError(
                    self.env._(
                        "'%(obligation)s' is measured from the ledger, not checked by hand.",
                        obligation=line.name,
                    )
                )
            if line.commitment_id.state != "signed" and not self.env.user.has_group(
                "community_credit.group_credit_manager"
            ):
                raise UserError(
                    self.env._(
                        "%(name)s has been evaluated: only the council can change a check "
                        "and re-evaluate it.",
                        name=line.commitment_id.display_name,
                    )
                )
        # sudo: the outcome is the workflow's, the caller was checked above
        self.sudo().write(
            {"result": result, "checked_by_id": self.env.uid, "checked_on": fields.Datetime.now()}
        )
        for line in self:
            line.commitment_id._message_log(
                body=html_text(
                    self.env._(
                        "%(obligation)s checked by %(user)s: %(result)s.",
                        obligation=line.name,
                        user=self.env.user.name,
                        result=dict(RESULTS)[result],
                    )
                )
            )
        return True

    def action_check_met(self):
        return self._record_check("met")

    def action_check_not_met(self):
        return self._record_check("not_met")
