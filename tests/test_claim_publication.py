from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import DAY, RESIDENT
from .common_claim import TODAY, ClaimCase


@tagged("post_install", "-at_install")
class TestClaimPublication(ClaimCase):
    """The publication window, objections and the council's answers."""

    def published(self, partners=None, user=None):
        claim = self.submitted(user or self.user_grid, partners or self.res_a1, self.rule_clean)
        claim.with_user(self.user_reviewer).action_approve()
        claim.with_user(self.user_manager2).action_approve()
        self.assertEqual(claim.state, "published")
        return claim

    def test_residents_of_the_estate_see_published_claims_masked(self):
        claim = self.published(self.res_a1 | self.res_b1.browse())
        # 李四 lives in estate A: sees the published claim, with the name masked
        visible = self.Claim.with_user(self.user_resident_a2).search([("state", "=", "published")])
        self.assertEqual(visible, claim)
        self.assertEqual(visible.public_names, "张*")
        # 王五 of estate B does not see it
        self.assertFalse(
            self.Claim.with_user(self.user_resident_b).search([("state", "=", "published")])
        )
        self.community.claim_mask_names = False
        claim.invalidate_recordset(["public_names"])
        self.assertEqual(claim.with_user(self.user_resident_a2).public_names, "张三")

    def test_objection_upheld_means_no_points(self):
        claim = self.published()
        objection = claim.with_user(self.user_resident_a2)._object("He was not there that day")
        self.assertEqual(objection.state, "open")
        self.assertEqual(objection.objector_id, self.res_a2)
        # the council secretary is asked to investigate
        activity = claim.sudo().activity_ids
        self.assertEqual(activity.user_id, self.user_manager)
        # the window closes, but the open objection holds the points back
        self.travel(TODAY + timedelta(days=8))
        self.Claim._cron_close_publications()
        self.assertEqual(claim.state, "published")
        self.assertEqual(self.balance(self.res_a1), 0)
        # the objector cannot decide; the council must answer first
        with self.assertRaises(AccessError):
            objection.with_user(self.user_resident_a2).action_uphold()
        with self.assertRaisesRegex(UserError, "Write the answer"):
            objection.with_user(self.user_manager).action_uphold()
        objection.with_user(self.user_manager).answer = "Two neighbours confirmed he was away."
        objection.with_user(self.user_manager).action_uphold()
        self.assertEqual(objection.state, "upheld")
        self.assertEqual(objection.decided_by_id, self.user_manager)
        self.assertEqual(claim.state, "rejected")
        self.assertEqual(self.balance(self.res_a1), 0)
        self.Claim._cron_close_publications()
        self.assertEqual(self.ledger_sum(self.res_a1), 0)
        # the objector is answered, and reads the answer on their objection
        answer = self.env["mail.message"].search(
            [
                ("model", "=", "credit.claim.objection"),
                ("res_id", "=", objection.id),
                ("partner_ids", "in", self.res_a2.ids),
            ]
        )
        self.assertIn("confirmed he was away", answer.body)
        self.assertEqual(
            objection.with_user(self.user_resident_a2).answer,
            "Two neighbours confirmed he was away.",
        )

    def test_objection_dismissed_after_window_posts(self):
        claim = self.published()
        objection = claim.with_user(self.user_resident_a2)._object("Suspicious")
        self.travel(TODAY + timedelta(days=10))
        self.Claim._cron_close_publications()
        self.assertEqual(self.balance(self.res_a1), 0)
        objection.with_user(self.user_manager).answer = "The photo and two witnesses agree."
        objection.with_user(self.user_manager).action_dismiss()
        self.assertEqual(claim.state, "done")
        self.assertEqual(self.balance(self.res_a1), 2)
        self.assertFalse(claim.sudo().activity_ids)

    def test_objection_dismissed_during_window_waits_for_the_window(self):
        claim = self.published()
        objection = claim.with_user(self.user_resident_a2)._object("Suspicious")
        objection.with_user(self.user_manager).answer = "Checked."
        objection.with_user(self.user_manager).action_dismiss()
        self.assertEqual(claim.state, "published")
        self.travel(TODAY + timedelta(days=7))
        self.Claim._cron_close_publications()
        self.assertEqual(claim.state, "done")
        self.assertEqual(self.balance(self.res_a1), 2)

    def test_upheld_objection_reverses_points_posted_at_approval(self):
        self.community.claim_post_immediately = True
        claim = self.published()
        self.assertEqual(self.balance(self.res_a1), 2)
        objection = claim.with_user(self.user_resident_a2)._object("Not true")
        objection.with_user(self.user_manager).answer = "Confirmed: not true."
        objection.with_user(self.user_manager).action_uphold()
        self.assertEqual(claim.state, "rejected")
        self.assertEqual(self.balance(self.res_a1), 0)
        line = claim.line_ids.ledger_line_id
        self.assertEqual(line.state, "reversed")
        self.assertEqual(line.reversal_ids.points, -2)
        # the subject is told why, as for any rejected claim, and may appeal
        notice = self.env["credit.notice"].search([("claim_id", "=", claim.id)])
        self.assertEqual((notice.kind, notice.partner_id, notice.state),
                         ("rejection", self.res_a1, "sent"))  # fmt: skip
        self.assertIn("Confirmed: not true.", notice.reason)
        self.assertEqual(notice.with_user(self.user_resident).partner_id, self.res_a1)

    def test_who_may_object_and_when(self):
        claim = self.published()
        # a resident of another estate does not even see the claim
        with self.assertRaisesRegex(AccessError, "Credit Claim"):
            claim.with_user(self.user_resident_b)._object("I object")
        # reading is not enough: the reason is required
        with self.assertRaisesRegex(UserError, "Say why"):
            claim.with_user(self.user_resident_a2)._object("   ")
        claim.with_user(self.user_resident_a2)._object("First")
        with self.assertRaisesRegex(UserError, "already object"):
            claim.with_user(self.user_resident_a2)._object("Second")
        # not in someone else's name
        with self.assertRaises(AccessError):
            self.env["credit.claim.objection"].with_user(self.user_resident_a2).create(
                {"claim_id": claim.id, "objector_id": self.res_b1.id, "reason": "x"}
            )
        # too late
        self.travel(TODAY + timedelta(days=7))
        neighbour = self.env["res.partner"].create(
            {
                "name": "钱七",
                "credit_role_ids": [
                    Command.set(self.env.ref("community_credit.role_resident").ids)
                ],
                "credit_place_id": self.building_a1.id,
            }
        )
        late = new_test_user(self.env, "t_late", groups=RESIDENT, partner_id=neighbour.id)
        with self.assertRaisesRegex(UserError, "too late"):
            claim.with_user(late)._object("Late")

    def test_objections_are_kept_and_cannot_be_edited(self):
        claim = self.published()
        objection = claim.with_user(self.user_resident_a2)._object("Suspicious")
        with self.assertRaises(UserError):  # AccessError is a UserError
            objection.with_user(self.user_resident_a2).write({"reason": "changed"})
        with self.assertRaises(AccessError):
            objection.with_user(self.user_resident_a2).unlink()
        with self.assertRaises(AccessError):
            objection.with_user(self.user_manager).unlink()

    def test_staff_record_an_objection_for_an_elderly_resident(self):
        claim = self.published()
        objection = (
            self.env["credit.claim.objection"]
            .with_user(self.user_grid)
            .create({"claim_id": claim.id, "objector_id": self.res_a2.id, "reason": "Told me"})
        )
        self.assertEqual(objection.recorded_by_id, self.user_grid)
        self.assertEqual(objection.objector_id, self.res_a2)

    def test_council_member_who_benefits_cannot_decide_objection(self):
        self.user_manager2.partner_id.write(
            {
                "credit_role_ids": [
                    Command.set(self.env.ref("community_credit.role_resident").ids)
                ],
                "credit_place_id": self.building_a1.id,
            }
        )
        claim = self.submitted(self.user_grid, self.user_manager2.partner_id, self.rule_clean)
        claim.with_user(self.user_reviewer).action_approve()
        claim.with_user(self.user_manager).action_approve()
        objection = claim.with_user(self.user_resident_a2)._object("Not true")
        objection.with_user(self.user_manager).answer = "Looked into it"
        with self.assertRaisesRegex(UserError, "another council"):
            objection.with_user(self.user_manager2).action_dismiss()


