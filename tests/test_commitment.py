from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo import Command, api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import get_public_method
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import DAY, GRID, CreditCase

SIGN_DAY = DAY + timedelta(days=1)  # 2025-03-13, in the year 2025
AFTER = date(2026, 1, 5)  # the year 2025 is over
ORGANISER = "base.group_user,event.group_event_registration_desk"
# context keys the addon once took as authority: they open nothing
FORGED = {"credit_claim_workflow": True, "credit_posting": True, "credit_budget_approved": True}
WORKFLOW_ONLY = "change only through the workflow"
TOP_SECRET = "top-secret records"


def rpc(user, records, method, *args):
    """Call as /web/dataset/call_kw does, as `user`, with a forged context."""
    recs = records.with_user(user)
    get_public_method(recs, method)
    return api.call_kw(recs, method, [records.ids, *args], {"context": FORGED})


@tagged("post_install", "-at_install")
class TestCommitment(CreditCase):
    """Credit commitments (信用承诺): templates, signing, measuring each kind of
    obligation, evaluation at period end with bonus or deduction, re-runs and
    re-evaluation, reminders, unit scores."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Rule = cls.env["credit.rule"]
        cls.rule_bonus = Rule.create(
            {
                "code": "TC1",
                "name": "Commitment kept",
                "category_id": cls.category.id,
                "points": 5,
            }
        )
        cls.rule_breach = Rule.create(
            {
                "code": "TC2",
                "name": "Commitment broken",
                "category_id": cls.category.id,
                "points": -4,
            }
        )
        cls.role_resident = cls.env.ref("community_credit.role_resident")
        cls.template = cls.env["credit.commitment.template"].create(
            {
                "name": "Resident commitment",
                "role_id": cls.role_resident.id,
                "text": "<p>I promise to help my neighbours and keep the peace.</p>",
                "period": "year",
                "bonus_rule_id": cls.rule_bonus.id,
                "deduction_rule_id": cls.rule_breach.id,
                "obligation_ids": [
                    Command.create(
                        {"name": "Earn at least 5 points", "kind": "points", "target": 5}
                    ),
                    Command.create({"name": "No fighting", "kind": "no_deduction", "weight": 3}),
                ],
            }
        )
        cls.Commitment = cls.env["credit.commitment"]

    def setUp(self):
        super().setUp()
        self.at(SIGN_DAY)

    def at(self, day):
        frozen = freeze_time(day)
        frozen.start()
        self.addCleanup(frozen.stop)

    def sign(self, partner, template=None, user=None, **vals):
        commitment = self.Commitment.with_user(user or self.user_manager).create(
            {"template_id": (template or self.template).id, "partner_id": partner.id, **vals}
        )
        commitment.action_sign(origin="paper", signer_name=partner.name)
        return commitment

    def earn(self, partner, times=2):
        """`times` x 3 points under the help rule, a week apart (its cap is per month)."""
        for n in range(times):
            self.post(
                partner,
                self.rule_help,
                f"c-earn-{partner.id}-{n}",
                day=DAY - timedelta(days=40 * n),
            )

    def contract_lines(self, partner):
        return self.Ledger.sudo().search(
            [("partner_id", "=", partner.id), ("origin", "=", "contract")]
        )

    def evaluate(self):
        self.at(AFTER)
        return self.Commitment._cron_evaluate()

    # ---------------------------------------------------------------- signing
    def test_grid_worker_records_a_paper_signature(self):
        commitment = self.Commitment.with_user(self.user_grid).create(
            {"template_id": self.template.id, "partner_id": self.res_a1.id, "date_from": DAY}
        )
        self.assertEqual(commitment.state, "draft")
        self.assertEqual(commitment.date_from, date(2025, 1, 1), "the period's first day")
        self.assertEqual(commitment.date_to, date(2025, 12, 31))
        self.assertFalse(commitment.line_ids, "obligations are copied when signing")
        commitment.write({"signer_name": "张三 (by his daughter)", "sign_origin": "paper"})
        commitment.action_sign()
        self.assertEqual(commitment.state, "signed")
        self.assertEqual(commitment.signer_name, "张三 (by his daughter)")
        self.assertEqual(commitment.sign_origin, "paper")
        self.assertEqual(commitment.signed_by_id, self.user_grid)
        self.assertTrue(commitment.signed_on)
        self.assertIn("help my neighbours", commitment.accepted_text)
        self.assertEqual(
            commitment.line_ids.obligation_id, self.template.obligation_ids, "one per obligation"
        )
        self.assertEqual(set(commitment.line_ids.mapped("result")), {"pending"})
        self.assertEqual(commitment.community_id, self.community)
        with self.assertRaises(UserError):
            commitment.with_user(self.user_grid).write({"signer_name": "Somebody else"})

    def test_cannot_sign_twice_for_one_period(self):
        self.sign(self.res_a1)
        second = self.Commitment.with_user(self.user_grid).create(
            {"template_id": self.template.id, "partner_id": self.res_a1.id}
        )
        with self.assertRaises(UserError):
            second.action_sign()
        self.assertEqual(second.state, "draft")
        # next year is another period
        self.at(date(2026, 2, 1))
        second.date_from = date(2026, 2, 1)
        second.action_sign()
        self.assertEqual(second.date_from, date(2026, 1, 1))

    def test_only_the_right_kind_of_subject_signs(self):
        party = self.env["credit.commitment.template"].create(
            {
                "name": "Party member commitment",
                "role_id": self.env.ref("community_credit.role_party_member").id,
                "text": "<p>Serve the community.</p>",
                "obligation_ids": [
                    Command.create({"name": "12 services", "kind": "services", "target": 12})
                ],
            }
        )
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.Commitment.with_user(self.user_grid).create(
                {"template_id": party.id, "partner_id": self.res_a1.id}
            )
        elsewhere = self.env["credit.commitment.template"].create(
            {
                "name": "Never-deduct community commitment",
                "role_id": self.role_resident.id,
                "community_id": self.community_nd.id,
                "text": "<p>Be kind.</p>",
                "obligation_ids": [
                    Command.create({"name": "Points", "kind": "points", "target": 1})
                ],
            }
        )
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.Commitment.with_user(self.user_manager).create(
                {"template_id": elsewhere.id, "partner_id": self.res_a1.id}
            )

    def test_grid_worker_signs_only_in_their_places(self):
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            self.Commitment.with_user(self.user_grid).create(
                {"template_id": self.template.id, "partner_id": self.res_b1.id}
            )
        # a resident can read their commitment but not sign for somebody else
        mine = self.sign(self.res_a1)
        self.assertEqual(mine.with_user(self.user_resident).read(["state"])[0]["state"], "signed")
        with self.assertRaises(AccessError):
            mine.with_user(self.user_resident_b).read(["state"])
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            self.Commitment.with_user(self.user_resident).create(
                {"template_id": self.template.id, "partner_id": self.res_a2.id}
            )

    def test_a_signed_promise_does_not_change(self):
        self.sign(self.res_a1)
        with self.assertRaises(UserError):
            self.template.with_user(self.user_manager).write({"text": "<p>Something else</p>"})
        with self.assertRaises(ValidationError):
            self.template.obligation_ids[0].with_user(self.user_manager).write({"target": 50})
        with self.assertRaises(UserError), self.env.cr.savepoint():
            self.template.with_user(self.user_manager).write(
                {"obligation_ids": [Command.create({"name": "New", "kind": "points", "target": 1})]}
            )
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.env["credit.commitment.obligation"].with_user(self.user_manager).create(
                {"template_id": self.template.id, "name": "New", "kind": "points", "target": 1}
            )
        # archiving and offering a new version is the way
        self.template.with_user(self.user_manager).write({"active": False})
        new = self.template.with_user(self.user_manager).copy({"active": True})
        self.assertEqual(len(new.obligation_ids), 2)
        new.obligation_ids[0].target = 8

    def test_deduction_on_breach_refused_where_nobody_deducts(self):
        with self.assertRaises(ValidationError):
            self.env["credit.commitment.template"].create(
                {
                    "name": "Bad",
                    "role_id": self.role_resident.id,
                    "community_id": self.community_nd.id,
                    "text": "<p>x</p>",
                    "deduction_rule_id": self.rule_breach.id,
                }
            )

    # ------------------------------------------------------------- evaluation
    def test_fulfilment_posts_the_bonus_once(self):
        commitment = self.sign(self.res_a1)
        self.earn(self.res_a1)
        # progress while the period runs, as the subject sees it
        points, peace = commitment.with_user(self.user_resident).line_ids
        self.assertEqual(points.progress_value, 6)
        self.assertTrue(points.progress_met)
        self.assertEqual(points.progress_text, "6 / 5")
        self.assertTrue(peace.progress_met)
        before = self.balance(self.res_a1)
        self.assertEqual(self.evaluate(), commitment)
        self.assertEqual(commitment.state, "fulfilled")
        self.assertEqual(commitment.score, 100)
        self.assertEqual(commitment.line_ids.mapped("result"), ["met", "met"])
        self.assertEqual(commitment.line_ids.mapped("value"), [6, 0])
        line = commitment.ledger_line_id
        self.assertEqual(line.points, 5)
        self.assertEqual(line.origin, "contract")
        self.assertEqual(line.date, date(2025, 12, 31))
        self.assertEqual(self.balance(self.res_a1), before + 5)
        # a re-run posts nothing new, and so does evaluating again by hand
        self.assertFalse(self.Commitment._cron_evaluate())
        commitment.with_user(self.user_manager).action_evaluate()
        self.assertEqual(self.contract_lines(self.res_a1), line)
        self.assertEqual(self.balance(self.res_a1), before + 5)

    def test_breach_deducts_and_the_bonus_does_not_count(self):
        commitment = self.sign(self.res_a1)
        self.earn(self.res_a1)
        self.post(self.res_a1, self.rule_fight, "c-fight")
        self.evaluate()
        self.assertEqual(commitment.state, "breached")
        self.assertEqual(commitment.line_ids.mapped("result"), ["met", "not_met"])
        self.assertEqual(commitment.score, 25.0, "weights 1 and 3: one of four met")
        self.assertEqual(commitment.ledger_line_id.points, -4)
        self.assertEqual(commitment.points, -4)

    def test_points_earned_ignore_reversed_lines_and_other_years(self):
        commitment = self.sign(self.res_a1)
        line = self.post(self.res_a1, self.rule_help, "c-r1")
        self.post(self.res_a1, self.rule_help, "c-r2")
        line.with_user(self.user_manager)._reverse("Entered twice")
        self.post(self.res_a1, self.rule_clean, "c-old", day=date(2024, 12, 31))
        self.assertEqual(commitment.line_ids[0].progress_value, 3)
        self.evaluate()
        self.assertEqual(commitment.state, "breached")
        self.assertEqual(commitment.line_ids[0].value, 3)

    def test_no_deduction_policy_is_respected(self):
        commitment = self.sign(self.res_nd)
        self.evaluate()
        self.assertEqual(commitment.state, "breached", "no point earned")
        self.assertFalse(commitment.ledger_line_id)
        self.assertFalse(self.contract_lines(self.res_nd))
        self.assertIn("does not deduct", commitment.outcome_note)

    def test_times_under_rules_and_deductions_under_given_rules(self):
        template = self.env["credit.commitment.template"].create(
            {
                "name": "Clean stairwell commitment",
                "role_id": self.role_resident.id,
                "text": "<p>Twice a year.</p>",
                "bonus_rule_id": self.rule_bonus.id,
                "obligation_ids": [
                    Command.create(
                        {
                            "name": "Clean the stairwell twice",
                            "kind": "rule_lines",
                            "target": 2,
                            "rule_ids": [Command.set(self.rule_clean.ids)],
                        }
                    ),
                    Command.create(
                        {
                            "name": "No fighting",
                            "kind": "no_deduction",
                            "rule_ids": [Command.set(self.rule_fight.ids)],
                        }
                    ),
                ],
            }
        )
        kept = self.sign(self.res_a1, template)
        broken = self.sign(self.res_a2, template)
        for n, partner in enumerate((self.res_a1, self.res_a1, self.res_a2)):
            self.post(partner, self.rule_clean, f"c-clean-{n}", day=DAY - timedelta(days=n))
        self.post(self.res_a2, self.rule_clean, "c-clean-9", day=DAY - timedelta(days=9))
        self.post(self.res_a2, self.rule_fight, "c-fight-a2")
        self.evaluate()
        self.assertEqual(kept.state, "fulfilled")
        self.assertEqual(kept.line_ids.mapped("value"), [2, 0])
        self.assertEqual(broken.state, "breached")
        self.assertEqual(broken.line_ids.mapped("value"), [2, 1])
        self.assertFalse(broken.ledger_line_id, "this template deducts nothing")

    def test_services_and_hours_from_attended_events(self):
        template = self.env["credit.commitment.template"].create(
            {
                "name": "Volunteer commitment",
                "role_id": self.role_resident.id,
                "text": "<p>Serve.</p>",
                "bonus_rule_id": self.rule_bonus.id,
                "obligation_ids": [
                    Command.create({"name": "2 services", "kind": "services", "target": 2}),
                    Command.create({"name": "6 hours", "kind": "hours", "target": 6}),
                ],
            }
        )
        commitment = self.sign(self.res_a1, template)
        organiser = new_test_user(self.env, "tc_organiser", groups=ORGANISER)
        for n in range(2):
            event = self.env["event.event"].create(
                {
                    "name": f"Clean-up {n}",
                    "date_begin": datetime(2025, 3, 10 + n, 1, 0),
                    "date_end": datetime(2025, 3, 10 + n, 4, 0),
                    "credit_rule_id": self.rule_clean.id,
                }
            )
            registration = (
                self.env["event.registration"]
                .with_user(organiser)
                .create({"event_id": event.id, "partner_id": self.res_a1.id})
            )
            registration.with_user(organiser).action_set_done()
        services, hours = commitment.line_ids
        self.assertEqual(services.progress_value, 2)
        self.assertEqual(hours.progress_text, "6 / 6")
        # an attendance undone does not count
        registration.with_user(organiser).action_confirm()
        commitment.line_ids.invalidate_recordset(["progress_value"])  # a new request
        self.assertEqual(services.progress_value, 1)
        self.evaluate()
        self.assertEqual(commitment.state, "breached")
        self.assertEqual(commitment.line_ids.mapped("value"), [1, 3])
        self.assertEqual(commitment.score, 0)

    def test_checks_by_staff_hold_the_evaluation(self):
        template = self.env["credit.commitment.template"].create(
            {
                "name": "Building head commitment",
                "role_id": self.role_resident.id,
                "text": "<p>Keep the building tidy.</p>",
                "bonus_rule_id": self.rule_bonus.id,
                "obligation_ids": [
                    Command.create({"name": "Tidy corridors", "kind": "manual"}),
                ],
            }
        )
        commitment = self.sign(self.res_a1, template)
        check = commitment.line_ids
        with self.assertRaises(AccessError):
            check.with_user(self.user_resident).action_check_met()
        self.assertFalse(self.evaluate(), "waiting for the check")
        self.assertEqual(commitment.state, "signed")
        # the period is over: whoever recorded the signature is asked to check
        kind = self.env.ref("community_credit.mail_act_credit_commitment")
        asked = commitment.sudo().activity_ids.filtered(lambda a: a.activity_type_id == kind)
        self.assertEqual(asked.user_id, self.user_manager)
        self.Commitment._cron_evaluate()  # the next day: not asked twice
        self.assertEqual(len(commitment.sudo().activity_ids), 1)
        measured = self.sign(self.res_a2).line_ids[0]
        with self.assertRaises(UserError):
            measured.with_user(self.user_grid).action_check_met()
        check.with_user(self.user_grid).action_check_met()
        self.assertEqual(check.checked_by_id, self.user_grid)
        self.assertEqual(self.Commitment._cron_evaluate(), commitment)
        self.assertEqual(commitment.state, "fulfilled")
        self.assertEqual(commitment.ledger_line_id.points, 5)
        self.assertFalse(commitment.sudo().activity_ids, "nothing left to do")
        # after the evaluation only the council changes a check
        with self.assertRaises(UserError):
            check.with_user(self.user_grid).action_check_not_met()

    def test_council_re_evaluates_after_a_correction(self):
        commitment = self.sign(self.res_a1)
        self.earn(self.res_a1)
        fight = self.post(self.res_a1, self.rule_fight, "c-fight")
        self.evaluate()
        self.assertEqual(commitment.state, "breached")
        deduction = commitment.ledger_line_id
        # the fight was somebody else: the council reverses it and re-evaluates
        fight.with_user(self.user_manager)._reverse("Wrong person")
        with self.assertRaises(AccessError):
            commitment.with_user(self.user_grid).action_evaluate()
        commitment.with_user(self.user_manager).action_evaluate()
        self.assertEqual(commitment.state, "fulfilled")
        self.assertEqual(deduction.state, "reversed")
        self.assertEqual(commitment.ledger_line_id.points, 5)
        self.assertEqual(commitment.evaluation_count, 2)
        lines = self.contract_lines(self.res_a1)
        self.assertEqual(sorted(lines.mapped("points")), [-4, 5])
        self.assertEqual(self.balance(self.res_a1), 3 + 3 + 5)
        # once more: same outcome, nothing posted
        commitment.with_user(self.user_manager).action_evaluate()
        self.assertEqual(self.contract_lines(self.res_a1), lines)
        self.assertEqual(self.balance(self.res_a1), 11)

    def test_refused_bonus_is_kept_on_the_commitment(self):
        kept = self.sign(self.res_a1)
        also_kept = self.sign(self.res_a2)
        self.earn(self.res_a1)
        self.earn(self.res_a2)
        # the bonus rule ends before the period does: its bonus cannot post
        self.rule_bonus.date_to = date(2025, 6, 30)
        self.evaluate()
        self.assertEqual((kept | also_kept).mapped("state"), ["fulfilled", "fulfilled"])
        self.assertFalse(kept.ledger_line_id)
        self.assertIn("not valid", kept.post_error)
        self.rule_bonus.date_to = False
        kept.with_user(self.user_manager).action_evaluate()
        self.assertEqual(kept.ledger_line_id.points, 5)
        self.assertFalse(kept.post_error)

    def test_cancel(self):
        commitment = self.sign(self.res_a1, user=self.user_grid)
        with self.assertRaises(AccessError):
            commitment.with_user(self.user_grid).action_cancel()
        commitment.with_user(self.user_manager).action_cancel("Moved away")
        self.assertEqual(commitment.state, "cancelled")
        self.assertFalse(self.evaluate())
        # cancelled after the cron picked it: evaluated to nothing, no points
        self.assertFalse(commitment.sudo()._evaluate())
        self.assertFalse(self.contract_lines(self.res_a1))
        # cancelled: the subject may sign again for the period
        self.at(SIGN_DAY)
        self.sign(self.res_a1)

    # -------------------------------------------------------------- reminders
    def test_reminders_go_to_those_behind_and_their_grid_worker(self):
        behind = self.sign(self.res_a1)
        on_track = self.sign(self.res_a2)
        self.earn(self.res_a2)
        self.assertFalse(self.Commitment._cron_remind(), "too early")
        self.at(date(2025, 12, 10))
        Message = self.env["mail.message"].sudo()
        self.assertEqual(self.Commitment._cron_remind(), behind)
        note = Message.search(
            [
                ("model", "=", "credit.commitment"),
                ("res_id", "=", behind.id),
                ("partner_ids", "in", self.res_a1.ids),
            ]
        )
        self.assertEqual(len(note), 1)
        self.assertIn("0 of 5", note.body)
        self.assertFalse(
            Message.search(
                [
                    ("model", "=", "credit.commitment"),
                    ("res_id", "=", on_track.id),
                    ("partner_ids", "in", self.res_a2.ids),
                ]
            )
        )
        digest = Message.search(
            [
                ("partner_ids", "in", self.user_grid.partner_id.ids),
                ("subject", "=", "Commitments behind in your places"),
            ]
        )
        self.assertEqual(len(digest), 1)
        self.assertIn("1 subjects", digest.body)
        self.assertEqual(behind.reminded_on, date(2025, 12, 10))
        self.assertFalse(self.Commitment._cron_remind(), "once per commitment")

    def test_reminders_are_in_each_readers_language(self):
        """The daily job runs in the system's language; a resident reading Chinese
        gets the reminder in Chinese, and so does the grid worker's digest."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["community_credit"], ["zh_CN"], overwrite=True
        )
        self.res_a1.lang = "zh_CN"
        self.user_grid.partner_id.lang = "zh_CN"
        behind = self.sign(self.res_a1)
        self.at(date(2025, 12, 10))
        self.assertEqual(self.Commitment.with_context(lang="en_US")._cron_remind(), behind)
        Message = self.env["mail.message"].sudo()
        note = Message.search(
            [("model", "=", "credit.commitment"), ("res_id", "=", behind.id)]
        ).filtered(lambda m: self.res_a1 in m.partner_ids)
        self.assertIn("您的信用承诺", note.subject)
        digest = Message.search([("partner_ids", "in", self.user_grid.partner_id.ids)])
        self.assertTrue(digest.filtered(lambda m: "信用承诺" in (m.subject or "")))

    # ------------------------------------------------------------- unit score
    def test_unit_score_per_organisation_and_period(self):
        unit_role = self.env.ref("community_credit.role_resident_unit")
        unit = self.env["res.partner"].create(
            {
                "name": "Community Hospital",
                "is_company": True,
                "credit_role_ids": [Command.set(unit_role.ids)],
                "credit_place_id": self.building_a1.id,
            }
        )
        self.res_a1.parent_id = unit
        self.res_a2.parent_id = unit
        org_rule = self.env["credit.rule"].create(
            {
                "code": "TC3",
                "name": "Unit commitment kept",
                "category_id": self.category.id,
                "points": 10,
                "subject_type": "organisation",
            }
        )
        unit_template = self.env["credit.commitment.template"].create(
            {
                "name": "Resident unit commitment",
                "role_id": unit_role.id,
                "text": "<p>Support the community.</p>",
                "bonus_rule_id": org_rule.id,
                "obligation_ids": [
                    Command.create({"name": "Host a service", "kind": "manual", "weight": 1}),
                    Command.create({"name": "No deduction", "kind": "no_deduction", "weight": 1}),
                ],
            }
        )
        unit_commitment = self.sign(unit, unit_template)
        unit_commitment.line_ids[0].with_user(self.user_grid).action_check_not_met()
        member_kept, member_broken = self.sign(self.res_a1), self.sign(self.res_a2)
        self.earn(self.res_a1)
        self.evaluate()
        self.assertEqual(unit_commitment.state, "breached")
        self.assertEqual(unit_commitment.score, 50)
        self.assertEqual((member_kept | member_broken).mapped("state"), ["fulfilled", "breached"])
        score = (
            self.env["credit.commitment.unit.score"]
            .with_user(self.user_manager)
            .search([("organisation_id", "=", unit.id)])
        )
        self.assertEqual(len(score), 1)
        self.assertEqual(score.date_from, date(2025, 1, 1))
        self.assertEqual((score.own_count, score.own_fulfilled), (1, 0))
        self.assertEqual(score.unit_score, 50)
        self.assertEqual((score.member_count, score.member_fulfilled), (2, 1))
        self.assertEqual(score.member_rate, 50)
        with self.assertRaises(AccessError):
            self.env["credit.commitment.unit.score"].with_user(self.user_grid).search([])

    # ------------------------------------------------------ trust boundary
    def test_rpc_cannot_write_the_signature_or_the_outcome(self):
        """A grid worker of the subject's places writes the state and the ledger
        link of a running commitment over RPC (the evaluation would then reverse
        another line, or pay twice): refused, whatever the context."""
        commitment = self.sign(self.res_a1, user=self.user_grid)
        other_line = self.post(self.res_a2, self.rule_help, "c-other")
        fields_before = commitment.read(["state", "ledger_line_id", "score", "signed_by_id"])
        for vals in (
            {"state": "fulfilled"},
            {"ledger_line_id": other_line.id},
            {"score": 100, "outcome_note": "All obligations met."},
            {"signed_by_id": self.user_manager.id},
        ):
            with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
                rpc(self.user_grid, commitment, "write", vals)
        commitment.invalidate_recordset()
        self.assertEqual(
            commitment.read(["state", "ledger_line_id", "score", "signed_by_id"]), fields_before
        )
        # an outcome of an obligation, the same
        check = commitment.line_ids[0]
        with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
            rpc(self.user_grid, check, "write", {"result": "met", "value": 99})
        check.invalidate_recordset()
        self.assertEqual((check.result, check.value), ("pending", 0))
        # nor born signed, nor with a forged default
        Commitment = self.Commitment.with_user(self.user_grid)
        with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
            api.call_kw(
                Commitment,
                "create",
                [{"template_id": self.template.id, "partner_id": self.res_a2.id, "score": 100}],
                {"context": FORGED},
            )
        created = api.call_kw(
            Commitment,
            "create",
            [{"template_id": self.template.id, "partner_id": self.res_a2.id}],
            {"context": dict(FORGED, default_state="signed", default_ledger_line_id=other_line.id)},
        )
        drafted = self.Commitment.browse(created)
        self.assertEqual((drafted.state, drafted.ledger_line_id), ("draft", other_line.browse()))
        # staff record signatures made in person or on paper: never an online one
        with self.assertRaisesRegex(UserError, "in person or on paper"):
            rpc(self.user_grid, drafted, "action_sign", "portal", "张三", "1.2.3.4")
        rpc(self.user_grid, drafted, "write", {"sign_origin": "portal"})
        with self.assertRaisesRegex(UserError, "in person or on paper"):
            rpc(self.user_grid, drafted, "action_sign")
        self.assertEqual(drafted.state, "draft")

    def test_grid_worker_prepares_a_commitment_in_the_form(self):
        """The web client sends every editable field of a new record: the state
        and the company are the workflow's (readonly), so staff still prepare a
        commitment in the form, then sign it with the button."""
        form = Form(self.Commitment.with_user(self.user_grid))
        form.template_id = self.template
        form.partner_id = self.res_a1
        form.sign_origin = "paper"
        commitment = form.save()
        self.assertEqual((commitment.state, commitment.sign_origin), ("draft", "paper"))
        commitment.with_user(self.user_grid).action_sign()
        self.assertEqual(commitment.state, "signed")
        self.assertEqual(commitment.signed_by_id, self.user_grid)

    def test_grid_worker_keeps_a_draft_in_their_places(self):
        """Record rules are checked before a write only: a grid worker who gives
        a draft commitment a subject outside their places is refused, and the
        commitment keeps its subject."""
        draft = self.Commitment.with_user(self.user_grid).create(
            {"template_id": self.template.id, "partner_id": self.res_a1.id}
        )
        with self.assertRaisesRegex(AccessError, TOP_SECRET), self.env.cr.savepoint():
            rpc(self.user_grid, draft, "write", {"partner_id": self.res_b1.id})
        draft.invalidate_recordset()
        self.assertEqual(draft.partner_id, self.res_a1)
        # within their places it may change, until it is signed
        rpc(self.user_grid, draft, "write", {"partner_id": self.res_a2.id})
        self.assertEqual(draft.partner_id, self.res_a2)

    def test_template_rules_only_from_their_granters(self):
        """The year-end evaluation posts under the template's rules without
        checking anybody's rights: whoever sets a rule on a template must be one
        of its granters, and the points are posted as granted by them."""
        admin_group = self.env.ref("community_credit.group_credit_admin")
        reserved = self.env["credit.rule"].create(
            {
                "code": "TC9",
                "name": "Model resident of the year",
                "category_id": self.category.id,
                "points": 20,
                "granter_group_ids": [Command.set(admin_group.ids)],
            }
        )
        template = self.template.with_user(self.user_manager).copy({"name": "Model residents"})
        self.assertEqual(template.rules_set_by_id, self.user_manager)
        with self.assertRaisesRegex(AccessError, "reserved for"):
            rpc(self.user_manager, template, "write", {"bonus_rule_id": reserved.id})
        self.assertEqual(template.bonus_rule_id, self.rule_bonus)
        with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
            rpc(self.user_manager, template, "write", {"rules_set_by_id": self.user_admin.id})
        with self.assertRaisesRegex(AccessError, "reserved for"):
            self.env["credit.commitment.template"].with_user(self.user_manager).create(
                {
                    "name": "Model residents",
                    "role_id": self.role_resident.id,
                    "text": "<p>x</p>",
                    "bonus_rule_id": reserved.id,
                }
            )
        # an administrator may grant it: they set it, and grant its points
        rpc(self.user_admin, template, "write", {"bonus_rule_id": reserved.id})
        self.assertEqual(template.rules_set_by_id, self.user_admin)
        # changing the other rule would make the manager the granter of both
        with self.assertRaisesRegex(AccessError, "reserved for"):
            rpc(self.user_manager, template, "write", {"deduction_rule_id": False})
        self.assertEqual(template.deduction_rule_id, self.rule_breach)
        commitment = self.sign(self.res_a1, template=template)
        self.earn(self.res_a1)
        self.evaluate()
        self.assertEqual(commitment.state, "fulfilled")
        self.assertEqual(commitment.ledger_line_id.rule_id, reserved)
        self.assertEqual(commitment.ledger_line_id.points, 20)
        self.assertEqual(commitment.ledger_line_id.granted_by_id, self.user_admin)

    def test_who_earns_a_reserved_rule_is_set_by_its_granters(self):
        """The obligations, period and subjects of a template decide who earns
        its rules: a council member may not make a reserved bonus easy to earn
        (nor offer it more often, or to more people), over RPC or through the
        template's form; they may still reorder and reword."""
        admin_group = self.env.ref("community_credit.group_credit_admin")
        reserved = self.env["credit.rule"].create(
            {
                "code": "TC8",
                "name": "Neighbour of the year",
                "category_id": self.category.id,
                "points": 20,
                "granter_group_ids": [Command.set(admin_group.ids)],
            }
        )
        template = self.template.copy({"name": "Neighbour of the year"})
        rpc(self.user_admin, template, "write", {"bonus_rule_id": reserved.id})
        self.assertEqual(template.rules_set_by_id, self.user_admin)
        points, no_fighting = template.obligation_ids
        Obligation = self.env["credit.commitment.obligation"].with_user(self.user_manager)
        earns = "You may not change who earns rule"
        with self.assertRaisesRegex(AccessError, earns), self.env.cr.savepoint():
            rpc(self.user_manager, points, "write", {"target": 0.1})
        with self.assertRaisesRegex(AccessError, earns), self.env.cr.savepoint():
            rpc(self.user_manager, no_fighting, "unlink")
        with self.assertRaisesRegex(AccessError, earns), self.env.cr.savepoint():
            api.call_kw(
                Obligation,
                "create",
                [{"template_id": template.id, "name": "Smile", "kind": "manual"}],
                {"context": FORGED},
            )
        with self.assertRaisesRegex(AccessError, earns), self.env.cr.savepoint():
            rpc(
                self.user_manager,
                template,
                "write",
                {"obligation_ids": [Command.update(points.id, {"kind": "manual"})]},
            )
        with self.assertRaisesRegex(AccessError, earns), self.env.cr.savepoint():
            rpc(self.user_manager, template, "write", {"period": "month"})
        template.invalidate_recordset()
        template.obligation_ids.invalidate_recordset()
        self.assertEqual(template.period, "year")
        self.assertEqual(template.obligation_ids, points | no_fighting)
        self.assertEqual((points.kind, points.target), ("points", 5))
        self.assertEqual(template.rules_set_by_id, self.user_admin)
        # the wording and the order are not terms
        rpc(
            self.user_manager,
            template,
            "write",
            {
                "name": "Neighbour of the year 2025",
                "obligation_ids": [
                    Command.update(points.id, {"sequence": 20, "name": "Earn 5 points"})
                ],
            },
        )
        self.assertEqual(points.name, "Earn 5 points")
        self.assertEqual(template.rules_set_by_id, self.user_admin)
        # the administrator may change the terms: they grant the points
        rpc(self.user_admin, points, "write", {"target": 6})
        self.assertEqual(points.target, 6)
        self.assertEqual(template.rules_set_by_id, self.user_admin)
        # and a rule anybody of the council grants leaves the council free
        rpc(self.user_admin, template, "write", {"bonus_rule_id": self.rule_bonus.id})
        rpc(self.user_manager, points, "write", {"target": 4})
        self.assertEqual(template.rules_set_by_id, self.user_manager)

    def test_outcome_is_tracked_in_the_chatter(self):
        """The evaluation writes its outcome through the ORM: the state change is
        in the commitment's chatter, like every other workflow's."""
        commitment = self.sign(self.res_a1)
        self.earn(self.res_a1)
        self.at(AFTER)
        # the daily action runs with tracking on (the tests' environment has it off)
        self.Commitment.with_context(tracking_disable=False, mail_notrack=False)._cron_evaluate()
        self.assertEqual(commitment.state, "fulfilled")
        self.env.cr.precommit.run()  # tracking values are written when the transaction commits
        tracked = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", "credit.commitment"),
                    ("mail_message_id.res_id", "=", commitment.id),
                    ("field_id.name", "=", "state"),
                ]
            )
        )
        label = dict(self.Commitment._fields["state"]._description_selection(self.env))
        self.assertIn(label["fulfilled"], tracked.mapped("new_value_char"))
        self.assertEqual(commitment.score, 100.0)
        self.assertEqual(commitment.ledger_line_id.points, 5)


@tagged("post_install", "-at_install")
class TestCommitmentGridWorker(CreditCase):
    """A grid worker of another community sees nothing of this one's commitments."""

    def test_other_grid_worker(self):
        template = self.env["credit.commitment.template"].create(
            {
                "name": "Resident commitment",
                "role_id": self.env.ref("community_credit.role_resident").id,
                "text": "<p>x</p>",
                "obligation_ids": [
                    Command.create({"name": "Points", "kind": "points", "target": 1})
                ],
            }
        )
        with freeze_time(DAY):
            commitment = self.env["credit.commitment"].create(
                {"template_id": template.id, "partner_id": self.res_a1.id}
            )
            commitment.action_sign()
        other = new_test_user(self.env, "tc_grid_nd", groups=GRID)
        other.credit_place_ids = self.community_nd
        self.assertFalse(self.env["credit.commitment"].with_user(other).search([]))
        self.assertEqual(
            self.env["credit.commitment"].with_user(self.user_grid).search([]), commitment
        )
        with mute_logger("odoo.models"), self.assertRaises(AccessError):
            commitment.line_ids.with_user(other).action_check_met()
