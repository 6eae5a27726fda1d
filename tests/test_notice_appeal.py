from datetime import date, timedelta

from psycopg2.errors import UniqueViolation

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..models.credit_notice import SEND_AT_ONCE
from .common import DAY, MANAGER, age_notices
from .common_claim import TODAY, ClaimCase
from .common_portal import PNG, PortalCase

# the notices of these tests are sent on TODAY (2025-03-13): 15 days to appeal
DEADLINE = date(2025, 3, 28)


@tagged("post_install", "-at_install")
class TestNoticeAppeal(ClaimCase):
    """Every deduction and every rejected claim is told to its subject, who may
    appeal within the window; a council member with no part in the case decides.

    Points by hand: 张三 (res_a1) earns +3 and +2 on DAY (5), then a -10
    deduction takes him to -5; an upheld appeal reverses it: back to 5."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Notice = cls.env["credit.notice"]
        cls.Appeal = cls.env["credit.appeal"]
        # council members close to 张三's case
        cls.council_kin = new_test_user(cls.env, "t_council_kin", groups=MANAGER)
        cls.council_kin.partner_id.credit_household_id = cls.household
        cls.council_neighbour = new_test_user(cls.env, "t_council_neighbour", groups=MANAGER)
        cls.council_neighbour.partner_id.credit_place_id = cls.estate_a
        cls.council_far = new_test_user(cls.env, "t_council_far", groups=MANAGER)
        cls.council_far.partner_id.credit_place_id = cls.building_b1
        cls.user_manager3 = new_test_user(cls.env, "t_manager3", groups=MANAGER)
        # a council member who is also a resident of estate B, with a deduction of his own
        cls.res_b2 = cls.env["res.partner"].create(
            {
                "name": "陈七",
                "credit_role_ids": [Command.set(cls.env.ref("community_credit.role_resident").ids)],
                "credit_place_id": cls.building_b1.id,
            }
        )
        cls.council_self = new_test_user(
            cls.env, "t_council_self", groups=MANAGER, partner_id=cls.res_b2.id, name="陈七"
        )

    def deduct(self, partner=None, user=None, key="n-fight", reason="Fought in the stairwell"):
        line = self.post(
            partner or self.res_a1,
            self.rule_fight,
            key,
            user=user or self.user_grid,
            description=reason,
        )
        return line, self.Notice.search([("ledger_line_id", "=", line.id)])

    def appeal(self, notice, reason="I was not there that day", user=None):
        return notice.with_user(user or self.user_resident)._appeal(reason)

    def decide(self, appeal, decision, user=None, reason="Two neighbours confirmed it."):
        appeal = appeal.with_user(user or self.user_manager)
        appeal.decision_reason = reason
        return appeal.action_uphold() if decision == "upheld" else appeal.action_dismiss()

    # ----------------------------------------------------------- notices
    def test_deduction_by_grid_worker_sends_a_notice(self):
        line, notice = self.deduct()
        self.assertEqual(len(notice), 1)
        self.assertEqual(
            (notice.kind, notice.partner_id, notice.rule_id, notice.points, notice.reason),
            ("deduction", self.res_a1, self.rule_fight, -10, "Fought in the stairwell"),
        )
        self.assertEqual((notice.state, notice.channel), ("sent", "portal"))
        self.assertEqual(notice.sent_date.date(), TODAY)
        self.assertEqual(notice.appeal_deadline, DEADLINE)
        message = self.env["mail.message"].search(
            [("model", "=", "credit.notice"), ("res_id", "=", notice.id)]
        )
        self.assertEqual(len(message), 1)
        self.assertEqual(message.partner_ids, self.res_a1, "the subject is the recipient")
        self.assertIn("Fought in the stairwell", message.body)
        self.assertIn("Fighting", message.body)
        self.assertIn("2025-03-28", message.body, "until when to appeal")
        self.assertFalse(
            self.env["mail.mail"].search([("mail_message_id", "=", message.id)]),
            "a portal notice is not e-mailed",
        )
        # the subject reads it, with the reason and how to appeal
        mine = self.Notice.with_user(self.user_resident).search([])
        self.assertEqual(mine, notice)
        self.assertIn("2025-03-28", mine.appeal_text)
        self.assertEqual((line.notice_state, line.deduction_final), ("appeal", False))
        # awards, and deductions of another origin, are not noticed
        self.post(self.res_a1, self.rule_clean, "n-clean")
        self.assertEqual(self.Notice.search_count([("partner_id", "=", self.res_a1.id)]), 1)

    def test_one_notice_per_line_of_a_batch(self):
        lines = self.Ledger.with_user(self.user_manager)._post(
            [
                {"partner_id": p.id, "rule_id": self.rule_fight.id, "date": DAY,
                 "origin": "manual", "idempotency_key": f"batch-{p.id}"}
                for p in (self.res_a1, self.res_a2, self.res_b1)
            ]
        )  # fmt: skip
        notices = self.Notice.search([("ledger_line_id", "in", lines.ids)])
        self.assertEqual(notices.partner_id, self.res_a1 | self.res_a2 | self.res_b1)
        self.assertEqual(set(notices.mapped("state")), {"sent"})

    def test_large_batch_is_sent_by_the_sending_action(self):
        """The notices of a batch larger than SEND_AT_ONCE wait for the sending
        action, which is woken at once and sends them in chunks; until then their
        deductions are not final."""
        count = SEND_AT_ONCE + 1
        cron = self.env.ref("community_credit.ir_cron_credit_notice_send")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        lines = self.Ledger.with_user(self.user_manager)._post(
            [
                {"partner_id": self.res_b1.id, "rule_id": self.rule_fight.id, "date": DAY,
                 "origin": "manual", "idempotency_key": f"big-{n}"}
                for n in range(count)
            ]
        )  # fmt: skip
        notices = self.Notice.search([("ledger_line_id", "in", lines.ids)])
        self.assertEqual(len(notices), count)
        self.assertEqual(set(notices.mapped("state")), {"pending"})
        self.assertFalse(any(lines.mapped("deduction_final")))
        self.assertEqual(set(lines.mapped("notice_state")), {"pending"})
        self.assertEqual(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1
        )
        # waiting notices go before failed ones (the demo data has some of those)
        for chunk in (200, 200, 101):
            sent = self.Notice._cron_send_pending(limit=200)
            self.assertEqual(len(sent & notices), chunk)
        notices.invalidate_recordset()
        self.assertEqual(set(notices.mapped("state")), {"sent"})
        self.assertEqual(
            self.env["mail.message"].search_count(
                [("model", "=", "credit.notice"), ("res_id", "in", notices.ids)]
            ),
            count,
            "one message per notice",
        )

    def test_email_channel_goes_through_the_mail_queue(self):
        self.res_a1.write({"credit_notice_channel": "email", "email": "zhangsan@example.com"})
        _line, notice = self.deduct()
        self.assertEqual((notice.state, notice.channel), ("sent", "email"))
        message = self.env["mail.message"].search(
            [("model", "=", "credit.notice"), ("res_id", "=", notice.id)]
        )
        mail = self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.recipient_ids, self.res_a1)
        self.assertEqual(mail.state, "outgoing")
        if "sms.sms" not in self.env:
            # SMS only where Odoo's SMS app is installed: e-mail instead
            self.res_a2.write({"credit_notice_channel": "sms", "email": "lisi@example.com"})
            _line, other = self.deduct(self.res_a2, key="n-fight-a2")
            self.assertEqual(other.channel, "email")

    def test_not_final_until_sent_and_window_over(self):
        # 刘八 has no login, no e-mail, no phone: the notice cannot go out
        partner = self.env["res.partner"].create(
            {
                "name": "刘八",
                "credit_role_ids": [
                    Command.set(self.env.ref("community_credit.role_resident").ids)
                ],
                "credit_place_id": self.building_a1.id,
            }
        )
        line, notice = self.deduct(partner, key="n-fight-liu")
        self.assertEqual(notice.state, "failed")
        self.assertIn("hand the notice over in person", notice.failure_reason)
        self.assertEqual((line.notice_state, line.deduction_final), ("failed", False))
        # the daily action tries again once an e-mail is known
        partner.email = "liuba@example.com"
        self.Notice._cron_send_pending()
        self.assertEqual((notice.state, notice.channel), ("sent", "email"))
        line.invalidate_recordset()
        self.assertFalse(line.deduction_final, "sent, but the window is open")
        self.assertNotIn(line, self.Ledger.search([("deduction_final", "=", True)]))
        age_notices(self.env, notice, 15)  # deadline 2025-03-13: today, still open
        self.assertFalse(line.deduction_final)
        age_notices(self.env, notice, 1)  # deadline 2025-03-12: over
        self.assertTrue(line.deduction_final)
        self.assertEqual(line.notice_state, "final")
        self.assertIn(line, self.Ledger.search([("deduction_final", "=", True)]))
        self.assertNotIn(line, self.Ledger.search([("deduction_final", "=", False)]))

    def test_handed_over_in_person(self):
        partner = self.env["res.partner"].create(
            {
                "name": "刘八",
                "credit_role_ids": [
                    Command.set(self.env.ref("community_credit.role_resident").ids)
                ],
                "credit_place_id": self.building_b1.id,
            }
        )
        _line, notice = self.deduct(partner, user=self.user_manager, key="n-liu")
        self.assertEqual(notice.state, "failed")
        # estate B is not the grid worker's
        with self.assertRaises(AccessError):
            notice.with_user(self.user_grid).action_record_in_person()
        with self.assertRaises(AccessError):
            notice.with_user(self.user_resident).action_send()
        notice.with_user(self.user_manager).action_record_in_person()
        self.assertEqual((notice.state, notice.channel), ("sent", "in_person"))
        self.assertEqual(notice.appeal_deadline, DEADLINE)

    def test_rejected_claim_notice(self):
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_clean)
        claim.with_user(self.user_reviewer).action_reject("No photo of the stairwell")
        notice = self.Notice.search([("claim_id", "=", claim.id)])
        self.assertEqual(
            (notice.kind, notice.partner_id, notice.rule_id, notice.points, notice.reason),
            ("rejection", self.res_a1, self.rule_clean, 2, "No photo of the stairwell"),
        )
        self.assertEqual(notice.state, "sent")
        message = self.env["mail.message"].search(
            [("model", "=", "credit.notice"), ("res_id", "=", notice.id)]
        )
        self.assertEqual(message.partner_ids, self.res_a1)
        self.assertIn("not accepted", message.body)
        # the subject is told once (the notice); the grid worker who entered it, on the claim
        told = self.env["mail.message"].search(
            [("model", "=", "credit.claim"), ("res_id", "=", claim.id),
             ("body", "ilike", "was rejected")]
        )  # fmt: skip
        self.assertEqual(told.partner_ids, self.user_grid.partner_id)

    def test_self_declared_rejection_told_once(self):
        claim = self.submitted(self.user_resident, self.res_a1, self.rule_clean)
        claim.with_user(self.user_reviewer).action_reject("Not on the roster")
        notice = self.Notice.search([("claim_id", "=", claim.id)])
        self.assertEqual((notice.partner_id, notice.state), (self.res_a1, "sent"))
        to_resident = self.env["mail.message"].search(
            [("partner_ids", "in", self.res_a1.ids), ("body", "ilike", "Not on the roster")]
        )
        self.assertEqual(to_resident.mapped("model"), ["credit.notice"])

    # ----------------------------------------------------------- appeals
    def test_appeal_upheld_reverses_the_deduction(self):
        self.post(self.res_a1, self.rule_help, "n-help")
        self.post(self.res_a1, self.rule_clean, "n-clean")
        line, notice = self.deduct(user=self.user_manager2)
        self.assertEqual(self.balance(self.res_a1), 3 + 2 - 10)
        appeal = self.appeal(notice)
        self.assertEqual((appeal.state, appeal.partner_id, appeal.appellant_id),
                         ("open", self.res_a1, self.res_a1))  # fmt: skip
        self.assertEqual(line.notice_state, "appealed")
        # the council secretary is asked to decide
        activity = appeal.sudo().activity_ids
        self.assertEqual(activity.user_id, self.user_manager)
        self.assertEqual(activity.date_deadline, TODAY + timedelta(days=5))
        # one open appeal per notice, in the ORM and in the database
        with self.assertRaisesRegex(UserError, "already appealed"):
            self.appeal(notice, "Again")
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"):
            with self.env.cr.savepoint():
                self.env.cr.execute(
                    "INSERT INTO credit_appeal (notice_id, partner_id, appellant_id, reason, "
                    "state, company_id) VALUES (%s, %s, %s, 'again', 'open', %s)",
                    [notice.id, self.res_a1.id, self.res_a1.id, notice.company_id.id],
                )
        # the resident cannot decide; the council must give a reason
        with self.assertRaises(AccessError):
            appeal.with_user(self.user_resident).action_uphold()
        with self.assertRaisesRegex(UserError, "Write the council's reason"):
            appeal.with_user(self.user_manager).action_uphold()
        self.assertTrue(appeal.with_user(self.user_manager).can_decide)
        self.decide(appeal, "upheld")
        self.assertEqual(appeal.state, "upheld")
        self.assertEqual(appeal.decided_by_id, self.user_manager)
        self.assertEqual(appeal.decided_date.date(), TODAY)
        self.assertFalse(appeal.sudo().activity_ids)
        self.assertEqual(line.state, "reversed")
        self.assertEqual(line.reversal_ids.points, 10)
        self.assertIn("Two neighbours confirmed it.", line.reversal_ids.description)
        self.assertEqual(self.balance(self.res_a1), 3 + 2)
        self.assertEqual(self.ledger_sum(self.res_a1), 5)
        self.assertFalse(line.deduction_final)
        told = self.env["mail.message"].search(
            [("model", "=", "credit.appeal"), ("res_id", "=", appeal.id),
             ("partner_ids", "in", self.res_a1.ids)]
        )  # fmt: skip
        self.assertIn("Two neighbours confirmed it.", told.body)
        # decided once: no second decision
        with self.assertRaises(UserError):
            appeal.with_user(self.user_manager).action_dismiss()

    def test_appeal_dismissed_is_final(self):
        line, notice = self.deduct()
        appeal = self.appeal(notice)
        self.decide(appeal, "dismissed", reason="The video shows the fight.")
        self.assertEqual(appeal.state, "dismissed")
        self.assertEqual(line.state, "posted")
        self.assertTrue(notice.is_final, "final before the window closes")
        self.assertTrue(line.deduction_final)
        self.assertEqual(self.balance(self.res_a1), -10)
        with self.assertRaisesRegex(UserError, "decided on 2025-03-13"):
            self.appeal(notice, "Once more")

    def test_late_appeal_refused(self):
        _line, notice = self.deduct()
        age_notices(self.env, notice, 16)
        with self.assertRaisesRegex(UserError, "ended on 2025-03-12"):
            self.appeal(notice)
        self.assertFalse(notice.appeal_ids)
        with self.assertRaisesRegex(UserError, "Say why"):
            _line, other = self.deduct(self.res_b1, user=self.user_manager, key="n-b1")
            other.with_user(self.user_resident_b)._appeal("  ")

    def test_rejected_claim_appeal_upheld_goes_back_to_review(self):
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_clean)
        claim.with_user(self.user_reviewer).action_reject("No photo")
        notice = self.Notice.search([("claim_id", "=", claim.id)])
        appeal = self.appeal(notice, "The photo is in the group chat")
        # the reviewer of the claim is not in the council; the council decides
        self.decide(appeal, "upheld", reason="The photo exists: review it again.")
        self.assertEqual(claim.state, "review")
        self.assertEqual(claim.deadline, TODAY + timedelta(days=5))
        self.assertFalse(claim.decision_reason)
        self.assertEqual(claim.sudo().activity_ids.user_id, self.user_reviewer)
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(claim.state, "council")

    def test_conflicts_of_interest(self):
        line, notice = self.deduct(user=self.user_manager2)
        appeal = self.appeal(notice)
        for user, message in (
            (self.council_kin, "same household"),
            (self.council_neighbour, "You live in Test City / Test Community / Estate A"),
            (self.user_manager2, "You granted this deduction"),
        ):
            self.assertFalse(appeal.with_user(user).can_decide, user.login)
            with self.assertRaisesRegex(UserError, message):
                appeal.with_user(user).action_uphold()
            with self.assertRaisesRegex(UserError, message):
                appeal.with_user(user).write({"decision_reason": "I decide"})
        self.assertEqual((appeal.state, line.state), ("open", "posted"))
        # a council member from estate B, with no part in it, decides
        self.assertTrue(appeal.with_user(self.council_far).can_decide)
        self.decide(appeal, "dismissed", user=self.council_far)
        self.assertEqual(appeal.decided_by_id, self.council_far)

    def test_conflicts_appellant_and_claim_reviewer(self):
        # 陈七 of the council appeals his own deduction
        _line, own = self.deduct(self.res_b2, user=self.user_manager, key="n-chen")
        appeal = own.with_user(self.council_self)._appeal("Not me")
        with self.assertRaisesRegex(UserError, "You are the appellant"):
            self.decide(appeal, "upheld", user=self.council_self)
        # a deduction posted from a claim: who reviewed it does not decide the appeal
        self.community.claim_publication = False
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_fight)
        claim.with_user(self.user_manager3).action_approve()
        claim.with_user(self.user_manager2).action_approve()
        self.assertEqual(claim.state, "done")
        line = claim.line_ids.ledger_line_id
        notice = self.Notice.search([("ledger_line_id", "=", line.id)])
        self.assertEqual(notice.state, "sent")
        appeal = self.appeal(notice)
        with self.assertRaisesRegex(UserError, "reviewed claim"):
            self.decide(appeal, "upheld", user=self.user_manager3)
        with self.assertRaisesRegex(UserError, "You granted this deduction"):
            self.decide(appeal, "upheld", user=self.user_manager2)
        self.decide(appeal, "upheld", user=self.user_manager)
        self.assertEqual(line.state, "reversed")

    def test_others_cannot_read_or_appeal(self):
        _line, notice = self.deduct()
        other = self.Notice.with_user(self.user_resident_b)
        self.assertFalse(other.search([]))
        with self.assertRaises(AccessError):
            other.browse(notice.id).read(["reason"])
        with self.assertRaises(AccessError):
            other.browse(notice.id)._appeal("I appeal for him")
        self.assertFalse(notice.appeal_ids)
        appeal = self.appeal(notice)
        with self.assertRaises(AccessError):
            self.Appeal.with_user(self.user_resident_b).browse(appeal.id).read(["reason"])
        # a grid worker writes the appeal down for a resident of their place
        _line, a2 = self.deduct(self.res_a2, key="n-a2")
        written = a2.with_user(self.user_grid)._appeal("He asked me to write it down")
        self.assertEqual((written.appellant_id, written.recorded_by_id),
                         (self.res_a2, self.user_grid))  # fmt: skip
        # a notice cannot be changed
        with self.assertRaises(UserError):
            notice.with_user(self.user_manager).write({"reason": "Something else"})

    def test_refusals_around_appeals(self):
        _line, notice = self.deduct()
        resident = self.Appeal.with_user(self.user_resident)
        with self.assertRaisesRegex(AccessError, "change only through the workflow"):
            resident.create({"notice_id": notice.id, "reason": "x", "state": "upheld"})
        appeal = self.appeal(notice)
        # nobody but an unconcerned council member writes the council's reason
        for user in (self.user_resident, self.user_grid):
            with self.assertRaises(AccessError):
                appeal.with_user(user).write({"decision_reason": "Upheld by me"})
        with self.assertRaisesRegex(AccessError, "change only through the workflow"):
            appeal.with_user(self.user_manager).write({"reason": "Another reason"})
        with self.assertRaises(UserError):
            appeal.with_user(self.user_manager).unlink()
        # a grid worker of another estate cannot write an appeal down for 张三
        grid_b = new_test_user(self.env, "t_grid_b", groups="base.group_user,"
                               "community_credit.group_credit_grid_worker")  # fmt: skip
        grid_b.credit_place_ids = self.estate_b
        _line, a2 = self.deduct(self.res_a2, key="n-a2")
        with self.assertRaises(AccessError):
            a2.with_user(grid_b)._appeal("For him")
        self.assertFalse(a2.appeal_ids)
        # a notice not yet sent cannot be appealed
        partner = self.env["res.partner"].create(
            {
                "name": "刘八",
                "credit_role_ids": [
                    Command.set(self.env.ref("community_credit.role_resident").ids)
                ],
                "credit_place_id": self.building_a1.id,
            }
        )
        _line, unsent = self.deduct(partner, key="n-liu")
        with self.assertRaisesRegex(UserError, "not been sent yet"):
            unsent.with_user(self.user_grid)._appeal("He says no")

    def test_black_board_lists_final_deductions_only(self):
        self.community.write({"board_black": True, "board_black_unmask": True})
        self.deduct(self.res_a1, key="n-a1")
        _line, final = self.deduct(self.res_b1, user=self.user_manager, key="n-b1")
        age_notices(self.env, final, 16)
        board = (
            self.env["credit.board"]
            .with_user(self.user_manager)
            .create({"kind": "black", "place_id": self.community.id, "date_from": DAY,
                     "mask_names": False})
        )  # fmt: skip
        board.action_generate()
        self.assertEqual([(ln.name_shown, ln.points) for ln in board.line_ids], [("王五", 10)])


@tagged("post_install", "-at_install")
class TestPortalNotices(PortalCase):
    """The resident reads their notices on the phone, with the evidence, and
    appeals one; another resident reaches none of it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        evidence = cls.env["ir.attachment"].create(
            {"name": "stairwell.png", "raw": PNG, "mimetype": "image/png"}
        )
        cls.line = cls.post(
            cls.res_a1,
            cls.rule_fight,
            "portal-fight",
            day=fields.Date.today(),
            description="Fought in the stairwell",
            attachment_ids=[Command.set(evidence.ids)],
        )
        cls.notice = cls.env["credit.notice"].search([("ledger_line_id", "=", cls.line.id)])
        cls.evidence = evidence

    def appeal_url(self, notice=None):
        return f"/my/credit/notices/{(notice or self.notice).id}/appeal"

    def test_notices_page_and_appeal(self):
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/notices").text
        self.assertIn("Fighting", page)
        self.assertIn("-10", page)
        self.assertIn("Fought in the stairwell", page)
        self.assertIn('href="/my/credit/notices"', page, "the nav has the Notices entry")
        url = f"/my/credit/notices/{self.notice.id}/evidence/{self.evidence.id}"
        self.assertIn(url, page)
        self.assertEqual(self.url_open(url).content, PNG, "the subject reads the evidence")
        token = self.csrf("/my/credit/notices")
        empty = self.url_open(self.appeal_url(), data={"csrf_token": token, "reason": " "})
        self.assertIn("o_credit_error", empty.text)
        self.assertFalse(self.notice.appeal_ids)
        done = self.url_open(
            self.appeal_url(),
            data={"csrf_token": token, "reason": "I was at my daughter's"},
            files=[("photos", ("ticket.png", PNG, "image/png"))],
        )
        self.assertIn("the council will look into your appeal", done.text)
        appeal = self.notice.appeal_ids
        self.assertEqual((appeal.appellant_id, appeal.reason, appeal.state),
                         (self.res_a1, "I was at my daughter's", "open"))  # fmt: skip
        self.assertEqual(appeal.attachment_ids.mapped("name"), ["ticket.png"])
        self.assertIn("o_credit_appeal_state", done.text)
        again = self.url_open(self.appeal_url(), data={"csrf_token": token, "reason": "Again"})
        self.assertIn("already appealed", again.text)
        self.assertEqual(len(self.notice.appeal_ids), 1)

    @mute_logger("odoo.http")
    def test_appeal_needs_csrf_token(self):
        self.authenticate("t_resident", "t_resident")
        response = self.url_open(
            self.appeal_url(), data={"csrf_token": "forged", "reason": "I object"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.notice.appeal_ids)

    def test_other_resident_reaches_nothing(self):
        self.authenticate("t_resident_b", "t_resident_b")
        page = self.url_open("/my/credit/notices").text
        self.assertNotIn("Fought in the stairwell", page)
        url = f"/my/credit/notices/{self.notice.id}/evidence/{self.evidence.id}"
        response = self.url_open(url)
        self.assertTrue(response.url.endswith("/my/credit/notices"))
        self.assertNotEqual(response.content, PNG)
        token = self.csrf("/my/credit/declare")
        refused = self.url_open(self.appeal_url(), data={"csrf_token": token, "reason": "Mine"})
        self.assertIn("not one of yours", refused.text)
        self.assertFalse(self.notice.appeal_ids)

    def test_window_over_shows_no_form(self):
        age_notices(self.env, self.notice, 16)
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/notices").text
        self.assertIn("The time to appeal ended on", page)
        self.assertNotIn(self.appeal_url(), page)
        token = self.csrf("/my/credit/declare")
        late = self.url_open(self.appeal_url(), data={"csrf_token": token, "reason": "Late"})
        self.assertIn("The time to appeal ended on", late.text)
        self.assertIn("o_credit_error", late.text)
        self.assertFalse(self.notice.appeal_ids)

    def test_routes_need_login(self):
        response = self.url_open("/my/credit/notices")
        self.assertIn("/web/login", response.url)
