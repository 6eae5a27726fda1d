import logging
from collections import defaultdict

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_datetime, mute_logger

from ..models.res_partner import merging

_logger = logging.getLogger(__name__)


class MergePartnerAutomatic(models.TransientModel):
    """Odoo's contact merge rewrites every reference to the merged-away contacts
    by SQL and deletes them. For contacts that carry credit data it must not
    edit the append-only ledger nor a balance:

    - only credit managers may merge them (checked in _merge, which the manual and
      the automatic merges both reach, and again before any reference is rewritten);
    - each source's points move to the destination through the one posting path, as
      a pair of lines (out of the source, into the destination);
    - ledger lines and balances keep their contact: the sources they refer to are
      archived instead of deleted (see res.partner.unlink);
    - other credit records follow the destination, except those the destination
      already has the same of (a unique index): they stay with the archived source,
      where base would have deleted them.
    """

    _inherit = "base.partner.merge.automatic.wizard"

    # ------------------------------------------------------------------ merge
    def _merge(self, partner_ids, dst_partner=None, extra_checks=True):
        partners = self.env["res.partner"].browse(partner_ids).exists()
        if len(partners) < 2 or not self._credit_check_merge(partners):
            return super()._merge(partner_ids, dst_partner, extra_checks)
        # the destination base chooses
        if dst_partner and dst_partner in partners:
            src_partners = partners - dst_partner
        else:
            ordered = self._get_ordered_partner(partners.ids)
            dst_partner, src_partners = ordered[-1], ordered[:-1]
        self._credit_id_numbers(partners)  # refused before anything moves
        names = {source.id: source.display_name for source in src_partners}
        moved = self._credit_move_points(src_partners, dst_partner)
        # res.partner.unlink archives the sources the ledger still refers to
        with merging(self.env):
            result = super()._merge(partner_ids, dst_partner, extra_checks)
        # roles moved by SQL: whether each side is still a subject is computed again
        self.env.add_to_compute(
            self.env["res.partner"]._fields["credit_is_subject"],
            dst_partner | src_partners.exists(),
        )
        self._credit_log_merge(src_partners, dst_partner, moved, names)
        return result

    def _get_fk_on(self, table):
        relations = super()._get_fk_on(table)
        if table != "res_partner":
            return relations
        # the tables of this addon are rewritten by _credit_update_foreign_keys
        ours = self._credit_tables()
        return [(name, column) for name, column in relations if name not in ours]

    @api.model
    def _update_foreign_keys(self, src_partners, dst_partner):
        # whatever path led here, nobody but a credit manager rewrites credit data
        self._credit_check_merge(src_partners | dst_partner)
        self._credit_update_foreign_keys(src_partners, dst_partner)
        return super()._update_foreign_keys(src_partners, dst_partner)

    @api.model
    def _update_values(self, src_partners, dst_partner):
        self._credit_move_id_number(src_partners, dst_partner)
        return super()._update_values(src_partners, dst_partner)

    # ---------------------------------------------------------------- helpers
    @api.model
    def _credit_tables(self):
        """The tables of this addon's models (not wizards, not SQL views)."""
        return {
            model._table
            for name, model in self.env.registry.items()
            if name.startswith("credit.")
            and model._auto
            and not (model._abstract or model._transient)
        }

    @api.model
    def _credit_partner_columns(self):
        """(table, column, model_row) of every stored reference of this addon to
        contacts: many2one and many2many fields of its models, and its credit_*
        fields on Odoo's models (a reward's donor). model_row: the column is on a
        row of one of this addon's models (not a relation table)."""
        columns = []
        for name, model in self.env.registry.items():
            if model._abstract or model._transient or not model._auto:
                continue
            ours = name.startswith("credit.")
            for field in model._fields.values():
                if field.type not in ("many2one", "many2many") or not field.store:
                    continue
                if field.comodel_name != "res.partner":
                    continue
                if not (ours or field.name.startswith("credit_")):
                    continue
                if field.type == "many2one":
                    columns.append((model._table, field.name, ours))
                else:
                    columns.append((field.relation, field.column2, False))
        return columns

    @api.model
    def _credit_carrying(self, partners):
        """The contacts of `partners` that are credit subjects or carry credit data
        (a place, a household, an ID number, or any record of this addon)."""
        self.env.flush_all()
        queries = [
            SQL(
                "SELECT %(column)s FROM %(table)s WHERE %(column)s = ANY(%(ids)s)",
                column=SQL.identifier(column),
                table=SQL.identifier(table),
                ids=partners.ids,
            )
            for table, column, _model_row in self._credit_partner_columns()
        ]
        queries.append(
            SQL(
                """
                SELECT id FROM res_partner
                 WHERE id = ANY(%s)
                   AND (credit_is_subject OR credit_place_id IS NOT NULL
                        OR credit_household_id IS NOT NULL OR credit_id_number IS NOT NULL)
                """,
                partners.ids,
            )
        )
        self.env.cr.execute(SQL(" UNION ").join(queries))
        return partners.browse(sorted(row[0] for row in self.env.cr.fetchall()))

    @api.model
    def _credit_check_merge(self, partners):
        """Refuse the merge to anyone but a credit manager when a contact carries
        credit data (no context changes that). Returns those contacts."""
        carrying = self._credit_carrying(partners)
        if carrying and not self.env.user.has_group("community_credit.group_credit_manager"):
            readable = carrying._filtered_access("read")
            raise AccessError(
                self.env._(
                    "Only credit managers can merge contacts that are credit subjects or "
                    "carry credit data (%(contacts)s): the points ledger must stay "
                    "consistent. Ask a credit manager to merge them.",
                    contacts=", ".join(
                        p.display_name if p in readable else f"#{p.id}" for p in carrying
                    ),
                )
            )
        return carrying

    @api.model
    def _credit_move_points(self, src_partners, dst_partner):
        """Move each source's points to the destination through the posting path:
        per company, a line taking the source's ledger total out and one bringing
        it into the destination. Returns {source id: points moved}.

        The source's total is read after its balance is locked, as _post does. The
        key names the source's last line: a re-run posts nothing, and points that
        reach the source later (a reversal of one of its lines) move with a new
        merge."""
        Ledger = self.env["credit.ledger.line"]
        Ledger.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT company_id FROM credit_ledger_line "
                "WHERE partner_id = ANY(%s) ORDER BY company_id",
                src_partners.ids,
            )
        )
        companies = [row[0] for row in self.env.cr.fetchall()]
        today = fields.Date.context_today(self)
        moved = defaultdict(int)
        for company_id in companies:
            # sudo: the balance rows are the posting path's locks, not the user's data
            self.env["credit.balance"].sudo()._lock_rows(
                [*src_partners.ids, dst_partner.id], company_id
            )
            self.env.cr.execute(
                SQL(
                    """
                    SELECT partner_id, SUM(points), MAX(id)
                      FROM credit_ledger_line
                     WHERE company_id = %(company)s AND partner_id = ANY(%(partners)s)
                  GROUP BY partner_id
                    HAVING SUM(points) <> 0
                  ORDER BY partner_id
                    """,
                    company=company_id,
                    partners=src_partners.ids,
                )
            )
            vals_list = []
            for partner_id, total, last_id in self.env.cr.fetchall():
                source = src_partners.browse(partner_id)
                key = f"merge:{partner_id}:{dst_partner.id}:{company_id}:{last_id}"
                common = {"date": today, "origin": "merge", "company_id": company_id}
                vals_list += [
                    {
                        **common,
                        "partner_id": partner_id,
                        "points": -total,
                        "origin_ref": f"res.partner,{dst_partner.id}",
                        "description": self.env._(
                            "Merged into %(contact)s (ID %(id)s)",
                            contact=dst_partner.display_name,
                            id=dst_partner.id,
                        ),
                        "idempotency_key": f"{key}:out",
                    },
                    {
                        **common,
                        "partner_id": dst_partner.id,
                        "points": total,
                        "origin_ref": f"res.partner,{partner_id}",
                        "description": self.env._(
                            "Merged from %(contact)s (ID %(id)s)",
                            contact=source.display_name,
                            id=partner_id,
                        ),
                        "idempotency_key": f"{key}:in",
                    },
                ]
                if not dst_partner.credit_place_id:
                    # base gives the destination the source's place: the points
                    # arrive where the merged contact will live
                    vals_list[-1].update(
                        place_id=source.credit_place_id.id,
                        community_id=source.credit_community_id.id,
                        household_id=source.credit_household_id.id,
                    )
                moved[partner_id] += total
            Ledger._post(vals_list, check_rights=False)
        return moved

    @api.model
    def _credit_update_foreign_keys(self, src_partners, dst_partner):
        """Point this addon's records at the destination, as base does for the
        other tables, except ledger lines and balances, which keep their contact.
        A record the destination already has the same of (one commitment per
        subject, template and period, one pledge per merchant and month...) stays
        on the source, which is then archived: base would delete it."""
        self.env.flush_all()
        cr = self.env.cr
        for table, column in self._credit_fk_on_partner():
            try:
                with mute_logger("odoo.sql_db"), cr.savepoint():
                    cr.execute(
                        SQL(
                            "UPDATE %(table)s SET %(column)s = %(dst)s "
                            "WHERE %(column)s = ANY(%(src)s)",
                            table=SQL.identifier(table),
                            column=SQL.identifier(column),
                            dst=dst_partner.id,
                            src=src_partners.ids,
                        )
                    )
            except psycopg2.errors.UniqueViolation:
                self._credit_update_rows(table, column, src_partners, dst_partner)
        self.env.invalidate_all()

    @api.model
    def _credit_fk_on_partner(self):
        """(table, column) of the foreign keys to contacts of this addon's tables that
        a merge rewrites: all but ledger lines' and balances'."""
        fixed = {self.env["credit.ledger.line"]._table, self.env["credit.balance"]._table}
        ours = self._credit_tables() - fixed
        return [
            (table, column) for table, column in super()._get_fk_on("res_partner") if table in ours
        ]

    @api.model
    def _credit_update_rows(self, table, column, src_partners, dst_partner):
        """One row at a time: those that would break a unique index stay."""
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT id FROM %(table)s WHERE %(column)s = ANY(%(src)s) ORDER BY id",
                table=SQL.identifier(table),
                column=SQL.identifier(column),
                src=src_partners.ids,
            )
        )
        for (row_id,) in cr.fetchall():
            try:
                with mute_logger("odoo.sql_db"), cr.savepoint():
                    cr.execute(
                        SQL(
                            "UPDATE %(table)s SET %(column)s = %(dst)s WHERE id = %(id)s",
                            table=SQL.identifier(table),
                            column=SQL.identifier(column),
                            dst=dst_partner.id,
                            id=row_id,
                        )
                    )
            except psycopg2.errors.UniqueViolation:
                _logger.info(
                    "contact merge: %s %s stays on its contact, which is archived "
                    "(the destination %s already has the same)",
                    table,
                    row_id,
                    dst_partner.id,
                )

    @api.model
    def _credit_kept(self, partners):
        """The contacts of `partners` that rows of this addon's models still refer
        to (ledger lines, balances, records the destination had the same of): a
        merge archives them instead of deleting them."""
        return partners.browse(self._credit_rows(partners))

    @api.model
    def _credit_rows(self, partners):
        """{contact id: number of rows of this addon's models, other than ledger
        lines and balances, that refer to it} for the contacts any row refers to."""
        fixed = {self.env["credit.ledger.line"]._table, self.env["credit.balance"]._table}
        columns = [(t, c) for t, c, model_row in self._credit_partner_columns() if model_row]
        if not partners or not columns:
            return {}
        self.env.flush_all()
        self.env.cr.execute(
            SQL(" UNION ALL ").join(
                SQL(
                    "SELECT %(column)s, %(counts)s FROM %(table)s "
                    "WHERE %(column)s = ANY(%(ids)s) GROUP BY %(column)s",
                    column=SQL.identifier(column),
                    counts=SQL("0" if table in fixed else "COUNT(*)"),
                    table=SQL.identifier(table),
                    ids=partners.ids,
                )
                for table, column in columns
            )
        )
        rows = defaultdict(int)
        for partner_id, counts in self.env.cr.fetchall():
            rows[partner_id] += counts
        return dict(rows)

    @api.model
    def _credit_id_numbers(self, partners):
        """{contact id: ID number} of the contacts that have one; two different
        numbers are two people, whom no merge makes one."""
        self.env["res.partner"].flush_model(["credit_id_number"])
        # SQL: the field is for credit managers only, and only they get here with one
        self.env.cr.execute(
            SQL(
                "SELECT id, credit_id_number FROM res_partner "
                "WHERE id = ANY(%s) AND credit_id_number IS NOT NULL ORDER BY id",
                partners.ids,
            )
        )
        numbers = dict(self.env.cr.fetchall())
        if len(set(numbers.values())) > 1:
            raise UserError(
                self.env._(
                    "These contacts have different ID numbers (%(contacts)s): they are not "
                    "the same person. Correct the ID number before merging them.",
                    contacts=", ".join(
                        self.env["res.partner"].browse(list(numbers)).mapped("display_name")
                    ),
                )
            )
        return numbers

    @api.model
    def _credit_move_id_number(self, src_partners, dst_partner):
        """The ID number is unique: base would copy a source's onto the destination
        while the source still holds it. Move it first."""
        numbers = self._credit_id_numbers(src_partners | dst_partner)
        if numbers and dst_partner.id not in numbers:
            holders = src_partners.browse(list(numbers))
            number = next(iter(numbers.values()))
            holders.write({"credit_id_number": False})
            holders.flush_recordset(["credit_id_number"])  # before the index sees it twice
            dst_partner.write({"credit_id_number": number})

    @api.model
    def _credit_log_merge(self, src_partners, dst_partner, moved, names):
        """Tell both sides who merged, when, and the points moved (the sources
        that are left: those archived with their ledger lines). names: the
        sources' names, read before base deleted some of them."""
        user = self.env.user.name
        date = format_datetime(self.env, fields.Datetime.now(), dt_format="short")
        kept = src_partners.exists()
        rows = self._credit_rows(kept)
        for source in src_partners:
            dst_partner.message_post(
                body=self.env._(
                    "Contact merge by %(user)s on %(date)s: %(contact)s (ID %(id)s) was "
                    "merged into this contact and %(points)s points moved in.",
                    user=user,
                    date=date,
                    contact=names[source.id],
                    id=source.id,
                    points=moved.get(source.id, 0),
                ),
                subtype_xmlid="mail.mt_note",
            )
        for source in kept:
            body = self.env._(
                "Contact merge by %(user)s on %(date)s: this contact was merged into "
                "%(contact)s (ID %(id)s) and %(points)s points moved out. It keeps its "
                "ledger lines and is archived.",
                user=user,
                date=date,
                contact=dst_partner.display_name,
                id=dst_partner.id,
                points=moved.get(source.id, 0),
            )
            if rows.get(source.id):
                body += " " + self.env._(
                    "Credit records that stay with it because the destination already has "
                    "the same (such as a pledge for the same month): %(count)s.",
                    count=rows[source.id],
                )
            source.message_post(body=body, subtype_xmlid="mail.mt_note")
