from datetime import timedelta

from odoo.tests import tagged

from .common import DAY
from .common_claim import ClaimCase


@tagged("post_install", "-at_install")
class TestActivityUpdate(ClaimCase):
    """Claims and appeals schedule their activities from one method each
    (_activity_update, as hr_holidays does): one activity per claim for whoever
    must act next, none once nobody has to."""

    def activities(self, record, xmlid):
        kind = self.env.ref(xmlid)
        return record.sudo().activity_ids.filtered(lambda a: a.activity_type_id == kind)

    def test_each_stage_has_one_activity_for_whoever_acts(self):
        self.community.write({"claim_council_stage": True, "claim_publication": False})
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_clean)
        review = self.activities(claim, "community_credit.mail_act_credit_claim_review")
        self.assertEqual(review.user_id, claim.review_group_id.leader_id or self.user_reviewer)
        # called again (a re-submission, a cron): nothing is duplicated
        claim._activity_update()
        self.assertEqual(
            len(self.activities(claim, "community_credit.mail_act_credit_claim_review")), 1
        )
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(claim.state, "council")
        self.assertFalse(self.activities(claim, "community_credit.mail_act_credit_claim_review"))
        council = self.activities(claim, "community_credit.mail_act_credit_claim_council")
        self.assertEqual(council.user_id, self.user_manager)
        claim.with_user(self.user_manager).action_approve()
        self.assertEqual(claim.state, "done")
        self.assertFalse(claim.sudo().activity_ids)

    def test_a_retried_posting_clears_the_councils_escalation(self):
        self.community.write({"claim_council_stage": False, "claim_publication": False})
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_help)
        for i in range(3):  # the month's cap fills up through direct grants
            self.post(self.res_a1, self.rule_help, f"direct-{i}", day=DAY - timedelta(i + 1))
        claim.with_user(self.user_reviewer).action_approve()
        self.assertIn("Cap reached", claim.post_error)
        escalation = self.activities(claim, "community_credit.mail_act_credit_claim_escalation")
        self.assertEqual(escalation.user_id, self.user_manager)
        self.assertIn("Cap reached", str(escalation.note))
        self.assertFalse(self.activities(claim, "community_credit.mail_act_credit_claim_review"))
        # the council lifts the cap and posts again: nobody has anything left to do
        self.rule_help.sudo()._write_versioned({"cap_month": 0}, "test: cap lifted")
        claim.with_user(self.user_manager).action_retry_post()
        self.assertEqual(claim.state, "done")
        self.assertFalse(claim.sudo().activity_ids)
