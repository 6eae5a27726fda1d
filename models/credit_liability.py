from odoo import api, fields, models, tools
from odoo.tools import SQL

ACTIVITY_LIABILITY = "community_credit.mail_act_credit_liability"


class CreditLiability(models.Model):
    """Per community: the points the ledger owes its residents, what they are
    worth, and what the merchants' pledges and the reward stock cover."""

    _name = "credit.liability"
    _description = "Points Liability"
    _auto = False
    _order = "covered, gap desc, community_id"

    community_id = fields.Many2one("credit.place", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    issued = fields.Integer(
        readonly=True,
        help="Points granted (every positive line except refunds of redemptions and "
        "expiries), less the grants reversed since.",
    )
    deducted = fields.Integer(
        readonly=True, help="Points deducted under rules, less the deductions reversed since."
    )
    redeemed = fields.Integer(
        readonly=True, help="Points spent on rewards, less the refunds of vouchers given back."
    )
    expired = fields.Integer(readonly=True, help="Points that expired unspent.")
    outstanding = fields.Integer(
        readonly=True,
        help="The sum of every ledger line of the community's subjects (lines count for "
        "the community where the subject lived when they were posted): issued − deducted "
        "− redeemed − expired. It equals the sum of the balances of the community's "
        "subjects as long as no subject moved to another community.",
    )
    point_value = fields.Float(digits=(16, 4), readonly=True, aggregator="avg")
    liability_value = fields.Monetary(
        readonly=True, help="Outstanding points × the community's point value."
    )
    pledged_value = fields.Monetary(
        string="Pledged (current and future months)",
        readonly=True,
        help="Merchants' pledges for this month and the months ahead.",
    )
    stock_value = fields.Monetary(
        string="Reward Stock Value",
        readonly=True,
        help="Donated value of the reward units still available at the community's "
        "collection points (rewards on offer today).",
    )
    cover_value = fields.Monetary(string="Cover", readonly=True)
    gap = fields.Monetary(readonly=True, help="Liability value − cover: above zero, not covered.")
    covered = fields.Boolean(readonly=True)

    @api.private  # Odoo calls it at install and upgrade; nobody over RPC
    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(table)s AS (
                    WITH moves AS (
                        SELECT l.community_id, l.company_id, l.points,
                               COALESCE(o.origin, l.origin) AS kind,
                               COALESCE(o.points, l.points) > 0 AS credit
                          FROM credit_ledger_line l
                     LEFT JOIN credit_ledger_line o ON o.id = l.reversal_of_id
                         WHERE l.community_id IS NOT NULL
                    ), lines AS (
                        SELECT community_id, company_id,
                               COALESCE(SUM(points) FILTER (WHERE credit
                                   AND kind NOT IN ('redemption', 'expiry')), 0) AS issued,
                               -COALESCE(SUM(points) FILTER (WHERE NOT credit
                                   AND kind NOT IN ('redemption', 'expiry')), 0) AS deducted,
                               -COALESCE(SUM(points) FILTER (WHERE kind = 'redemption'), 0)
                                   AS redeemed,
                               -COALESCE(SUM(points) FILTER (WHERE kind = 'expiry'), 0)
                                   AS expired,
                               SUM(points) AS outstanding
                          FROM moves
                      GROUP BY community_id, company_id
                    ), pledges AS (
                        SELECT community_id, SUM(value) AS value
                          FROM credit_merchant_pledge
                         WHERE month >= date_trunc('month', current_date)::date
                      GROUP BY community_id
                    ), stock AS (
                        SELECT s.community_id,
                               SUM(s.quantity * COALESCE(t.credit_donated_value, 0)) AS value
                          FROM credit_reward_stock s
                          JOIN product_template t ON t.id = s.product_tmpl_id
                         WHERE s.quantity > 0 AND t.active AND t.credit_is_reward
                           AND (t.credit_valid_to IS NULL OR t.credit_valid_to >= current_date)
                      GROUP BY s.community_id
                    ), figures AS (
                        SELECT c.id AS community_id, c.company_id,
                               COALESCE(l.issued, 0) AS issued,
                               COALESCE(l.deducted, 0) AS deducted,
                               COALESCE(l.redeemed, 0) AS redeemed,
                               COALESCE(l.expired, 0) AS expired,
                               COALESCE(l.outstanding, 0) AS outstanding,
                               COALESCE(c.point_value, 0) AS point_value,
                               COALESCE(l.outstanding, 0) * COALESCE(c.point_value, 0)
                                   AS liability_value,
                               COALESCE(p.value, 0) AS pledged_value,
                               COALESCE(s.value, 0) AS stock_value
                          FROM credit_place c
                     LEFT JOIN lines l
                            ON l.community_id = c.id AND l.company_id = c.company_id
                     LEFT JOIN pledges p ON p.community_id = c.id
                     LEFT JOIN stock s ON s.community_id = c.id
                         WHERE c.place_type = 'community' AND c.active
                    )
                    SELECT community_id AS id, *,
                           pledged_value + stock_value AS cover_value,
                           liability_value - pledged_value - stock_value AS gap,
                           pledged_value + stock_value >= liability_value AS covered
                      FROM figures
                )
                """,
                table=SQL.identifier(self._table),
            )
        )

    @api.model
    def _cron_warn_uncovered(self):
        """Tell each community whose liability is no longer covered, once: one open
        activity on the community for its finance officer (or council secretary)
        until the pledges cover it again, when the activity is removed."""
        # the view reads pledges, stock and lines: write pending changes first
        self.env.flush_all()
        self.invalidate_model()
        # sudo: the cron reads every community of every company
        rows = self.sudo().search([])
        uncovered = rows.filtered(lambda r: not r.covered).community_id
        covered = rows.filtered("covered").community_id
        covered.activity_unlink([ACTIVITY_LIABILITY])
        already = (
            self.env["mail.activity"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "credit.place"),
                    ("res_id", "in", uncovered.ids),
                    ("activity_type_id", "=", self.env.ref(ACTIVITY_LIABILITY).id),
                ]
            )
        )
        by_community = {row.community_id: row for row in rows}
        for community in uncovered.filtered(lambda c: c.id not in already.mapped("res_id")):
            user = community.finance_user_id or community.claim_council_user_id
            if not user:
                continue
            row = by_community[community]
            community.activity_schedule(
                ACTIVITY_LIABILITY,
                summary=self.env._("Points liability not covered"),
                note=self.env._(
                    "The %(points)s outstanding points of %(community)s are worth "
                    "%(value)s; pledges and reward stock cover %(cover)s. Ask merchants "
                    "for pledges or lower the point value.",
                    points=row.outstanding,
                    community=community.name,
                    value=tools.format_amount(self.env, row.liability_value, row.currency_id),
                    cover=tools.format_amount(self.env, row.cover_value, row.currency_id),
                ),
                user_id=user.id,
            )
