from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL


class CreditBalance(models.Model):
    """One row per subject and company, kept by the ledger's posting method.

    The row is both the fast answer to "what is my balance" and the lock that
    serialises postings for one subject (see credit.ledger.line._post).
    It is never written by hand; `_check_consistency` proves it equals the ledger.
    """

    _name = "credit.balance"
    _description = "Credit Balance"
    _order = "balance desc, partner_id"
    _rec_name = "partner_id"

    partner_id = fields.Many2one(
        "res.partner", string="Subject", required=True, readonly=True, ondelete="restrict"
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    place_id = fields.Many2one(
        related="partner_id.credit_place_id", store=True, index=True, string="Place"
    )
    # indexed by credit_balance_community_rank_idx (community_id, balance DESC)
    community_id = fields.Many2one(related="partner_id.credit_community_id", store=True)
    household_id = fields.Many2one(
        related="partner_id.credit_household_id", store=True, index="btree_not_null"
    )
    balance = fields.Integer(readonly=True, default=0, aggregator="sum")
    total_earned = fields.Integer(readonly=True, default=0, aggregator="sum")
    total_spent = fields.Integer(
        string="Total Deducted or Spent", readonly=True, default=0, aggregator="sum"
    )
    line_count = fields.Integer(string="Movements", readonly=True, default=0)
    last_date = fields.Date(string="Last Movement", readonly=True)
    level_id = fields.Many2one("credit.level", compute="_compute_level_id")
    community_rank = fields.Integer(
        string="Rank",
        compute="_compute_community_rank",
        aggregator=False,
        help="Place in the community's leaderboard: 1 + the number of subjects of the "
        "community with more points (equal balances share a rank).",
    )

    _sql_constraints = [
        (
            "partner_company_uniq",
            "unique(partner_id, company_id)",
            "A subject has one balance per company.",
        ),
    ]

    @api.private  # Odoo calls it at install and upgrade; nobody over RPC
    def init(self):
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS credit_balance_community_rank_idx "
                "ON credit_balance (community_id, balance DESC)"
            )
        )

    @api.depends("balance", "community_id")
    def _compute_level_id(self):
        table = self.env["credit.level"]._level_table(self.community_id.ids)
        for row in self:
            row.level_id = self.env["credit.level"]._level_for(
                table, row.community_id.id, row.balance
            )

    @api.depends("balance", "community_id")
    def _compute_community_rank(self):
        """One query, each rank an index scan of (community_id, balance DESC)
        down to the row: the top of a leaderboard is the cheap part."""
        rows = self.filtered(lambda row: row.id and row.community_id)
        ranks = {}
        if rows:
            self.flush_model(["balance", "community_id", "company_id"])
            self.env.cr.execute(
                SQL(
                    """
                    SELECT b.id,
                           1 + (SELECT COUNT(*) FROM credit_balance o
                                 WHERE o.community_id = b.community_id
                                   AND o.company_id = b.company_id
                                   AND o.balance > b.balance)
                      FROM credit_balance b
                     WHERE b.id = ANY(%s)
                    """,
                    rows.ids,
                )
            )
            ranks = dict(self.env.cr.fetchall())
        for row in self:
            row.community_rank = ranks.get(row.id, 0)

    @api.model
    def _lock_rows(self, partner_ids, company_id):
        """Create missing rows, then lock them in a fixed order.

        Under REPEATABLE READ, a concurrent transaction that posted for one of
        these subjects makes this lock fail with a serialization error, so the
        request is retried with a fresh snapshot and sees the other posting:
        caps, balances and idempotency keys are checked against committed data.
        Returns {partner_id: balance}.
        """
        partner_ids = sorted(set(partner_ids))
        if not partner_ids:
            return {}
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO credit_balance (partner_id, company_id, place_id, community_id,
                       household_id, balance, total_earned, total_spent, line_count,
                       create_uid, create_date, write_uid, write_date)
                SELECT p.id, %(company)s, p.credit_place_id, p.credit_community_id,
                       p.credit_household_id, 0, 0, 0, 0,
                       %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
                  FROM res_partner p
                 WHERE p.id = ANY(%(partners)s)
              ORDER BY p.id
                    ON CONFLICT (partner_id, company_id) DO NOTHING
                """,
                company=company_id,
                uid=self.env.uid,
                partners=partner_ids,
            )
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT partner_id, balance FROM credit_balance
                 WHERE partner_id = ANY(%(partners)s) AND company_id = %(company)s
              ORDER BY partner_id
                   FOR UPDATE
                """,
                partners=partner_ids,
                company=company_id,
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _apply_deltas(self, company_id, deltas):
        """deltas: {partner_id: [points, earned, spent, count, last_date]}."""
        if not deltas:
            return
        partners = sorted(deltas)
        self.env.cr.execute(
            SQL(
                """
                UPDATE credit_balance b
                   SET balance = b.balance + v.delta,
                       total_earned = b.total_earned + v.earned,
                       total_spent = b.total_spent + v.spent,
                       line_count = b.line_count + v.n,
                       last_date = GREATEST(b.last_date, v.last_date),
                       write_uid = %(uid)s,
                       write_date = now() at time zone 'UTC'
                  FROM unnest(%(partners)s::int[], %(delta)s::int[], %(earned)s::int[],
                              %(spent)s::int[], %(n)s::int[], %(last)s::date[])
                       AS v(partner_id, delta, earned, spent, n, last_date)
                 WHERE b.partner_id = v.partner_id AND b.company_id = %(company)s
                """,
                uid=self.env.uid,
                company=company_id,
                partners=partners,
                delta=[deltas[p][0] for p in partners],
                earned=[deltas[p][1] for p in partners],
                spent=[deltas[p][2] for p in partners],
                n=[deltas[p][3] for p in partners],
                last=[deltas[p][4] for p in partners],
            )
        )
        self.invalidate_model(
            ["balance", "total_earned", "total_spent", "line_count", "last_date", "level_id"]
        )

    @api.model
    def _household_totals(self, household_ids):
        """{household_id: (sum of members' balances, number of members)}."""
        if not household_ids:
            return {}
        self.env["res.partner"].flush_model(["credit_household_id", "active"])
        self.env.cr.execute(
            SQL(
                """
                SELECT p.credit_household_id, COALESCE(SUM(b.balance), 0), COUNT(p.id)
                  FROM res_partner p
             LEFT JOIN credit_balance b
                    ON b.partner_id = p.id AND b.company_id = %(company)s
                 WHERE p.credit_household_id = ANY(%(households)s) AND p.active
              GROUP BY p.credit_household_id
                """,
                company=self.env.company.id,
                households=list(household_ids),
            )
        )
        return {hid: (total, count) for hid, total, count in self.env.cr.fetchall()}

    @api.model
    def _check_consistency(self):
        """Subjects whose stored balance differs from the sum of their ledger lines.

        Returns a list of (partner_id, company_id, stored, ledger) tuples; empty
        when every balance equals the ledger.
        """
        self.env["credit.ledger.line"].flush_model()
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT COALESCE(b.partner_id, l.partner_id),
                       COALESCE(b.company_id, l.company_id),
                       COALESCE(b.balance, 0), COALESCE(l.total, 0)
                  FROM credit_balance b
             FULL JOIN (SELECT partner_id, company_id, SUM(points) AS total
                          FROM credit_ledger_line GROUP BY partner_id, company_id) l
                    ON l.partner_id = b.partner_id AND l.company_id = b.company_id
                 WHERE COALESCE(b.balance, 0) <> COALESCE(l.total, 0)
                """
            )
        )
        return self.env.cr.fetchall()

    def action_check_consistency(self):
        if not self.env.user.has_group("community_credit.group_credit_admin"):
            raise AccessError(
                self.env._("Only credit administrators can check balances against the ledger.")
            )
        mismatches = self.sudo()._check_consistency()
        message = (
            self.env._("Every balance equals the sum of its ledger lines.")
            if not mismatches
            else self.env._("%(count)s balances differ from the ledger.", count=len(mismatches))
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Ledger check"),
                "message": message,
                "type": "success" if not mismatches else "danger",
                "sticky": bool(mismatches),
            },
        }