@tagged("post_install", "-at_install")
class TestClaimReminders(ClaimCase):
    def test_overdue_claims_are_reminded_and_escalated(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        fresh = self.submitted(self.user_resident_b, self.res_b1, self.rule_clean)
        # deadline TODAY + 5; escalation 2 days after it
        self.travel(TODAY + timedelta(days=7))
        self.assertFalse(self.Claim._cron_remind_reviewers())
        inbox = self.env["mail.message"].search(
            [("partner_ids", "in", self.user_reviewer.partner_id.ids), ("body", "ilike", "overdue")]
        )
        self.assertTrue(inbox, "the reviewer got a reminder")
        self.travel(TODAY + timedelta(days=8))
        escalated = self.Claim._cron_remind_reviewers()
        self.assertEqual(escalated, claim | fresh)
        self.assertTrue(claim.escalated)
        types = claim.sudo().activity_ids.mapped("activity_type_id")
        self.assertIn(self.env.ref("community_credit.mail_act_credit_claim_escalation"), types)
        # escalated once only
        self.assertFalse(self.Claim._cron_remind_reviewers())
        # the council can step in at the review stage
        claim.with_user(self.user_manager).action_approve()
        self.assertEqual(claim.state, "council")
        self.assertFalse(
            claim.sudo().activity_ids.filtered(
                lambda a: a.activity_type_id.name == "Claim Escalated"
            )
        )


@tagged("post_install", "-at_install", "cc_slow")
class TestReviewBatch(ClaimCase):
    def test_monthly_batch_certifies_1000_claims(self):
        role = self.env.ref("community_credit.role_resident")
        residents = self.env["res.partner"].create(
            [
                {
                    "name": f"居民{i:04d}",
                    "credit_role_ids": [Command.set(role.ids)],
                    "credit_place_id": self.building_a1.id,
                }
                for i in range(1000)
            ]
        )
        claims = self.Claim.with_user(self.user_grid).create(
            [
                {
                    "rule_id": self.rule_clean.id,
                    "date": DAY,
                    "partner_ids": [Command.set(partner.ids)],
                }
                for partner in residents
            ]
        )
        claims.action_submit()
        # one of them benefits the reviewer: it stays for someone else
        self.user_reviewer.partner_id.write(
            {"credit_role_ids": [Command.set(role.ids)], "credit_place_id": self.building_a1.id}
        )
        own = self.submitted(self.user_grid, self.user_reviewer.partner_id, self.rule_clean)
        batch = (
            self.env["credit.review.batch"]
            .with_user(self.user_reviewer)
            .create(
                {
                    "stage": "review",
                    "review_group_id": self.group_a.id,
                    "community_id": self.community.id,
                    "date_to": DAY,
                }
            )
        )
        batch.action_load_claims()
        self.assertEqual(batch.claim_count, 1000)
        self.assertEqual(batch.excluded_count, 1)
        batch.action_certify()
        self.assertEqual(batch.state, "done")
        self.assertEqual(set(claims.mapped("state")), {"council"})
        self.assertEqual(own.state, "review")
        self.assertEqual(set(claims.mapped("reviewer_id")), {self.user_reviewer})
        # the reviewer of estate B cannot certify estate A's group
        other = (
            self.env["credit.review.batch"]
            .with_user(self.user_manager)
            .create(
                {
                    "stage": "review",
                    "review_group_id": self.group_a.id,
                    "community_id": self.community.id,
                }
            )
        )
        with self.assertRaises(AccessError):
            other.with_user(self.user_reviewer_b).action_load_claims()
        # the council re-checks the month in one batch; publication then posting
        council = (
            self.env["credit.review.batch"]
            .with_user(self.user_manager)
            .create({"stage": "council", "community_id": self.community.id, "date_to": DAY})
        )
        with self.assertRaises(AccessError):
            council.with_user(self.user_reviewer).action_certify()
        council.action_load_claims()
        self.assertEqual(council.claim_count, 1000)
        council.action_certify()
        self.assertEqual(set(claims.mapped("state")), {"published"})
        self.travel(TODAY + timedelta(days=7))
        self.Claim._cron_close_publications()
        self.assertEqual(set(claims.mapped("state")), {"done"})
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COUNT(*), SUM(points) FROM credit_ledger_line WHERE partner_id = ANY(%s)",
            [residents.ids],
        )
        self.assertEqual(self.env.cr.fetchone(), (1000, 2000))
        # certified once: a second certification is refused
        with self.assertRaisesRegex(UserError, "already certified"):
            council.action_certify()
