import re
from datetime import date, datetime, time, timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import api, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import get_public_method
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import DAY, CreditCase, age_notices

ORGANISER = "base.group_user,event.group_event_registration_desk"
TODAY = DAY + timedelta(days=10)  # 2025-03-22
DEADLINE = date(2025, 6, 10)  # DAY + 90 days: 19 left in March, 30 April, 31 May, 10 June


class RepairCase(CreditCase):
    """The test community lets a deduction be earned back by 4 hours of volunteer
    service within 90 days; one grave rule cannot be repaired."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.community.write({"repair_enabled": True, "repair_hours": 4, "repair_days": 90})
        cls.rule_grave = cls.env["credit.rule"].create(
            {
                "code": "T06",
                "name": "Violence",
                "category_id": cls.category.id,
                "points": -20,
                "repairable": False,
            }
        )
        cls.organiser = new_test_user(cls.env, "t_organiser_r", groups=ORGANISER)
        cls.Repair = cls.env["credit.repair"]

    @classmethod
    def make_event(cls, name, day, hours):
        begin = datetime.combine(day, time(1, 0))
        return cls.env["event.event"].create(
            {
                "name": name,
                "date_begin": begin,
                "date_end": begin + timedelta(hours=hours),
                "credit_rule_id": cls.rule_clean.id,  # +2 points per attendance
            }
        )

    def attend(self, partner, event):
        registration = (
            self.env["event.registration"]
            .with_user(self.organiser)
            .create({"event_id": event.id, "partner_id": partner.id})
        )
        registration.action_set_done()
        return registration

    @classmethod
    def deduct(cls, partner, key, rule=None, day=DAY):
        return cls.post(partner, rule or cls.rule_fight, key, day=day)

    def line_count(self, partner):
        return self.Ledger.search_count([("partner_id", "=", partner.id)])


@tagged("post_install", "-at_install")
class TestCreditRepair(RepairCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.event_before = cls.make_event("Before the fight", DAY - timedelta(days=1), 3)
        cls.event_1 = cls.make_event("Library shelves", DAY + timedelta(days=2), 2.5)
        cls.event_2 = cls.make_event("Park clean-up", DAY + timedelta(days=5), 2)

    def setUp(self):
        super().setUp()
        frozen = freeze_time(TODAY)
        frozen.start()
        self.addCleanup(frozen.stop)

    def test_resident_asks_to_earn_back_their_deduction(self):
        line = self.deduct(self.res_a1, "r-ask")
        repair = self.Repair.with_user(self.user_resident)._request_repair(line.id)
        self.assertEqual(repair.state, "open")
        self.assertEqual(repair.partner_id, self.res_a1)
        self.assertEqual(repair.rule_id, self.rule_fight)
        self.assertEqual(repair.points, 10)
        self.assertEqual(repair.hours_required, 4.0)
        self.assertEqual(repair.deadline, DEADLINE)
        self.assertEqual(repair.hours_done, 0.0)
        self.assertEqual(repair.requested_by_id, self.user_resident)
        self.assertEqual(line.repair_state, "open")
        self.assertEqual(self.balance(self.res_a1), -10, "asking restores nothing yet")
        # the grid worker of estate A may ask for a resident of estate A
        line_a2 = self.deduct(self.res_a2, "r-ask-a2")
        line_a2.with_user(self.user_grid).action_request_repair()  # the Earn Back button
        self.assertEqual(line_a2.repair_ids.requested_by_id, self.user_grid)
        self.assertEqual(line_a2.repair_ids.deadline, DEADLINE)

    def test_refusals(self):
        line = self.deduct(self.res_a1, "r-ref")
        line_b = self.deduct(self.res_b1, "r-ref-b")
        with self.assertRaises(AccessError):
            self.Repair.with_user(self.user_resident_b)._request_repair(line.id)
        with self.assertRaises(AccessError):
            self.Repair.with_user(self.user_resident)._request_repair(line_b.id)
        with self.assertRaises(AccessError):  # estate B is not the grid worker's
            self.Repair.with_user(self.user_grid)._request_repair(line_b.id)
        with self.assertRaises(AccessError):
            self.Repair.with_user(self.user_finance)._request_repair(line.id)
        with self.assertRaises(AccessError):
            self.Repair.with_user(self.user_resident)._request_repair(999999999)
        grave = self.deduct(self.res_a1, "r-grave", rule=self.rule_grave)
        with self.assertRaisesRegex(UserError, "cannot be earned back"):
            self.Repair.with_user(self.user_resident)._request_repair(grave.id)
        award = self.post(self.res_a1, self.rule_clean, "r-award")
        with self.assertRaisesRegex(UserError, "Only deductions"):
            self.Repair.with_user(self.user_resident)._request_repair(award.id)
        reversed_line = self.deduct(self.res_a1, "r-reversed")
        reversed_line.with_user(self.user_manager)._reverse("Recorded by mistake")
        with self.assertRaisesRegex(UserError, "already been reversed"):
            self.Repair.with_user(self.user_resident)._request_repair(reversed_line.id)
        self.community.repair_enabled = False
        with self.assertRaisesRegex(UserError, "does not offer credit repair"):
            self.Repair.with_user(self.user_resident)._request_repair(line.id)
        self.community.repair_enabled = True
        self.Repair.with_user(self.user_resident)._request_repair(line.id)
        with self.assertRaisesRegex(UserError, "already asked"):
            self.Repair.with_user(self.user_resident)._request_repair(line.id)
        # the unique index holds even past the check
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.Repair.sudo().create(
                {
                    "partner_id": self.res_a1.id,
                    "ledger_line_id": line.id,
                    "deduction_date": DAY,
                    "deadline": DEADLINE,
                    "company_id": line.company_id.id,
                }
            )
        self.assertEqual(self.Repair.sudo().search_count([("partner_id", "=", self.res_b1.id)]), 0)

    def test_deadline_both_sides(self):
        on_time = self.deduct(self.res_a1, "r-on-time")
        late = self.deduct(self.res_a2, "r-late")
        with freeze_time(DEADLINE):
            repair = self.Repair.with_user(self.user_resident)._request_repair(on_time.id)
            self.assertEqual(repair.state, "open")
        with freeze_time(DEADLINE + timedelta(days=1)):
            with self.assertRaisesRegex(UserError, "ended on 2025-06-10"):
                self.Repair.with_user(self.user_grid)._request_repair(late.id)

    def test_service_hours_earn_the_deduction_back_once(self):
        self.attend(self.res_a1, self.event_before)  # 3 h, the day before: does not count
        line = self.deduct(self.res_a1, "r-done")
        self.assertEqual(self.balance(self.res_a1), 2 - 10)
        repair = self.Repair.with_user(self.user_resident)._request_repair(line.id)
        self.assertEqual(repair.hours_done, 0.0)
        self.attend(self.res_a1, self.event_1)  # 2.5 h
        repair.invalidate_recordset()
        self.assertEqual(repair.hours_done, 2.5)
        self.assertEqual(repair.state, "open")
        self.attend(self.res_a1, self.event_2)  # 2 h: 4.5 >= 4
        repair.invalidate_recordset()
        self.assertEqual(repair.state, "repaired")
        self.assertEqual(repair.with_user(self.user_resident).hours_done, 4.0)
        reversal = repair.reversal_line_id
        self.assertEqual(reversal.points, 10)
        self.assertEqual(reversal.origin, "reversal")
        self.assertEqual(reversal.reversal_of_id, line)
        self.assertEqual(reversal.description, "Credit repair: 4 h of volunteer service")
        # -10 deduction, three attendances at +2, +10 restored
        self.assertEqual(self.balance(self.res_a1), -10 + 2 + 2 + 2 + 10)
        self.assertEqual(self.ledger_sum(self.res_a1), 6)
        # the deduction is still in the history, marked repaired
        line.invalidate_recordset()
        self.assertTrue(line.exists())
        self.assertEqual(line.points, -10)
        self.assertEqual(line.state, "reversed")
        self.assertEqual(line.with_user(self.user_resident).repair_state, "repaired")
        found = self.Ledger.with_user(self.user_manager).search(
            [("partner_id", "=", self.res_a1.id), ("repair_state", "=", "repaired")]
        )
        self.assertEqual(found, line)
        not_repaired = self.Ledger.with_user(self.user_manager).search(
            [("partner_id", "=", self.res_a1.id), ("repair_state", "=", False)]
        )
        self.assertEqual(len(not_repaired), 4, "three attendances and the reversal")
        # a re-run posts nothing: the cron, the check, and the reversal's own key
        count = self.line_count(self.res_a1)
        self.Repair._cron_repairs()
        repair._check_done()
        again = self.Ledger.sudo()._post(
            [
                {
                    "partner_id": self.res_a1.id,
                    "rule_id": self.rule_fight.id,
                    "points": 10,
                    "origin": "reversal",
                    "reversal_of_id": line.id,
                    "description": "again",
                    "idempotency_key": f"reversal:{line.id}",
                }
            ],
            check_rights=False,
        )
        self.assertEqual(again, reversal)
        self.assertEqual(self.line_count(self.res_a1), count)
        self.assertEqual(self.balance(self.res_a1), 6)

    def test_one_service_earns_back_one_deduction(self):
        first = self.deduct(self.res_a1, "r-first")
        second = self.deduct(self.res_a1, "r-second", day=DAY + timedelta(days=1))
        repair_1 = self.Repair.with_user(self.user_resident)._request_repair(first.id)
        repair_2 = self.Repair.with_user(self.user_resident)._request_repair(second.id)
        self.attend(self.res_a1, self.event_1)
        self.attend(self.res_a1, self.event_2)  # 4.5 h in all
        (repair_1 | repair_2).invalidate_recordset()
        self.assertEqual(repair_1.state, "repaired")
        self.assertEqual(repair_2.state, "open")
        self.assertEqual(repair_2.hours_done, 0.5)
        self.assertEqual(self.balance(self.res_a1), -20 + 2 + 2 + 10)

    def test_hours_done_before_asking_count(self):
        line = self.deduct(self.res_a1, "r-early")
        self.attend(self.res_a1, self.event_1)
        self.attend(self.res_a1, self.event_2)
        repair = self.Repair.with_user(self.user_resident)._request_repair(line.id)
        self.assertEqual(repair.state, "repaired")
        self.assertEqual(self.balance(self.res_a1), -10 + 4 + 10)

    def test_open_repair_expires_after_the_deadline(self):
        line = self.deduct(self.res_a1, "r-expire")
        repair = self.Repair.with_user(self.user_resident)._request_repair(line.id)
        with freeze_time(DEADLINE):
            self.Repair._cron_repairs()
            self.assertEqual(repair.state, "open")
        with freeze_time(DEADLINE + timedelta(days=1)):
            self.Repair._cron_repairs()
            self.assertEqual(repair.state, "expired")
            self.assertEqual(line.repair_state, "expired")
            self.assertEqual(line.state, "posted")
        self.assertEqual(self.balance(self.res_a1), -10)

    def test_deduction_reversed_another_way_cancels_the_repair(self):
        line = self.deduct(self.res_a1, "r-cancel")
        repair = self.Repair.with_user(self.user_resident)._request_repair(line.id)
        line.with_user(self.user_manager)._reverse("Objection upheld")
        self.Repair._cron_repairs()
        self.assertEqual(repair.state, "cancelled")
        self.assertFalse(repair.reversal_line_id)
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_repair_access(self):
        line = self.deduct(self.res_a1, "r-access")
        repair = self.Repair.with_user(self.user_resident)._request_repair(line.id)
        self.assertEqual(repair.with_user(self.user_resident).points, 10)
        with self.assertRaises(AccessError):
            repair.with_user(self.user_resident_b).read(["points"])
        with self.assertRaises(AccessError):
            repair.with_user(self.user_resident).write({"hours_required": 0.5})
        with self.assertRaises(AccessError):
            repair.with_user(self.user_grid).action_cancel()
        with self.assertRaises(AccessError):
            self.Repair.with_user(self.user_grid).create(
                {
                    "partner_id": self.res_a1.id,
                    "ledger_line_id": line.id,
                    "deduction_date": DAY,
                    "deadline": DEADLINE,
                    "company_id": line.company_id.id,
                }
            )
        with self.assertRaises(UserError):
            repair.sudo().unlink()
        repair.with_user(self.user_manager).action_cancel()
        self.assertEqual(repair.state, "cancelled")

    def test_council_cannot_write_a_repair_by_hand(self):
        """The council may write repairs (access rights) but not mark one
        repaired, lower its hours or link a reversal over RPC, whatever the
        context: the hours served decide."""
        line = self.deduct(self.res_a1, "r-forged")
        repair = self.Repair.with_user(self.user_resident)._request_repair(line.id)
        before = repair.read(["state", "hours_required", "reversal_line_id", "deadline"])
        Repairs = self.Repair.with_user(self.user_manager)
        get_public_method(Repairs, "write")
        for vals in (
            {"state": "repaired"},
            {"hours_required": 0.5},
            {"reversal_line_id": line.id},
            {"deadline": date(2030, 1, 1)},
        ):
            with self.assertRaisesRegex(AccessError, "change only through the workflow"):
                api.call_kw(
                    Repairs,
                    "write",
                    [repair.ids, vals],
                    {"context": {"credit_posting": True, "credit_claim_workflow": True}},
                )
        repair.invalidate_recordset()
        self.assertEqual(
            repair.read(["state", "hours_required", "reversal_line_id", "deadline"]), before
        )
        self.assertEqual(self.balance(self.res_a1), -10)
        # asking is the deduction's button (or the portal's), never an RPC method
        with self.assertRaisesRegex(AccessError, "cannot be called remotely"):
            get_public_method(self.Repair.with_user(self.user_resident), "_request_repair")


@tagged("post_install", "-at_install")
class TestBoardPrivacy(CreditCase):
    """Black boards leave the residents' pages after the community's days, are
    always masked unless the community unmasks them, and who viewed is logged."""

    PUBLISHED = date(2025, 4, 5)
    LAST_DAY = date(2025, 10, 2)  # 180 days: 25 + 31 + 30 + 31 + 31 + 30 + 2

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.community.write({"board_black": True, "board_mask_names": False})
        for partner in (cls.res_a1, cls.res_a2):
            cls.post(partner, cls.rule_fight, f"bp-{partner.id}")
            cls.post(partner, cls.rule_clean, f"bp-clean-{partner.id}")
        # black boards list final deductions: notices sent (李四 has no login: the
        # grid worker hands hers over in person) and the appeal window over
        notices = cls.env["credit.notice"].search(
            [("partner_id", "in", (cls.res_a1 | cls.res_a2).ids)]
        )
        notices.filtered(lambda n: n.state == "failed").with_user(
            cls.user_grid
        ).action_record_in_person()
        age_notices(cls.env, notices, 30)
        Board = cls.env["credit.board"].with_user(cls.user_manager)
        cls.black = Board.create({"place_id": cls.community.id, "kind": "black", "date_from": DAY})
        cls.red = Board.create({"place_id": cls.community.id, "kind": "red", "date_from": DAY})
        (cls.black | cls.red).action_generate()
        with freeze_time(cls.PUBLISHED):
            (cls.black | cls.red).action_publish()

    def test_black_boards_are_masked_unless_the_community_unmasks_them(self):
        self.assertTrue(self.black.mask_names)
        self.assertEqual(sorted(self.black.line_ids.mapped("name_shown")), sorted(["张*", "李*"]))
        self.assertFalse(self.red.mask_names, "the community shows full names on red boards")
        self.assertIn("张三", self.red.line_ids.mapped("name_shown"))
        Board = self.env["credit.board"].with_user(self.user_manager)
        with self.assertRaisesRegex(ValidationError, "张\\*三"):
            Board.create(
                {
                    "place_id": self.community.id,
                    "kind": "black",
                    "date_from": DAY,
                    "mask_names": False,
                }
            )
        self.community.board_black_unmask = True
        unmasked = Board.create({"place_id": self.community.id, "kind": "black", "date_from": DAY})
        unmasked.action_generate()
        self.assertFalse(unmasked.mask_names)
        self.assertIn("张三", unmasked.line_ids.mapped("name_shown"))
        # the community changes its mind: the portal masks the board again
        self.community.board_black_unmask = False
        line = unmasked.line_ids.filtered(lambda ln: ln.partner_id == self.res_a1)
        self.assertEqual(line._portal_name(), "张*")

    def test_black_board_leaves_the_portal_after_its_days(self):
        self.assertEqual(self.black.public_until, self.LAST_DAY)
        self.assertFalse(self.red.public_until, "red boards do not expire")
        Board = self.env["credit.board"].with_user(self.user_resident)
        with freeze_time(self.LAST_DAY):
            self.assertEqual(Board._portal_boards(), self.black | self.red)
            self.env["credit.board"]._cron_expire_boards()
            self.assertEqual(self.black.state, "published")
        with freeze_time(self.LAST_DAY + timedelta(days=1)):
            # hidden on the day after, even before the daily action has run
            self.assertEqual(Board._portal_boards(), self.red)
            self.env["credit.board"]._cron_expire_boards()
        self.assertEqual(self.black.state, "expired")
        self.assertEqual(Board.search([]), self.red)
        with self.assertRaises(AccessError):
            self.black.with_user(self.user_resident).read(["name"])
        # the council keeps it
        council = self.black.with_user(self.user_manager)
        self.assertEqual(council.state, "expired")
        self.assertEqual(len(council.line_ids), 2)

    def test_no_expiry_when_the_community_says_never(self):
        self.community.board_black_expiry_days = 0
        board = (
            self.env["credit.board"]
            .with_user(self.user_manager)
            .create({"place_id": self.community.id, "kind": "black", "date_from": DAY})
        )
        board.action_generate()
        board.action_publish()
        self.assertFalse(board.public_until)

    def test_view_log_is_for_the_council_only(self):
        View = self.env["credit.board.view"]
        rows = View.with_user(self.user_resident)._log(self.black | self.red, "portal", "10.0.0.7")
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows.user_id, self.user_resident)
        self.assertEqual(rows.partner_id, self.res_a1)
        self.assertEqual(set(rows.mapped("ip")), {"10.0.0.7"})
        for user in (self.user_resident, self.user_grid, self.user_finance):
            with self.assertRaises(AccessError):
                View.with_user(user).search([])
        council = View.with_user(self.user_manager)
        self.assertEqual(council.search([("board_id", "=", self.black.id)]), rows[0])
        self.assertEqual(self.black.with_user(self.user_manager).view_count, 1)
        with self.assertRaises(AccessError):
            rows.with_user(self.user_manager).write({"ip": "1.2.3.4"})
        with self.assertRaises(AccessError):
            rows.with_user(self.user_manager).unlink()
        with self.assertRaises(AccessError):
            council.create({"board_id": self.black.id, "user_id": 1, "channel": "backend"})
        with self.assertRaises(UserError):
            rows.sudo().unlink()
        with self.assertRaises(AccessError):
            self.black.with_user(self.user_grid).action_view_log()
        # exporting a black board is logged too
        self.black.with_user(self.user_manager).action_export_xlsx()
        exported = council.search([("channel", "=", "backend")])
        self.assertEqual(exported.board_id, self.black)
        self.assertEqual(exported.user_id, self.user_manager)


@tagged("post_install", "-at_install")
class TestRepairPrivacyPortal(RepairCase, HttpCase):
    """The resident's phone: earn a deduction back, see it repaired; the boards
    page masks black boards and logs who saw which board."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.today()
        cls.line = cls.deduct(cls.res_a1, "rp-a1", day=cls.today)
        cls.line_b = cls.deduct(cls.res_b1, "rp-b1", day=cls.today)

    def url_open(self, *args, **kwargs):
        response = super().url_open(*args, **kwargs)
        self.env.invalidate_all()  # the request changed records behind this test's cache
        return response

    def csrf(self, url="/my/credit"):
        page = self.url_open(url).text
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def test_resident_earns_back_a_deduction_on_the_portal(self):
        self.authenticate("t_resident", "t_resident")
        deadline = self.today + timedelta(days=90)
        page = self.url_open("/my/credit").text
        self.assertIn(f"Earn it back (4 hours of service by {deadline})", page)
        self.assertIn(f'action="/my/credit/repair/{self.line.id}"', page)
        self.assertNotIn(f"/my/credit/repair/{self.line_b.id}", page)
        # another resident's line: refused, nothing created
        page = self.url_open(
            f"/my/credit/repair/{self.line_b.id}", data={"csrf_token": self.csrf()}
        ).text
        self.assertIn("You can only ask to earn back your own deductions.", page)
        self.assertFalse(self.Repair.sudo().search([("ledger_line_id", "=", self.line_b.id)]))
        page = self.url_open(
            f"/my/credit/repair/{self.line.id}", data={"csrf_token": self.csrf()}
        ).text
        self.assertIn("Do 4 hours of volunteer service", page)
        self.assertIn("Hours of volunteer service</span>:", page)
        self.assertIn("0 / 4", page)
        self.assertIn("being earned back", page)
        repair = self.Repair.sudo().search([("ledger_line_id", "=", self.line.id)])
        self.assertEqual(repair.state, "open")
        self.assertNotIn("Earn it back", page)
        # four hours of service later
        self.attend(self.res_a1, self.make_event("Reading to elders", self.today, 4))
        self.assertEqual(repair.state, "repaired")
        page = self.url_open("/my/credit").text
        self.assertIn("o_credit_repaired", page)
        self.assertIn("Repaired", page)
        self.assertIn("Credit repair: 4 h of volunteer service", page)
        self.assertIn("-10", page, "the deduction stays in the history")
        self.assertIn("+10", page)
        passbook = self.url_open("/my/credit/passbook?report_type=html").content.decode()
        self.assertIn("(repaired)", passbook)

    def test_boards_page_masks_black_boards_and_logs_each_board_shown(self):
        self.community.write({"board_black": True, "board_mask_names": False})
        self.deduct(self.res_a2, "rp-a2", day=self.today)
        # black boards list final deductions: every notice sent (handed over in
        # person to those without a login) and its appeal window over
        notices = self.env["credit.notice"].search(
            [("partner_id", "in", (self.res_a1 | self.res_a2 | self.res_b1).ids)]
        )
        notices.filtered(lambda n: n.state == "failed").with_user(
            self.user_manager
        ).action_record_in_person()
        age_notices(self.env, notices, 30)
        self.post(self.res_a1, self.rule_clean, "rp-clean", day=self.today)
        Board = self.env["credit.board"].with_user(self.user_manager)
        boards = Board.create(
            [
                {"place_id": self.community.id, "kind": "black", "date_from": self.today},
                {"place_id": self.estate_a.id, "kind": "red", "date_from": self.today},
                {"place_id": self.estate_b.id, "kind": "black", "date_from": self.today},
            ]
        )
        boards.action_generate()
        boards.action_publish()
        self.authenticate("t_resident", "t_resident")
        page = self.url_open("/my/credit/boards").text
        self.assertIn("李*", page)
        self.assertNotIn("李四", page, "black boards are masked on the portal")
        log = self.env["credit.board.view"].sudo().search([("user_id", "=", self.user_resident.id)])
        # the community's black board and estate A's red board; not estate B's
        self.assertEqual(len(log), 2)
        self.assertEqual(log.board_id, boards[0] | boards[1])
        self.assertEqual(log.partner_id, self.res_a1)
        self.assertEqual(set(log.mapped("channel")), {"portal"})
        self.assertEqual(set(log.mapped("ip")), {"127.0.0.1"})
        self.assertEqual(len(set(log.mapped("viewed_on"))), 1, "one visit, one time")
