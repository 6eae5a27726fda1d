"""The trust-boundary attacks that once got through, kept as named regressions.

Each goes through Odoo's RPC dispatcher (``get_public_method`` + ``call_kw``, as
``/web/dataset/call_kw`` and ``/xmlrpc/2/object`` do) as the user who tried it,
with the context they forged."""

import base64
from datetime import timedelta

from odoo import Command, api
from odoo.exceptions import AccessError, UserError
from odoo.service.model import get_public_method
from odoo.tests import tagged

from .common import DAY
from .common_claim import TODAY, ClaimCase

# a file of a record the user may not read: refused for the record or for the file
UNREADABLE_FILE = "Credit Ledger Line|not allowed to access this document"
# the context keys the addon once took as authority
FORGED = {
    "credit_claim_workflow": True,
    "credit_appeal_workflow": True,
    "credit_notice_sending": True,
    "credit_board_publishing": True,
    "credit_rule_versioning": True,
    "credit_posting": True,
    "credit_budget_approved": True,
}


def rpc(user, model, method, args, context=None):
    recs = user.env[model].with_user(user)
    get_public_method(recs, method)
    return api.call_kw(recs, method, args, {"context": dict(FORGED, **(context or {}))})


@tagged("post_install", "-at_install")
class TestTrustRegressions(ClaimCase):
    def ledger_total(self, partner):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COALESCE(SUM(points), 0), COUNT(*) FROM credit_ledger_line "
            "WHERE partner_id = %s",
            [partner.id],
        )
        return self.env.cr.fetchone()

    # pattern 1: authority from the context
    def test_resident_cannot_publish_own_claim_with_forged_context(self):
        claim = self.claim(self.user_resident, self.res_a1, self.rule_clean)
        past = str(TODAY - timedelta(days=1))
        with self.assertRaisesRegex(UserError, "change only through its buttons"):
            rpc(
                self.user_resident,
                "credit.claim",
                "write",
                [claim.ids, {"state": "published", "publish_until": past}],
            )
        claim.invalidate_recordset()
        self.assertEqual((claim.state, claim.publish_until), ("draft", False))
        # the hourly job finds nothing to post
        self.Claim._cron_close_publications()
        self.assertEqual(self.ledger_total(self.res_a1), (0, 0))

    def test_resident_cannot_create_a_published_claim_with_forged_defaults(self):
        claim_id = rpc(
            self.user_resident,
            "credit.claim",
            "create",
            [
                {
                    "rule_id": self.rule_clean.id,
                    "date": str(DAY),
                    "partner_ids": [Command.set(self.res_a1.ids)],
                }
            ],
            context={"default_state": "published", "default_submitted_by_id": self.user_grid.id},
        )
        claim = self.Claim.browse(claim_id)
        self.assertEqual((claim.state, claim.submitted_by_id), ("draft", self.user_resident))

    def test_grid_worker_cannot_approve_a_budget_overrun_by_context(self):
        self.env["credit.budget"].create(
            {"place_id": self.estate_a.id, "period": "month", "date_from": DAY, "points": 1}
        )
        with self.assertRaisesRegex(UserError, "the council must approve"):
            self.Ledger.with_user(self.user_grid).with_context(**FORGED)._post(
                [
                    {
                        "partner_id": self.res_a1.id,
                        "rule_id": self.rule_clean.id,
                        "date": DAY,
                        "origin": "manual",
                        "idempotency_key": "overrun-by-context",
                    }
                ]
            )
        self.assertEqual(self.ledger_total(self.res_a1), (0, 0))

    # pattern 2: fields read-only in the view, writable over RPC
    def test_nobody_writes_a_ledger_line(self):
        line = self.post(self.res_a1, self.rule_clean, "rpc-line")
        users = (self.user_grid, self.user_manager, self.user_finance, self.user_admin)
        for user in users:
            for vals in ({"points": 50}, {"state": "reversed"}, {"partner_id": self.res_a2.id}):
                with self.assertRaisesRegex(AccessError, "not allowed to modify 'Credit Ledger"):
                    rpc(user, "credit.ledger.line", "write", [line.ids, vals])
        self.assertEqual(self.ledger_total(self.res_a1), (2, 1))

    def test_reviewer_cannot_write_who_certified_a_claim(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(UserError, "change only through its buttons"):
            rpc(
                self.user_reviewer,
                "credit.claim",
                "write",
                [claim.ids, {"reviewer_id": self.user_manager.id, "state": "council"}],
            )
        claim.invalidate_recordset()
        self.assertEqual((claim.state, claim.reviewer_id.id), ("review", False))

    # pattern 3: relations linked by id
    def test_resident_cannot_link_evidence_they_cannot_read(self):
        secret = self.env["ir.attachment"].create(
            {
                "name": "secret.pdf",
                "datas": base64.b64encode(b"%PDF-1.4 secret"),
                "res_model": "credit.claim",
                "res_id": self.submitted(self.user_resident_b, self.res_b1, self.rule_clean).id,
            }
        )
        claim = self.claim(self.user_resident, self.res_a1, self.rule_clean)
        for command in ([Command.link(secret.id)], [Command.set(secret.ids)]):
            with self.assertRaisesRegex(AccessError, "Attachment|ir.attachment"):
                rpc(
                    self.user_resident,
                    "credit.claim",
                    "write",
                    [claim.ids, {"attachment_ids": command}],
                )
        claim.invalidate_recordset()
        self.assertFalse(claim.sudo().attachment_ids)

    # idempotency: a key answers only for the same grant
    def test_same_key_with_another_grant_is_refused(self):
        first = self.post(self.res_a1, self.rule_clean, "same-key")
        self.assertEqual(self.post(self.res_a1, self.rule_clean, "same-key"), first)
        with self.assertRaisesRegex(UserError, "already posted with another subject"):
            self.post(self.res_a2, self.rule_clean, "same-key")
        with self.assertRaisesRegex(UserError, "already posted with another subject"):
            self.post(self.res_a1, self.rule_help, "same-key")
        with self.assertRaisesRegex(UserError, "already posted with another subject"):
            self.post(self.res_a1, self.rule_clean, "same-key", points=1)
        self.assertEqual(self.ledger_total(self.res_a1), (2, 1))
        self.assertEqual(self.ledger_total(self.res_a2), (0, 0))

    # pattern 6: the person behind a masked name
    def test_resident_cannot_read_who_is_behind_a_masked_board_entry(self):
        self.post(self.res_a2, self.rule_clean, "board-a2", day=DAY)
        board = (
            self.env["credit.board"]
            .with_user(self.user_manager)
            .create({"kind": "red", "place_id": self.estate_a.id, "date_from": DAY})
        )
        board.action_generate()
        board.action_publish()
        line = board.line_ids[:1]
        self.assertEqual(line.with_user(self.user_resident).name_shown, "李*")
        with self.assertRaisesRegex(AccessError, "partner_id|Subject"):
            rpc(self.user_resident, "credit.board.line", "read", [line.ids, ["partner_id"]])
        with self.assertRaisesRegex(AccessError, "partner_id|Subject"):
            rpc(
                self.user_resident,
                "credit.board.line",
                "search_read",
                [[("partner_id", "=", self.res_a2.id)], ["name_shown"]],
            )

    def test_staff_cannot_grant_themselves_points(self):
        for user in (self.user_grid, self.user_manager):
            user.partner_id.write(
                {
                    "credit_role_ids": [Command.set(self.res_a1.credit_role_ids.ids)],
                    "credit_place_id": self.building_a1.id,
                }
            )
            with self.assertRaisesRegex(AccessError, "cannot grant points to yourself"):
                self.post(user.partner_id, self.rule_clean, f"self-{user.id}", user=user)
            self.assertEqual(self.ledger_total(user.partner_id), (0, 0))

    def test_staff_cannot_link_a_file_of_a_record_outside_their_places(self):
        # evidence of a ledger line of 赵六, who lives outside the grid worker's estate
        line = self.post(self.res_nd, self.rule_clean, "nd-evidence")
        secret = self.env["ir.attachment"].create(
            {
                "name": "nd.pdf",
                "datas": base64.b64encode(b"%PDF-1.4 nd"),
                "res_model": "credit.ledger.line",
                "res_id": line.id,
            }
        )
        # the model's access rights let internal users read attachments: not this one
        self.assertTrue(self.env["ir.attachment"].with_user(self.user_grid).has_access("read"))
        claim = self.claim(self.user_grid, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(AccessError, UNREADABLE_FILE):
            rpc(
                self.user_grid,
                "credit.claim",
                "write",
                [claim.ids, {"attachment_ids": [Command.link(secret.id)]}],
            )
        with self.assertRaisesRegex(AccessError, UNREADABLE_FILE):
            rpc(
                self.user_grid,
                "credit.claim",
                "create",
                [
                    {
                        "rule_id": self.rule_clean.id,
                        "date": str(DAY),
                        "partner_ids": [Command.set(self.res_a1.ids)],
                        "attachment_ids": [Command.set(secret.ids)],
                    }
                ],
            )
        wizard = (
            self.env["credit.grant.wizard"]
            .with_user(self.user_grid)
            .create(
                {
                    "rule_id": self.rule_clean.id,
                    "partner_ids": [Command.set(self.res_a1.ids)],
                    "description": "Cleaned",
                    "attachment_ids": [Command.set(secret.ids)],
                }
            )
        )
        with self.assertRaisesRegex(AccessError, UNREADABLE_FILE):
            rpc(self.user_grid, "credit.grant.wizard", "action_grant", [wizard.ids])
        self.assertEqual(self.ledger_total(self.res_a1), (0, 0))

    def test_nobody_runs_the_addon_s_database_set_up_over_rpc(self):
        models_with_init = [
            "credit.ledger.line",
            "credit.balance",
            "credit.claim.line",
            "credit.appeal",
            "credit.liability",
            "credit.commitment.unit.score",
            "credit.commitment",
        ]
        for model in models_with_init:
            with self.assertRaisesRegex(AccessError, "cannot be called remotely"):
                rpc(self.user_manager, model, "init", [])
