from datetime import timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.tests import new_test_user

from .common import DAY, MANAGER, RESIDENT, REVIEWER, CreditCase

# the day the tests run on: the good deeds of DAY are one day old
TODAY = DAY + timedelta(days=1)


class ClaimCase(CreditCase):
    """The test community with one review group per estate and a council."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.community.write(
            {
                "claim_council_user_id": cls.user_manager.id,
                "claim_publication_days": 7,
                "claim_review_days": 5,
                "claim_escalation_days": 2,
                "claim_daily_limit": 3,
            }
        )
        (cls.rule_clean | cls.rule_help | cls.rule_photo).write({"self_declare": True})
        cls.user_reviewer_b = new_test_user(cls.env, "t_reviewer_b", groups=REVIEWER)
        cls.user_reviewer_b.credit_place_ids = cls.estate_b
        cls.user_manager2 = new_test_user(cls.env, "t_manager2", groups=MANAGER)
        cls.user_resident_a2 = new_test_user(
            cls.env, "t_resident_a2", groups=RESIDENT, partner_id=cls.res_a2.id, name="李四"
        )
        Group = cls.env["credit.review.group"]
        cls.group_a = Group.create(
            {
                "name": "Estate A group",
                "community_id": cls.community.id,
                "place_ids": [Command.set(cls.estate_a.ids)],
                "user_ids": [Command.set(cls.user_reviewer.ids)],
                "leader_id": cls.user_reviewer.id,
            }
        )
        cls.group_b = Group.create(
            {
                "name": "Estate B group",
                "community_id": cls.community.id,
                "place_ids": [Command.set(cls.estate_b.ids)],
                "user_ids": [Command.set(cls.user_reviewer_b.ids)],
                "leader_id": cls.user_reviewer_b.id,
            }
        )
        cls.Claim = cls.env["credit.claim"]

    def setUp(self):
        super().setUp()
        self.frozen = freeze_time(TODAY)
        self.frozen.start()
        self.addCleanup(self.frozen.stop)

    def travel(self, day):
        """Move the frozen clock to another day."""
        self.frozen.stop()
        self.frozen = freeze_time(day)
        self.frozen.start()

    def claim(self, user, partners, rule, day=DAY, **extra):
        return self.Claim.with_user(user).create(
            {
                "rule_id": rule.id,
                "date": day,
                "partner_ids": [Command.set(partners.ids)],
                "description": "Test claim",
                **extra,
            }
        )

    def submitted(self, user, partners, rule, day=DAY, **extra):
        claim = self.claim(user, partners, rule, day=day, **extra)
        claim.action_submit()
        return claim
