import psycopg2

from odoo import Command
from odoo.api import call_kw
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import DAY, CreditCase

# context keys a client may send to try to slip past the check
FORGED = {
    "credit_merge_keep": True,
    "credit_posting": True,
    "credit_merge": True,
    "active_test": False,
    "tracking_disable": True,
    "install_mode": True,
    "module": "community_credit",
    "_force_unlink": True,
    "bypass_credit_check": True,
    "uid": 1,
    "su": True,
}


@tagged("post_install", "-at_install")
class TestPartnerMerge(CreditCase):
    """Odoo's contact merge on subjects with points: only credit managers may run
    it; the ledger stays append-only and every balance equal to its ledger."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        resident = cls.env.ref("community_credit.role_resident")
        Partner = cls.env["res.partner"]
        subject = {
            "email": "chenba@example.com",
            "credit_role_ids": [Command.set(resident.ids)],
            "credit_place_id": cls.building_a1.id,
        }
        cls.src = Partner.create({"name": "陈八 (duplicate)", **subject})
        cls.dst = Partner.create({"name": "陈八", **subject})
        # by hand: the source has 3 + 2 = 5 points, the destination 3
        cls.post(cls.src, cls.rule_help, "merge-test-src-help")
        cls.post(cls.src, cls.rule_clean, "merge-test-src-clean")
        cls.post(cls.dst, cls.rule_help, "merge-test-dst-help")
        cls.plain_a = Partner.create({"name": "Plain A", "email": "plain@example.com"})
        cls.plain_b = Partner.create({"name": "Plain B", "email": "plain@example.com"})
        # a contact manager outside the credit groups (e.g. sales)
        cls.user_contacts = new_test_user(
            cls.env, "t_contacts", groups="base.group_user,base.group_partner_manager"
        )

    def merge(self, user, partners, dst):
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(user)
            .create(
                {
                    "partner_ids": [Command.set(partners.ids)],
                    "dst_partner_id": dst.id,
                    "state": "selection",
                }
            )
        )
        return wizard.action_merge()

    def lines(self, partners):
        """[(id, partner_id, points, origin, idempotency_key, company_id)] by id."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, partner_id, points, origin, idempotency_key, company_id "
            "FROM credit_ledger_line WHERE partner_id = ANY(%s) ORDER BY id",
            [partners.ids],
        )
        return self.env.cr.fetchall()

    def balance_rows(self, partners):
        """{partner_id: (balance row id, balance)} straight from the table."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT partner_id, id, balance FROM credit_balance WHERE partner_id = ANY(%s)",
            [partners.ids],
        )
        return {partner_id: (row_id, bal) for partner_id, row_id, bal in self.env.cr.fetchall()}

    def notes(self, partner):
        return self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", partner.id)]
        )

    # ------------------------------------------------------------- refusals
    def test_only_credit_managers_merge_credit_subjects(self):
        before = self.lines(self.src | self.dst)
        balances = self.balance_rows(self.src | self.dst)
        for user in (self.user_grid, self.user_reviewer, self.user_contacts):
            with self.assertRaisesRegex(
                AccessError, "Only credit managers can merge contacts that are credit subjects"
            ):
                self.merge(user, self.src | self.dst, self.dst)
            # a subject with a plain contact, either way round
            with self.assertRaisesRegex(AccessError, "the points ledger must stay consistent"):
                self.merge(user, self.src | self.plain_a, self.plain_a)
            # the automatic merge reaches _merge too
            with self.assertRaisesRegex(AccessError, "Only credit managers can merge"):
                self.env["base.partner.merge.automatic.wizard"].with_user(user)._merge(
                    (self.plain_a | self.dst).ids
                )
        self.assertEqual(self.lines(self.src | self.dst), before)
        self.assertEqual(self.balance_rows(self.src | self.dst), balances)
        self.assertTrue(self.src.exists() and self.src.active)
        self.assertTrue(self.plain_a.exists())

    def test_forged_context_does_not_open_the_merge(self):
        before = self.lines(self.src | self.dst)
        Wizard = self.env["base.partner.merge.automatic.wizard"].with_user(self.user_grid)
        # through the dispatcher, as a client sends it
        wizard_id = call_kw(
            Wizard,
            "create",
            [
                {
                    "partner_ids": [Command.set((self.src | self.dst).ids)],
                    "dst_partner_id": self.dst.id,
                    "state": "selection",
                }
            ],
            {"context": FORGED},
        )
        with self.assertRaisesRegex(AccessError, "Only credit managers can merge"):
            call_kw(Wizard, "action_merge", [[wizard_id]], {"context": FORGED})
        with self.assertRaisesRegex(AccessError, "Only credit managers can merge"):
            Wizard.with_context(**FORGED)._merge((self.src | self.dst).ids, self.dst)
        # nor does a forged key make a plain delete archive a subject
        with self.assertRaisesRegex(psycopg2.IntegrityError, "violates foreign key constraint"):
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.src.with_user(self.user_grid).with_context(**FORGED).unlink()
        self.assertEqual(self.lines(self.src | self.dst), before)
        self.assertTrue(self.src.exists() and self.src.active)

    def test_grid_worker_still_merges_plain_contacts(self):
        self.merge(self.user_grid, self.plain_a | self.plain_b, self.plain_b)
        self.assertFalse(self.plain_a.exists())
        self.assertTrue(self.plain_b.exists())

    # --------------------------------------------------------------- merges
    def test_manager_merge_keeps_the_ledger_and_moves_the_points(self):
        before = self.lines(self.src | self.dst)
        balances = self.balance_rows(self.src | self.dst)
        self.assertEqual(balances[self.src.id][1], 5)
        self.assertEqual(balances[self.dst.id][1], 3)
        company = before[0][5]
        last = max(row[0] for row in before if row[1] == self.src.id)

        self.merge(self.user_manager, self.src | self.dst, self.dst)

        after = self.lines(self.src | self.dst)
        old_ids = {row[0] for row in before}
        # every posted line still where it was posted, unchanged
        self.assertEqual([row for row in after if row[0] in old_ids], before)
        # exactly the two transfer lines
        moves = [row[1:] for row in after if row[0] not in old_ids]
        key = f"merge:{self.src.id}:{self.dst.id}:{company}:{last}"
        self.assertEqual(
            moves,
            [
                (self.src.id, -5, "merge", f"{key}:out", company),
                (self.dst.id, 5, "merge", f"{key}:in", company),
            ],
        )
        transfer = self.Ledger.search([("idempotency_key", "=", f"{key}:in")])
        self.assertEqual(transfer.description, f"Merged from 陈八 (duplicate) (ID {self.src.id})")
        self.assertEqual(transfer.granted_by_id, self.user_manager)
        # the same balance rows, each equal to its ledger: 5 - 5 and 3 + 5
        rows = self.balance_rows(self.src | self.dst)
        self.assertEqual(rows[self.src.id], (balances[self.src.id][0], 0))
        self.assertEqual(rows[self.dst.id], (balances[self.dst.id][0], 8))
        self.assertEqual(self.ledger_sum(self.src), 0)
        self.assertEqual(self.ledger_sum(self.dst), 8)
        mismatches = self.env["credit.balance"]._check_consistency()
        self.assertFalse([m for m in mismatches if m[0] in (self.src | self.dst).ids])
        # the source is archived with its lines, not deleted
        self.assertTrue(self.src.exists())
        self.assertFalse(self.src.active)
        self.assertTrue(self.dst.active)
        # both sides say who merged and what moved
        src_note = self.notes(self.src).filtered(lambda m: "merged into" in m.body)
        self.assertEqual(len(src_note), 1)
        self.assertIn(f"陈八 (ID {self.dst.id})", src_note.body)
        self.assertIn("5 points moved out", src_note.body)
        self.assertIn(self.user_manager.name, src_note.body)
        self.assertEqual(src_note.author_id, self.user_manager.partner_id)
        dst_note = self.notes(self.dst).filtered(lambda m: "merged into this contact" in m.body)
        self.assertEqual(len(dst_note), 1)
        self.assertIn(f"陈八 (duplicate) (ID {self.src.id})", dst_note.body)
        self.assertIn("5 points moved in", dst_note.body)

    def test_merging_again_posts_nothing_twice(self):
        self.merge(self.user_manager, self.src | self.dst, self.dst)
        first = self.lines(self.src | self.dst)
        # the same merge again (the source is archived now), and the move re-run
        self.merge(self.user_manager, self.src | self.dst, self.dst)
        Wizard = self.env["base.partner.merge.automatic.wizard"].with_user(self.user_manager)
        self.assertFalse(Wizard._credit_move_points(self.src, self.dst))
        self.assertEqual(self.lines(self.src | self.dst), first)
        self.assertEqual(self.ledger_sum(self.src), 0)
        self.assertEqual(self.ledger_sum(self.dst), 8)

        # points that reach the archived source later (a reversal of one of its
        # lines: -2) move with the next merge, under a new key
        clean = self.Ledger.search([("idempotency_key", "=", "merge-test-src-clean")])
        clean.with_user(self.user_manager)._reverse("posted twice")
        self.assertEqual(self.ledger_sum(self.src), -2)
        self.merge(self.user_manager, self.src | self.dst, self.dst)
        moves = [row[1:4] for row in self.lines(self.src | self.dst)[len(first) + 1 :]]
        self.assertEqual(moves, [(self.src.id, 2, "merge"), (self.dst.id, -2, "merge")])
        rows = self.balance_rows(self.src | self.dst)
        self.assertEqual((rows[self.src.id][1], self.ledger_sum(self.src)), (0, 0))
        self.assertEqual((rows[self.dst.id][1], self.ledger_sum(self.dst)), (6, 6))

    def test_negative_total_moves_without_a_notice(self):
        self.post(self.src, self.rule_fight, "merge-test-src-fight")  # 5 - 10 = -5
        notices = self.env["credit.notice"].search_count([])
        self.merge(self.user_manager, self.src | self.dst, self.dst)
        self.assertEqual(self.ledger_sum(self.src), 0)
        self.assertEqual(self.ledger_sum(self.dst), -2)  # 3 - 5
        rows = self.balance_rows(self.src | self.dst)
        self.assertEqual((rows[self.src.id][1], rows[self.dst.id][1]), (0, -2))
        # a merge is no deduction: nobody is told of one, nothing to appeal
        self.assertEqual(self.env["credit.notice"].search_count([]), notices)
        # the notice of the fight follows the person; its line stays on the source
        notice = self.env["credit.notice"].search(
            [("ledger_line_id.idempotency_key", "=", "merge-test-src-fight")]
        )
        self.assertEqual(notice.partner_id, self.dst)
        self.assertEqual(notice.ledger_line_id.partner_id, self.src)

    def test_subject_merged_into_a_plain_contact(self):
        number = "110101199001011234"
        self.src.credit_id_number = number
        plain = self.env["res.partner"].create({"name": "陈八", "email": "chenba@example.com"})
        self.merge(self.user_manager, self.src | plain, plain)
        # the destination becomes the subject, with the ID number and the points
        self.assertTrue(plain.credit_is_subject)
        self.assertEqual(plain.credit_role_ids, self.env.ref("community_credit.role_resident"))
        self.assertEqual(plain.credit_place_id, self.building_a1)
        self.assertEqual(plain.credit_id_number, number)
        self.assertFalse(self.src.credit_id_number)
        self.assertEqual(self.ledger_sum(plain), 5)
        self.assertEqual(self.balance_rows(plain)[plain.id][1], 5)
        arrived = self.Ledger.search([("partner_id", "=", plain.id)])
        self.assertEqual(arrived.place_id, self.building_a1)
        self.assertEqual(arrived.community_id, self.community)

    def test_different_id_numbers_are_not_merged(self):
        self.src.credit_id_number = "110101199001011234"
        self.dst.credit_id_number = "110101199202022345"
        before = self.lines(self.src | self.dst)
        with self.assertRaisesRegex(UserError, "different ID numbers"):
            self.merge(self.user_manager, self.src | self.dst, self.dst)
        self.assertEqual(self.lines(self.src | self.dst), before)

    def test_records_the_destination_already_has_stay_on_the_source(self):
        Pledge = self.env["credit.merchant.pledge"]
        Partner = self.env["res.partner"]
        shop = {"is_company": True, "email": "shop@example.com"}
        m_src = Partner.create({"name": "Corner Shop (old)", **shop})
        m_dst = Partner.create({"name": "Corner Shop", **shop})
        common = {"community_id": self.community.id, "value": 100}
        march_src = Pledge.create({"merchant_id": m_src.id, "month": DAY, **common})
        april_src = Pledge.create({"merchant_id": m_src.id, "month": "2025-04-01", **common})
        march_dst = Pledge.create({"merchant_id": m_dst.id, "month": DAY, **common})
        # a merchant's pledges are credit data, even without points
        with self.assertRaisesRegex(AccessError, "Only credit managers can merge"):
            self.merge(self.user_grid, m_src | m_dst, m_dst)

        self.merge(self.user_manager, m_src | m_dst, m_dst)
        # nothing deleted: the April pledge follows, the second March one stays
        pledges = march_src | april_src | march_dst
        self.assertEqual(pledges.exists(), pledges)
        self.assertEqual(april_src.merchant_id, m_dst)
        self.assertEqual(march_dst.merchant_id, m_dst)
        self.assertEqual(march_src.merchant_id, m_src)
        self.assertTrue(m_src.exists())
        self.assertFalse(m_src.active)
        note = self.notes(m_src).filtered(lambda m: "merged into" in m.body)
        self.assertIn("0 points moved out", note.body)
        self.assertIn("the destination already has the same", note.body)
        self.assertIn("same month): 1.", note.body)

    def test_signed_commitments_of_the_same_period_are_not_lost(self):
        template = self.env["credit.commitment.template"].create(
            {
                "name": "Resident commitment",
                "role_id": self.env.ref("community_credit.role_resident").id,
                "text": "<p>I promise to help my neighbours.</p>",
                "period": "year",
                "bonus_rule_id": self.rule_clean.id,
                "deduction_rule_id": self.rule_fight.id,
                "obligation_ids": [Command.create({"name": "No fighting", "kind": "no_deduction"})],
            }
        )
        Commitment = self.env["credit.commitment"].with_user(self.user_manager)
        signed = Commitment.browse()
        for partner in (self.src, self.dst):
            commitment = Commitment.create({"template_id": template.id, "partner_id": partner.id})
            commitment.action_sign(origin="paper", signer_name=partner.name)
            signed |= commitment
        last_year = Commitment.create(
            {"template_id": template.id, "partner_id": self.src.id, "date_from": "2024-06-01"}
        )
        self.merge(self.user_manager, self.src | self.dst, self.dst)
        # one signed commitment per subject, template and year: the source's stays
        # with the archived source instead of being deleted; the other one follows
        self.assertEqual(signed.exists(), signed)
        self.assertEqual(signed.mapped("partner_id"), self.src | self.dst)
        self.assertEqual(last_year.partner_id, self.dst)
        self.assertFalse(self.src.active)

    def test_credit_data_is_looked_for_everywhere(self):
        Wizard = self.env["base.partner.merge.automatic.wizard"]
        columns = set(Wizard._credit_partner_columns())
        for column in [
            ("credit_ledger_line", "partner_id", True),
            ("credit_ledger_line", "organisation_id", True),
            ("credit_balance", "partner_id", True),
            ("credit_commitment", "partner_id", True),
            ("credit_voucher", "partner_id", True),
            ("credit_notice", "partner_id", True),
            ("credit_appeal", "appellant_id", True),
            ("credit_volunteer_service", "partner_id", True),
            ("credit_claim_res_partner_rel", "partner_id", False),
            ("product_template", "credit_merchant_id", False),
        ]:
            self.assertIn(column, columns)
        # no wizard, no SQL view
        self.assertNotIn("credit_grant_wizard", {table for table, _c, _r in columns})
        self.assertEqual(Wizard._credit_carrying(self.src | self.plain_a), self.src)
