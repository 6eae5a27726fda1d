from odoo import api, fields, models, tools
from odoo.tools import SQL


class CreditCommitmentUnitScore(models.Model):
    """Per organisation and period: how the unit kept its own commitments, and
    how its members (people who work there) kept theirs. The yearly assessment
    of a unit reads its score from here."""

    _name = "credit.commitment.unit.score"
    _description = "Unit Commitment Score"
    _auto = False
    _order = "date_from desc, unit_score desc, organisation_id"

    organisation_id = fields.Many2one("res.partner", string="Unit", readonly=True)
    community_id = fields.Many2one("credit.place", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date_from = fields.Date(string="Period Start", readonly=True)
    date_to = fields.Date(string="Period End", readonly=True)
    own_count = fields.Integer(string="Own Commitments", readonly=True)
    own_fulfilled = fields.Integer(readonly=True)
    unit_score = fields.Float(
        digits=(5, 1),
        readonly=True,
        aggregator="avg",
        help="Average score (0-100) of the unit's own evaluated commitments in the period.",
    )
    member_count = fields.Integer(string="Members' Commitments", readonly=True)
    member_fulfilled = fields.Integer(string="Members' Fulfilled", readonly=True)
    member_rate = fields.Float(
        string="Members Fulfilled (%)",
        digits=(5, 1),
        readonly=True,
        aggregator="avg",
    )
    points = fields.Integer(
        string="Bonus / Deduction", readonly=True, help="Points posted to the unit itself."
    )

    @api.private  # Odoo calls it at install and upgrade; nobody over RPC
    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE VIEW %(table)s AS (
                    WITH scored AS (
                        SELECT p.commercial_partner_id AS organisation_id,
                               p.is_company AND p.id = p.commercial_partner_id AS own,
                               c.date_from, c.date_to, c.company_id, c.state, c.score,
                               COALESCE(l.points, 0) AS points
                          FROM credit_commitment c
                          JOIN res_partner p ON p.id = c.partner_id
                     LEFT JOIN credit_ledger_line l
                            ON l.id = c.ledger_line_id AND l.state = 'posted'
                         WHERE c.state IN ('fulfilled', 'breached')
                    )
                    SELECT row_number() OVER (ORDER BY s.organisation_id, s.date_from) AS id,
                           s.organisation_id, org.credit_community_id AS community_id,
                           s.company_id, s.date_from, s.date_to,
                           COUNT(*) FILTER (WHERE s.own) AS own_count,
                           COUNT(*) FILTER (WHERE s.own AND s.state = 'fulfilled')
                               AS own_fulfilled,
                           COALESCE(AVG(s.score) FILTER (WHERE s.own), 0) AS unit_score,
                           COUNT(*) FILTER (WHERE NOT s.own) AS member_count,
                           COUNT(*) FILTER (WHERE NOT s.own AND s.state = 'fulfilled')
                               AS member_fulfilled,
                           COALESCE(100.0 * COUNT(*) FILTER (
                               WHERE NOT s.own AND s.state = 'fulfilled')
                               / NULLIF(COUNT(*) FILTER (WHERE NOT s.own), 0), 0)
                               AS member_rate,
                           COALESCE(SUM(s.points) FILTER (WHERE s.own), 0) AS points
                      FROM scored s
                      JOIN res_partner org ON org.id = s.organisation_id
                     WHERE org.is_company
                  GROUP BY s.organisation_id, org.credit_community_id, s.company_id,
                           s.date_from, s.date_to
                )
                """,
                table=SQL.identifier(self._table),
            )
        )
