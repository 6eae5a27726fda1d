"""The workflow fields of households, volunteer services and teams, review
batches and claim lines, tried over Odoo's RPC dispatcher (``get_public_method``
+ ``call_kw``) by the staff who may write these models, with the context keys
the addon once took as authority: refused, and nothing changes."""

from datetime import datetime

from odoo import Command, api
from odoo.exceptions import AccessError, UserError
from odoo.service.model import get_public_method
from odoo.tests import new_test_user, tagged

from .common import DAY
from .common_claim import ClaimCase

FORGED = {
    "credit_claim_workflow": True,
    "credit_posting": True,
    "credit_budget_approved": True,
    "credit_notice_sending": True,
}
WORKFLOW_ONLY = "change only through the workflow"
TOP_SECRET = "top-secret records"


def rpc(user, model, method, args, context=None):
    recs = user.env[model].with_user(user)
    get_public_method(recs, method)
    return api.call_kw(recs, method, args, {"context": dict(FORGED, **(context or {}))})


@tagged("post_install", "-at_install")
class TestTrustWorkflowModels(ClaimCase):
    # ------------------------------------------------------------ households
    def test_household_stays_in_the_grid_workers_places(self):
        household = self.household  # building A1, in estate A: the grid worker's
        rpc(self.user_grid, "credit.household", "write", [household.ids, {"name": "Zhang 3-1201"}])
        self.assertEqual(household.name, "Zhang 3-1201")
        rpc(
            self.user_grid,
            "credit.household",
            "write",
            [household.ids, {"place_id": self.estate_a.id}],
        )
        self.assertEqual(household.place_id, self.estate_a)
        # out of their places, or into another's: refused
        with self.assertRaisesRegex(AccessError, "only in the places you look after"):
            rpc(
                self.user_grid,
                "credit.household",
                "write",
                [household.ids, {"place_id": self.building_b1.id}],
            )
        with self.assertRaisesRegex(AccessError, "only in the places you look after"):
            rpc(
                self.user_grid,
                "credit.household",
                "create",
                [{"name": "Wang family", "place_id": self.building_b1.id}],
            )
        # the community follows the place; nobody writes it
        with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
            rpc(
                self.user_grid,
                "credit.household",
                "write",
                [household.ids, {"community_id": self.community_nd.id}],
            )
        household.invalidate_recordset()
        self.assertEqual(
            (household.place_id, household.community_id), (self.estate_a, self.community)
        )
        # the council moves households anywhere
        rpc(
            self.user_manager,
            "credit.household",
            "write",
            [household.ids, {"place_id": self.building_b1.id}],
        )
        self.assertEqual(household.place_id, self.building_b1)

    # ------------------------------------------------ volunteer services, teams
    def test_volunteer_service_is_attendance_only(self):
        organiser = new_test_user(
            self.env, "t_organiser_w", groups="base.group_user,event.group_event_registration_desk"
        )
        event = self.env["event.event"].create(
            {
                "name": "Stairwell clean-up",
                "date_begin": datetime(2025, 3, 12, 1, 0),
                "date_end": datetime(2025, 3, 12, 3, 0),
                "credit_rule_id": self.rule_clean.id,
            }
        )
        registration = (
            self.env["event.registration"]
            .with_user(organiser)
            .create({"event_id": event.id, "partner_id": self.res_a1.id})
        )
        registration.action_set_done()
        service = registration.sudo().credit_service_ids
        before = service.read(["hours", "state", "ledger_line_id", "points", "partner_id"])
        other_line = self.post(self.res_a2, self.rule_help, "w-other")
        for user in (self.user_grid, self.user_manager):
            for vals in (
                {"hours": 40.0},
                {"state": "cancelled"},
                {"ledger_line_id": other_line.id},
                {"partner_id": self.res_a2.id},
            ):
                with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
                    rpc(user, "credit.volunteer.service", "write", [service.ids, vals])
        with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
            rpc(
                self.user_manager,
                "credit.volunteer.service",
                "create",
                [
                    {
                        "registration_id": registration.id,
                        "event_id": event.id,
                        "partner_id": self.res_a1.id,
                        "date": str(DAY),
                        "hours": 40.0,
                        "company_id": self.env.company.id,
                    }
                ],
            )
        service.invalidate_recordset()
        self.assertEqual(
            service.read(["hours", "state", "ledger_line_id", "points", "partner_id"]), before
        )
        # a team's services and points follow from attendance too
        team = (
            self.env["credit.volunteer.team"]
            .with_user(self.user_grid)
            .create({"name": "Door-knocking team", "community_id": self.community.id})
        )
        with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
            rpc(
                self.user_grid,
                "credit.volunteer.team",
                "write",
                [team.ids, {"event_ids": [Command.set(event.ids)]}],
            )
        self.assertFalse(event.credit_team_id)

    def test_volunteer_teams_stay_with_their_community_s_grid_workers(self):
        """Record rules keep teams to a company only: a grid worker of this
        community may not take over, rename or fill another community's team,
        nor move their own team there; the council keeps every team."""
        other = self.env["credit.volunteer.team"].create(
            {"name": "Mediation team", "community_id": self.community_nd.id}
        )
        own = (
            self.env["credit.volunteer.team"]
            .with_user(self.user_grid)
            .create({"name": "Door-knocking team", "community_id": self.community.id})
        )
        for vals in (
            {"name": "Ours now"},
            {"member_ids": [Command.link(self.res_a1.id)]},
            {"active": False},
        ):
            with self.assertRaisesRegex(AccessError, "communities you look after"):
                rpc(self.user_grid, "credit.volunteer.team", "write", [other.ids, vals])
        with self.assertRaisesRegex(AccessError, "communities you look after"):
            rpc(
                self.user_grid,
                "credit.volunteer.team",
                "create",
                [{"name": "Elsewhere", "community_id": self.community_nd.id}],
            )
        with (
            self.assertRaisesRegex(AccessError, "communities you look after"),
            self.env.cr.savepoint(),
        ):
            rpc(
                self.user_grid,
                "credit.volunteer.team",
                "write",
                [own.ids, {"community_id": self.community_nd.id}],
            )
        (other | own).invalidate_recordset()
        self.assertEqual(
            (other.name, other.member_ids, other.active, own.community_id),
            ("Mediation team", self.res_a1.browse(), True, self.community),
        )
        rpc(self.user_manager, "credit.volunteer.team", "write", [other.ids, {"name": "调解队"}])
        self.assertEqual(other.name, "调解队")

    # ------------------------------------------------------ review batches
    def test_review_batch_claims_only_by_the_buttons(self):
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_clean)
        other = self.submitted(self.user_manager, self.res_b1, self.rule_clean)  # estate B
        batch = rpc(
            self.user_reviewer,
            "credit.review.batch",
            "create",
            [
                {
                    "stage": "review",
                    "review_group_id": self.group_a.id,
                    "community_id": self.community.id,
                    "date_to": str(DAY),
                }
            ],
        )
        batch = self.env["credit.review.batch"].browse(batch)
        for vals in (
            {"claim_ids": [Command.set(other.ids)]},
            {"state": "done"},
            {"certified_by_id": self.user_manager.id},
            {"excluded_count": 0},
        ):
            with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
                rpc(self.user_reviewer, "credit.review.batch", "write", [batch.ids, vals])
        self.assertEqual((batch.claim_ids, batch.state), (claim.browse(), "draft"))
        batch.with_user(self.user_reviewer).action_load_claims()
        self.assertEqual(batch.claim_ids, claim)
        # a change of the batch empties the claims loaded for it as it was
        rpc(
            self.user_reviewer,
            "credit.review.batch",
            "write",
            [batch.ids, {"date_to": "2025-03-01"}],
        )
        self.assertFalse(batch.claim_ids)
        batch.with_user(self.user_reviewer).write({"date_to": DAY})
        batch.with_user(self.user_reviewer).action_load_claims()
        batch.with_user(self.user_reviewer).action_certify()
        self.assertEqual((batch.state, claim.state), ("done", "council"))
        with self.assertRaisesRegex(UserError, "already certified"):
            rpc(
                self.user_reviewer,
                "credit.review.batch",
                "write",
                [batch.ids, {"date_to": "2025-03-01"}],
            )
        self.assertEqual(other.state, "review")

    # ----------------------------------------------------------- claim lines
    def test_claim_lines_mirror_their_claim(self):
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_clean)
        line = claim.line_ids
        fake = self.post(self.res_a1, self.rule_help, "w-fake")
        for user in (self.user_grid, self.user_reviewer, self.user_manager):
            for vals in ({"ledger_line_id": fake.id}, {"partner_id": self.res_a2.id}):
                with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
                    rpc(user, "credit.claim.line", "write", [line.ids, vals])
        line.invalidate_recordset()
        self.assertEqual((line.ledger_line_id, line.partner_id), (fake.browse(), self.res_a1))

    def test_decision_wizard_decides_only_claims_the_reviewer_reads(self):
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_clean)  # estate A's group
        wizard = (
            self.env["credit.claim.decision.wizard"]
            .with_user(self.user_reviewer_b)
            .create({"claim_ids": [Command.set(claim.ids)], "reason": "Not seen"})
        )
        with self.assertRaisesRegex(AccessError, TOP_SECRET):
            rpc(
                self.user_reviewer_b, "credit.claim.decision.wizard", "action_confirm", [wizard.ids]
            )
        self.assertEqual(claim.state, "review")
