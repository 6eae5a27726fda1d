import base64
from datetime import timedelta

from psycopg2.errors import UniqueViolation

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import DAY
from .common_claim import TODAY, ClaimCase


@tagged("post_install", "-at_install")
class TestClaimDeclaration(ClaimCase):
    """Who may declare what, and what is refused at declaration."""

    def test_resident_declares_own_good_deed(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        self.assertEqual(claim.state, "review")
        self.assertEqual(claim.declared_as, "self")
        self.assertTrue(claim.name.startswith("CL/"))
        self.assertEqual(claim.place_id, self.building_a1)
        self.assertEqual(claim.publication_place_id, self.estate_a)
        self.assertEqual(claim.review_group_id, self.group_a)
        self.assertEqual(claim.deadline, TODAY + timedelta(days=5))
        # the review group's leader has an activity due on the deadline
        activity = claim.sudo().activity_ids
        self.assertEqual(activity.user_id, self.user_reviewer)
        self.assertEqual(activity.date_deadline, TODAY + timedelta(days=5))
        self.assertEqual(self.balance(self.res_a1), 0, "nothing is posted before review")

    def test_resident_cannot_declare_for_others(self):
        with self.assertRaisesRegex(AccessError, "You may only name subjects you can see"):
            self.claim(self.user_resident, self.res_a1 | self.res_a2, self.rule_clean)
        claim = self.claim(self.user_resident, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(AccessError, "You may only name subjects you can see"):
            claim.with_user(self.user_resident).write({"partner_ids": [(4, self.res_a2.id)]})
        claim.invalidate_recordset()
        self.assertEqual(claim.partner_ids, self.res_a1)

    def test_resident_cannot_declare_staff_only_rule(self):
        claim = self.claim(self.user_resident, self.res_a1, self.rule_fight)
        with self.assertRaisesRegex(UserError, "cannot be declared by residents"):
            claim.action_submit()

    def test_resident_cannot_see_or_approve_others(self):
        claim = self.submitted(self.user_grid, self.res_a2, self.rule_clean)
        with self.assertRaises(AccessError):
            claim.with_user(self.user_resident_b).read(["name"])
        with self.assertRaises(AccessError):
            claim.with_user(self.user_resident).action_approve()
        # the beneficiary reads it, but cannot decide it
        claim.with_user(self.user_resident_a2).read(["name", "state"])
        with self.assertRaises(UserError):  # AccessError is a UserError
            claim.with_user(self.user_resident_a2).action_approve()

    def test_resident_cannot_set_state_directly(self):
        claim = self.claim(self.user_resident, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(UserError, "buttons"):
            claim.with_user(self.user_resident).write({"state": "done"})
        with self.assertRaisesRegex(UserError, "starts as a draft"):
            self.Claim.with_user(self.user_resident).create(
                {
                    "rule_id": self.rule_clean.id,
                    "partner_ids": [Command.set(self.res_a1.ids)],
                    "state": "published",
                }
            )

    def test_daily_limit_of_self_declarations(self):
        for rule in (self.rule_clean, self.rule_help):
            self.submitted(self.user_resident, self.res_a1, rule)
        self.submitted(self.user_resident, self.res_a1, self.rule_clean, day=DAY - timedelta(1))
        claim = self.claim(self.user_resident, self.res_a1, self.rule_help, day=DAY - timedelta(1))
        with self.assertRaisesRegex(UserError, "already declared 3"):
            claim.action_submit()
        self.travel(TODAY + timedelta(days=1))
        claim.action_submit()
        self.assertEqual(claim.state, "review")

    def test_grid_worker_enters_claim_for_many(self):
        residents = self.env["res.partner"]
        role = self.env.ref("community_credit.role_resident")
        residents = residents.create(
            [
                {
                    "name": f"居民{i}",
                    "credit_role_ids": [Command.set(role.ids)],
                    "credit_place_id": self.building_a1.id,
                }
                for i in range(30)
            ]
        )
        claim = self.submitted(self.user_grid, residents, self.rule_clean)
        self.assertEqual(claim.declared_as, "staff")
        self.assertEqual(claim.subject_count, 30)
        self.assertEqual(claim.total_points, 60)
        self.assertEqual(len(claim.line_ids), 30)
        self.assertEqual(claim.review_group_id, self.group_a)

    def test_grid_worker_kept_to_their_places(self):
        claim = self.claim(self.user_grid, self.res_a1 | self.res_b1, self.rule_clean)
        with self.assertRaisesRegex(AccessError, "王五"):
            claim.action_submit()

    def test_subjects_of_two_estates_are_published_in_the_community(self):
        claim = self.submitted(self.user_manager, self.res_a1 | self.res_b1, self.rule_clean)
        self.assertEqual(claim.place_id, self.community)
        self.assertEqual(claim.publication_place_id, self.community)
        self.assertFalse(claim.review_group_id)

    def test_delegate_declares_only_their_rule(self):
        self.rule_clean.community_id = self.community
        self.rule_clean.delegate_user_ids = self.user_resident_b
        claim = self.submitted(self.user_resident_b, self.res_a1 | self.res_a2, self.rule_clean)
        self.assertEqual(claim.declared_as, "delegate")
        # another rule: a delegate names nobody but themselves
        with self.assertRaisesRegex(AccessError, "You may only name subjects you can see"):
            self.claim(self.user_resident_b, self.res_a1, self.rule_help)
        outside = self.claim(self.user_resident_b, self.res_nd, self.rule_clean)
        with self.assertRaisesRegex(AccessError, "赵六"):
            outside.action_submit()

    def test_refusals(self):
        self.rule_help.date_to = DAY - timedelta(days=1)
        cases = [
            (self.rule_clean, TODAY + timedelta(days=1), "in the future"),
            (self.rule_help, DAY, "not valid on"),
            (self.rule_photo, DAY, "requires evidence"),
        ]
        for rule, day, message in cases:
            with self.subTest(rule=rule.code):
                claim = self.claim(self.user_resident, self.res_a1, rule, day=day)
                with self.assertRaisesRegex(UserError, message):
                    claim.action_submit()
                self.assertEqual(claim.state, "draft")
        self.rule_clean.active = False
        claim = self.claim(self.user_grid, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(UserError, "archived"):
            claim.action_submit()

    def test_out_of_scope_rule(self):
        self.rule_clean.community_id = self.community_nd
        claim = self.claim(self.user_manager, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(UserError, "belongs to .*Never Deduct Community"):
            claim.action_submit()

    def test_no_deduction_in_a_community_that_never_deducts(self):
        claim = self.claim(self.user_manager, self.res_nd, self.rule_fight)
        with self.assertRaisesRegex(UserError, "积分不扣分"):
            claim.action_submit()

    def test_evidence_makes_the_claim_acceptable(self):
        claim = self.claim(self.user_resident, self.res_a1, self.rule_photo)
        jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"0" * 100
        claim.with_user(self.user_resident)._add_evidence("family.jpg", base64.b64encode(jpeg))
        self.assertEqual(claim.attachment_ids.mimetype, "image/jpeg")
        claim.action_submit()
        self.assertEqual(claim.state, "review")
        with self.assertRaisesRegex(UserError, "no longer be changed"):
            claim.with_user(self.user_resident)._add_evidence("more.jpg", base64.b64encode(jpeg))

    def test_evidence_type_and_size_are_checked(self):
        claim = self.claim(self.user_resident, self.res_a1, self.rule_photo)
        with self.assertRaisesRegex(UserError, "photo or a PDF"):
            claim.with_user(self.user_resident)._add_evidence(
                "run.exe", base64.b64encode(b"MZ\x90\x00 not a photo")
            )
        big = b"%PDF-1.4 " + b"0" * (6 * 1024 * 1024)
        with self.assertRaisesRegex(UserError, "larger than 5 MB"):
            claim.with_user(self.user_resident)._add_evidence("big.pdf", base64.b64encode(big))
        # another resident cannot add evidence to this claim
        with self.assertRaises(AccessError):
            claim.with_user(self.user_resident_b)._add_evidence(
                "x.pdf", base64.b64encode(b"%PDF-1.4 x")
            )
        self.assertFalse(claim.attachment_ids)

    def test_cap_counts_pending_claims(self):
        # rule_help: 3 points, at most 9 a month; three claims under review fill it
        for offset in range(3):
            self.submitted(self.user_grid, self.res_a1, self.rule_help, day=DAY - timedelta(offset))
        claim = self.claim(self.user_grid, self.res_a1, self.rule_help, day=DAY - timedelta(3))
        with self.assertRaisesRegex(UserError, "Cap reached"):
            claim.action_submit()

    def test_same_subject_rule_and_day_claimed_once(self):
        first = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        second = self.claim(self.user_grid, self.res_a1 | self.res_a2, self.rule_clean)
        with self.assertRaisesRegex(UserError, first.name):
            second.action_submit()
        # once the first is cancelled the good deed may be claimed again
        first.with_user(self.user_resident).action_cancel()
        second.action_submit()
        self.assertEqual(second.state, "review")

    def test_database_refuses_a_duplicate_that_slips_past_the_check(self):
        first = self.submitted(self.user_manager, self.res_a1, self.rule_clean)
        second = self.claim(self.user_manager, self.res_a1, self.rule_clean)
        # as if two requests passed the check at the same instant
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"):
            second._workflow().write({"state": "review"})
            self.env.flush_all()
        self.assertEqual(first.state, "review")

    def test_draft_only_editable(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(UserError, "can no longer be changed"):
            claim.with_user(self.user_resident).write({"date": DAY - timedelta(days=2)})


@tagged("post_install", "-at_install")
class TestClaimReview(ClaimCase):
    """Review group → council → publication, and each forbidden path."""

    def test_full_path_to_points(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(claim.state, "council")
        self.assertEqual(claim.reviewer_id, self.user_reviewer)
        self.assertEqual(claim.sudo().activity_ids.user_id, self.user_manager)
        claim.with_user(self.user_manager).action_approve()
        self.assertEqual(claim.state, "published")
        self.assertEqual(claim.council_user_id, self.user_manager)
        self.assertEqual(claim.publish_until, TODAY + timedelta(days=6))
        self.assertFalse(claim.sudo().activity_ids)
        self.assertEqual(self.balance(self.res_a1), 0)
        # the window is open until the end of its last day
        self.travel(TODAY + timedelta(days=6))
        self.Claim._cron_close_publications()
        self.assertEqual(claim.state, "published")
        self.travel(TODAY + timedelta(days=7))
        self.Claim._cron_close_publications()
        self.assertEqual(claim.state, "done")
        self.assertEqual(self.balance(self.res_a1), 2)
        line = claim.line_ids.ledger_line_id
        self.assertEqual(line.origin, "claim")
        self.assertEqual(line.granted_by_id, self.user_manager)
        self.assertEqual(line.date, DAY)
        # a re-run posts nothing more
        self.Claim._cron_close_publications()
        claim.sudo()._post_points()
        self.assertEqual(self.balance(self.res_a1), 2)
        self.assertEqual(self.ledger_sum(self.res_a1), 2)
        # every step is in the chatter, with its author
        bodies = claim.sudo().message_ids.mapped("body")
        for text in (
            "Submitted for review",
            "Certified by the review group",
            "approved by the council",
            "Published in",
            "Points posted",
        ):
            self.assertTrue(any(text in b for b in bodies), text)
        authors = claim.sudo().message_ids.filtered(lambda m: "Certified" in m.body).author_id
        self.assertEqual(authors, self.user_reviewer.partner_id)

    def test_reviewer_of_another_estate_cannot_decide(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        with self.assertRaises(AccessError):
            claim.with_user(self.user_reviewer_b).action_approve()
        with self.assertRaises(AccessError):
            claim.with_user(self.user_grid).action_approve()
        self.assertEqual(claim.state, "review")

    def test_reviewer_cannot_decide_at_council_stage(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        claim.with_user(self.user_reviewer).action_approve()
        with self.assertRaisesRegex(AccessError, "Only the council"):
            claim.with_user(self.user_reviewer).action_approve()

    def test_nobody_reviews_their_own_claim(self):
        claim = self.submitted(self.user_reviewer, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(UserError, "another reviewer"):
            claim.with_user(self.user_reviewer).action_approve()
        # the council member who benefits cannot decide either
        self.user_manager2.partner_id.write(
            {
                "credit_role_ids": [
                    Command.set(self.env.ref("community_credit.role_resident").ids)
                ],
                "credit_place_id": self.building_a1.id,
            }
        )
        claim2 = self.submitted(self.user_grid, self.user_manager2.partner_id, self.rule_clean)
        claim2.with_user(self.user_reviewer).action_approve()
        with self.assertRaisesRegex(UserError, "another reviewer"):
            claim2.with_user(self.user_manager2).action_approve()
        claim2.with_user(self.user_manager).action_approve()
        self.assertEqual(claim2.state, "published")

    def test_reject_needs_a_reason_and_tells_the_submitter(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(UserError, "Give a reason"):
            claim.with_user(self.user_reviewer).action_reject("  ")
        wizard = (
            self.env["credit.claim.decision.wizard"]
            .with_user(self.user_reviewer)
            .create(
                {
                    "claim_ids": [Command.set(claim.ids)],
                    "decision": "reject",
                    "reason": "Nobody saw it",
                }
            )
        )
        wizard.action_confirm()
        self.assertEqual(claim.state, "rejected")
        self.assertEqual(claim.decision_reason, "Nobody saw it")
        notified = self.env["mail.message"].search(
            [("partner_ids", "in", self.res_a1.ids), ("body", "ilike", "Nobody saw it")]
        )
        # told why once, by the notice (with the evidence and the appeal window)
        self.assertEqual(notified.mapped("model"), ["credit.notice"], "the resident is told why")
        # rejecting frees the day: the same deed may be claimed again with evidence
        again = self.submitted(self.user_grid, self.res_a1, self.rule_clean)
        self.assertEqual(again.state, "review")

    def test_send_back_then_resubmit(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        name = claim.name
        claim.with_user(self.user_reviewer).action_send_back("Add where it happened")
        self.assertEqual(claim.state, "draft")
        claim.with_user(self.user_resident).write({"description": "Stairwell of building A1"})
        claim.with_user(self.user_resident).action_submit()
        self.assertEqual(claim.state, "review")
        self.assertEqual(claim.name, name, "a resubmitted claim keeps its number")

    def test_community_without_council_or_publication(self):
        self.community.write({"claim_council_stage": False, "claim_publication": False})
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(claim.state, "done")
        self.assertEqual(self.balance(self.res_a1), 2)

    def test_community_without_council_publishes_after_review(self):
        self.community.claim_council_stage = False
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(claim.state, "published")

    def test_rule_reserved_for_the_council(self):
        council = self.env.ref("community_credit.group_credit_manager")
        self.rule_clean.granter_group_ids = council
        self.community.claim_council_stage = False
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        with self.assertRaisesRegex(AccessError, "reserved"):
            claim.with_user(self.user_reviewer).action_approve()
        claim.with_user(self.user_manager).action_approve()
        self.assertEqual(claim.state, "published")

    def test_post_immediately(self):
        self.community.write({"claim_council_stage": False, "claim_post_immediately": True})
        claim = self.submitted(self.user_grid, self.res_a1 | self.res_a2, self.rule_clean)
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(claim.state, "published")
        self.assertEqual(self.balance(self.res_a1), 2)
        self.assertEqual(self.balance(self.res_a2), 2)
        self.travel(TODAY + timedelta(days=7))
        self.Claim._cron_close_publications()
        self.assertEqual(claim.state, "done")
        self.assertEqual(self.balance(self.res_a1), 2, "not posted a second time")

    def test_deduction_claim_by_grid_worker(self):
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_fight)
        self.community.write({"claim_council_stage": False, "claim_publication": False})
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(self.balance(self.res_a1), -10)

    def test_failed_posting_is_kept_and_retried(self):
        self.community.write({"claim_council_stage": False, "claim_publication": False})
        good = self.submitted(self.user_grid, self.res_a2, self.rule_help)
        bad = self.submitted(self.user_grid, self.res_a1, self.rule_help)
        # meanwhile the month's cap fills up through direct grants
        for i in range(3):
            self.post(self.res_a1, self.rule_help, f"direct-{i}", day=DAY - timedelta(i + 1))
        (good | bad).with_user(self.user_reviewer).action_approve()
        self.assertEqual(good.state, "done")
        self.assertEqual(self.balance(self.res_a2), 3)
        self.assertIn("Cap reached", bad.post_error)
        self.assertEqual(bad.state, "review", "the claim waits for the council")
        self.assertEqual(self.balance(self.res_a1), 9)
        self.assertTrue(bad.sudo().activity_ids.filtered(lambda a: a.user_id == self.user_manager))

    def test_staff_see_the_claims_of_their_places_only(self):
        claim_b = self.submitted(self.user_resident_b, self.res_b1, self.rule_clean)
        claim_a = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        Claim = self.Claim.with_user(self.user_grid)  # looks after estate A
        self.assertEqual(Claim.search([("id", "in", (claim_a | claim_b).ids)]), claim_a)
        with self.assertRaises(AccessError):
            claim_b.with_user(self.user_grid).read(["name"])
        Claim = self.Claim.with_user(self.user_reviewer_b)
        self.assertEqual(Claim.search([("id", "in", (claim_a | claim_b).ids)]), claim_b)
        # finance staff do not handle claims at all
        with self.assertRaises(AccessError):
            self.Claim.with_user(self.user_finance).search([])

    def test_cancel_only_by_submitter(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        with self.assertRaises(AccessError):
            claim.with_user(self.user_grid).action_cancel()
        claim.with_user(self.user_resident).action_cancel()
        self.assertEqual(claim.state, "cancelled")
        self.assertFalse(claim.sudo().activity_ids)
