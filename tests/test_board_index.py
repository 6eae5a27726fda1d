from datetime import date, timedelta

from odoo import api
from odoo.exceptions import AccessError, UserError
from odoo.service.model import get_public_method
from odoo.tests import Form, tagged

from .common import DAY, CreditCase, age_notices, offered


@tagged("post_install", "-at_install")
class TestBoardsAndIndex(CreditCase):
    """Red and black boards, honours, the credit index and the passbook, with
    figures computed by hand from this ledger of March 2025:

    张三 (res_a1, estate A, Zhang household): +2 (03-11), +3, -10 (03-12)
    李四 (res_a2, estate A, Zhang household): +2 (03-12)
    王五 (res_b1, estate B, no household):    +3 (03-05), +3 (03-12)
    赵六 (res_nd, the never-deduct community): +2 (03-12)
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.post(cls.res_a1, cls.rule_clean, "b-a1-clean", day=DAY - timedelta(days=1))
        cls.post(cls.res_a1, cls.rule_help, "b-a1-help")
        cls.post(cls.res_a1, cls.rule_fight, "b-a1-fight")
        cls.post(cls.res_a2, cls.rule_clean, "b-a2-clean")
        cls.post(cls.res_b1, cls.rule_help, "b-b1-help-1", day=DAY - timedelta(days=7))
        cls.post(cls.res_b1, cls.rule_help, "b-b1-help-2")
        cls.post(cls.res_nd, cls.rule_clean, "b-nd-clean")
        cls.Board = cls.env["credit.board"]

    def board(self, place, kind="red", **vals):
        return self.Board.with_user(self.user_manager).create(
            {"kind": kind, "place_id": place.id, "date_from": DAY, **vals}
        )

    # ----------------------------------------------------------------- boards
    def test_red_board_ranks_the_period_s_earners(self):
        board = self.board(self.community, min_points=3)
        self.assertEqual((board.date_from, board.date_to), (date(2025, 3, 1), date(2025, 3, 31)))
        self.assertTrue(board.mask_names, "the community masks names by default")
        board.action_generate()
        rows = [(ln.rank, ln.name_shown, ln.points) for ln in board.line_ids]
        # 李四 earned 2 < 3; the deduction does not lower 张三's red-board points
        self.assertEqual(rows, [(1, "王*", 6), (2, "张*", 5)])
        estate = self.board(self.estate_a, mask_names=False)
        estate.action_generate()
        self.assertEqual(
            [(ln.rank, ln.name_shown, ln.points) for ln in estate.line_ids],
            [(1, "张三", 5), (2, "李四", 2)],
        )
        # equal points share a rank
        self.post(self.res_a2, self.rule_help, "b-a2-help")
        estate.action_generate()
        self.assertEqual([ln.rank for ln in estate.line_ids], [1, 1])
        # another month lists nobody
        april = self.board(self.community, date_from=date(2025, 4, 20))
        april.action_generate()
        self.assertFalse(april.line_ids)
        with self.assertRaises(UserError):
            april.action_publish()

    def test_black_board_only_where_the_community_publishes_it(self):
        with self.assertRaises(UserError), self.env.cr.savepoint():
            self.board(self.community, kind="black")
        self.community.board_black = True
        board = self.board(self.community, kind="black")
        self.assertEqual(board.min_points, 5)
        # only final deductions are listed: the appeal window of the notice is over
        age_notices(self.env, self.env["credit.notice"].search([]), 16)
        board.action_generate()
        self.assertEqual(
            [(ln.name_shown, ln.points) for ln in board.line_ids], [("张*", 10)], "lost 10"
        )
        self.community_nd.board_black = True
        with self.assertRaises(UserError), self.env.cr.savepoint():
            self.board(self.community_nd, kind="black")

    def test_published_boards_are_kept_and_seen_by_their_place_only(self):
        community_board = self.board(self.community)
        community_board.action_generate()
        estate_b_board = self.board(self.estate_b)
        estate_b_board.action_generate()
        draft = self.board(self.estate_a)
        draft.action_generate()
        with self.assertRaises(AccessError):
            self.board(self.estate_a).with_user(self.user_grid).action_generate()
        with self.assertRaises(AccessError), self.env.cr.savepoint():
            self.Board.with_user(self.user_grid).create(
                {"place_id": self.estate_a.id, "date_from": DAY}
            )
        (community_board | estate_b_board).with_user(self.user_manager).action_publish()
        self.assertEqual(community_board.published_by_id, self.user_manager)
        # kept as published
        with self.assertRaises(UserError):
            community_board.with_user(self.user_manager).write({"size": 3})
        with self.assertRaises(UserError):
            community_board.line_ids[0].with_user(self.user_manager).write({"points": 99})
        with self.assertRaises(UserError):
            community_board.with_user(self.user_manager).action_generate()
        with self.assertRaises(UserError):
            community_board.with_user(self.user_manager).unlink()
        # 张三 lives in estate A: the community's board, not estate B's nor the draft
        seen = self.Board.with_user(self.user_resident).search([])
        self.assertEqual(seen, community_board)
        seen_b = self.Board.with_user(self.user_resident_b).search([])
        self.assertEqual(seen_b, community_board | estate_b_board)
        names = self.env["credit.board.line"].with_user(self.user_resident).search([])
        self.assertEqual(names.mapped("name_shown"), ["王*", "张*", "李*"])
        with self.assertRaises(AccessError):
            draft.with_user(self.user_resident).read(["name"])
        # withdrawn: kept on record, out of the residents' sight
        community_board.with_user(self.user_manager).action_withdraw("Wrong month")
        self.assertEqual(community_board.state, "withdrawn")
        self.assertFalse(self.Board.with_user(self.user_resident).search([]))

    def test_honours_nominated_from_the_top_and_decided_by_the_council(self):
        honours = self.board(self.community, kind="honour", title="道德模范", size=2)
        self.assertEqual(honours.period, "year")
        self.assertEqual(honours.date_to, date(2025, 12, 31))
        honours.action_generate()
        nominees = honours.line_ids
        self.assertEqual(nominees.mapped("points"), [6, 5])
        self.assertFalse(any(nominees.mapped("selected")), "the council decides")
        with self.assertRaises(UserError):
            honours.action_publish()
        with self.assertRaises(AccessError):
            nominees[0].with_user(self.user_grid).action_toggle_selected()
        nominees[0].with_user(self.user_manager).action_toggle_selected()
        honours.with_user(self.user_manager).action_publish()
        notice = self.env["mail.message"].search(
            [("model", "=", "credit.board"), ("res_id", "=", honours.id),
             ("partner_ids", "in", self.res_b1.ids)]
        )  # fmt: skip
        self.assertIn("道德模范", notice.body)
        # residents see who was honoured, not who was merely nominated
        seen = self.env["credit.board.line"].with_user(self.user_resident).search([])
        self.assertEqual(seen.mapped("points"), [6])

    # ------------------------------------------------------------------ index
    def test_index_figures_by_hand(self):
        Level = self.env["credit.level"]
        Level.create(
            {"name": "Top", "code": "A+", "min_points": 5, "community_id": self.community.id}
        )
        Level.create(
            {"name": "Rest", "code": "A", "min_points": 0, "community_id": self.community.id}
        )
        # April: 李四 reaches 5 points (the top level) only after March
        self.post(self.res_a2, self.rule_help, "b-a2-april", day=date(2025, 4, 2))
        self.post(self.res_b1, self.rule_help, "b-b1-april", day=date(2025, 4, 2))
        Period = self.env["credit.index.period"].with_user(self.user_manager)
        february = Period.create({"period": "month", "date_from": date(2025, 2, 3),
                                  "city_id": self.city.id})  # fmt: skip
        february.action_compute()
        march = Period.create({"period": "month", "date_from": DAY, "city_id": self.city.id})
        march.action_compute()
        line = march.line_ids.filtered(lambda ln: ln.community_id == self.community)
        self.assertEqual(
            (line.subjects, line.participants, line.households, line.households_participating),
            (3, 3, 1, 1),
        )
        self.assertEqual(
            (line.points_earned, line.points_deducted, line.points_redeemed), (13, 10, 0)
        )
        self.assertEqual((line.subjects_deducted, line.top_level_count), (1, 1))
        self.assertAlmostEqual(line.participation_people, 100)
        self.assertAlmostEqual(line.points_per_subject, 13 / 3, places=2)
        self.assertAlmostEqual(line.share_top_level, 100 / 3, places=2)
        self.assertAlmostEqual(line.deduction_rate, 100 / 3, places=2)
        # weights 3, 2, 1, 2, 1, 1: 100, 100, 86.67 (4.33 of 5), 100, 0 (nothing redeemed), 100
        self.assertAlmostEqual(
            line.index, (300 + 200 + 100 * 13 / 15 + 200 + 0 + 100) / 10, places=1
        )
        scores = {s.indicator_id.code: round(s.score, 1) for s in line.score_ids}
        self.assertEqual(scores["points_per_subject"], 86.7)
        self.assertEqual(scores["redemption_rate"], 0)
        # February: nobody took part; only the objection indicator scores
        self.assertAlmostEqual(line.previous_index, 10)
        self.assertAlmostEqual(line.trend, line.index - 10, places=1)
        city = march.line_ids.filtered("is_city")
        self.assertEqual((city.subjects, city.participants, city.points_earned), (4, 4, 15))
        # finance reads it too; grid workers and residents do not
        self.assertEqual(len(march.with_user(self.user_finance).line_ids), 3)
        with self.assertRaises(AccessError):
            march.with_user(self.user_grid).action_compute()
        with self.assertRaises(AccessError):
            self.env["credit.index.line"].with_user(self.user_resident).search([])
        action = march.with_user(self.user_finance).action_export_xlsx()
        self.assertTrue(action["url"].startswith("/web/content/"))

    def test_index_figures_only_from_the_compute_button(self):
        """Officials choose a period once; its figures, its computing time and
        its lines come from action_compute only, whatever the context."""
        forged = {"credit_posting": True, "credit_board_publishing": True}
        Period = self.env["credit.index.period"].with_user(self.user_finance)
        get_public_method(Period, "create")
        with self.assertRaisesRegex(AccessError, "change only through the workflow"):
            api.call_kw(
                Period,
                "create",
                [{"period": "month", "date_from": str(DAY), "computed_on": "2025-03-01"}],
                {"context": forged},
            )
        march = Period.browse(
            api.call_kw(
                Period,
                "create",
                [{"period": "month", "date_from": str(DAY), "city_id": self.city.id}],
                {"context": dict(forged, default_computed_on="2025-03-01 00:00:00")},
            )
        )
        self.assertFalse(march.computed_on)
        march.action_compute()
        computed_on = march.computed_on
        line = march.line_ids.filtered(lambda ln: ln.community_id == self.community)
        index = line.index
        with self.assertRaisesRegex(AccessError, "change only through the workflow"):
            api.call_kw(Period, "write", [march.ids, {"computed_on": False}], {"context": forged})
        Line = self.env["credit.index.line"].with_user(self.user_finance)
        with self.assertRaisesRegex(AccessError, "change only through the workflow"):
            api.call_kw(Line, "write", [line.ids, {"index": index + 50}], {"context": forged})
        self.env.invalidate_all()
        self.assertEqual((march.computed_on, line.index), (computed_on, index))

    # --------------------------------------------------------------- passbook
    def test_passbook_as_the_resident(self):
        rows = self.res_a1.with_user(self.user_resident)._credit_passbook()
        self.assertEqual(
            [(ln.points, balance) for ln, balance in rows], [(2, 2), (3, 5), (-10, -5)]
        )
        self.assertFalse(self.res_a1.with_user(self.user_resident_b)._credit_passbook())
        html = (
            self.env["ir.actions.report"]
            .with_user(self.user_resident)
            ._render_qweb_html("community_credit.action_report_credit_passbook", self.res_a1.ids)[0]
            .decode()
        )
        self.assertIn("Points Passbook", html)
        self.assertIn("Fighting", html)
        self.assertIn("-10", html)


@tagged("post_install", "-at_install")
class TestBoardForm(CreditCase):
    """The council creates a board from the menu (红黑榜与荣誉 ▸ 新建), as the web client does."""

    def test_council_and_admin_create_a_board_in_the_form(self):
        for user in (self.user_manager, self.user_admin):
            with Form(self.env["credit.board"].with_user(user)) as form:
                places = offered(form, "place_id")
                self.assertIn(self.community, places)
                self.assertIn(self.estate_a, places)
                form.place_id = self.estate_a
                form.date_from = DAY
            board = form.record
            self.assertEqual((board.state, board.place_id), ("draft", self.estate_a))
            self.assertFalse(board.published_on)
        # a state other than the default is still the workflow's
        with self.assertRaisesRegex(AccessError, "change only through the workflow"):
            self.env["credit.board"].with_user(self.user_manager).create(
                {"place_id": self.estate_a.id, "date_from": DAY, "state": "published"}
            )
