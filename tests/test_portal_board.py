from datetime import date

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestBoardPortal(HttpCase):
    """A resident sees the published boards of their place, not drafts nor other
    places' boards, and downloads their own passbook only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Place = cls.env["credit.place"]
        community = Place.create({"name": "Board Portal Community", "place_type": "community"})
        estates = Place.create(
            [
                {"name": f"Board Estate {n}", "place_type": "estate", "parent_id": community.id}
                for n in (1, 2)
            ]
        )
        category = cls.env["credit.rule.category"].create({"name": "Board portal"})
        rule = cls.env["credit.rule"].create(
            {"code": "BP1", "name": "Sweep the yard", "category_id": category.id, "points": 4}
        )
        role = cls.env.ref("community_credit.role_resident")
        people = cls.env["res.partner"].create(
            [
                {
                    "name": name,
                    "credit_place_id": estate.id,
                    "credit_role_ids": [Command.set(role.ids)],
                }
                for name, estate in (("陈小明", estates[0]), ("刘大伟", estates[1]))
            ]
        )
        cls.people = people
        cls.resident = new_test_user(
            cls.env,
            "bp_resident",
            groups="base.group_portal,community_credit.group_credit_resident",
            partner_id=people[0].id,
            password="bp_resident_pw",
            name=people[0].name,
        )
        cls.env["credit.ledger.line"]._post(
            [
                {
                    "partner_id": partner.id,
                    "rule_id": rule.id,
                    "origin": "manual",
                    "date": date(2025, 5, 6),
                    "idempotency_key": f"bp-{partner.id}",
                }
                for partner in people
            ],
            check_rights=False,
        )
        Board = cls.env["credit.board"]
        cls.published = Board.create(
            {"place_id": community.id, "date_from": date(2025, 5, 1), "title": "x"}
        )
        cls.other_estate = Board.create({"place_id": estates[1].id, "date_from": date(2025, 5, 1)})
        cls.draft = Board.create({"place_id": estates[0].id, "date_from": date(2025, 5, 1)})
        (cls.published | cls.other_estate | cls.draft).action_generate()
        (cls.published | cls.other_estate).action_publish()

    def test_resident_sees_the_published_boards_of_their_place(self):
        self.authenticate("bp_resident", "bp_resident_pw")
        page = self.url_open("/my/credit/boards").text
        self.assertIn(self.published.name, page)
        self.assertIn("陈*明", page)
        self.assertIn("刘*伟", page)
        self.assertNotIn("刘大伟", page, "names are masked")
        self.assertNotIn(self.other_estate.name, page)
        self.assertNotIn(self.draft.name, page)

    def test_no_person_behind_a_masked_name(self):
        """The page names no subject but by the masked name: no contact id, link or
        picture, and the board's entries do not give the contact to a resident."""
        self.authenticate("bp_resident", "bp_resident_pw")
        page = self.url_open("/my/credit/boards").text
        self.assertIn("刘*伟", page)
        other = self.people[1]
        for trace in (
            f"/web/image/res.partner/{other.id}",
            f"res.partner/{other.id}",
            f"res.partner,{other.id}",
            f'data-oe-id="{other.id}"',
            f"partner_id={other.id}",
        ):
            self.assertNotIn(trace, page)
        self.assertNotIn("/web/image/res.partner", page.split("o_portal_wrap")[-1])
        lines = self.env["credit.board.line"].with_user(self.resident).search([])
        self.assertTrue(lines, "the resident reads the entries of their place's boards")
        self.assertEqual(set(lines.mapped("name_shown")), {"陈*明", "刘*伟"})
        with self.assertRaisesRegex(AccessError, "partner_id"):
            lines.read(["partner_id"])

    def test_passbook_is_the_resident_s_own(self):
        self.authenticate("bp_resident", "bp_resident_pw")
        response = self.url_open("/my/credit/passbook?report_type=html")
        self.assertEqual(response.status_code, 200)
        text = response.content.decode()
        self.assertIn("陈小明", text)
        self.assertIn("Sweep the yard", text)
        self.assertNotIn("刘大伟", text)

    def test_my_credit_shows_only_the_resident_s_own_points(self):
        self.authenticate("bp_resident", "bp_resident_pw")
        home = self.url_open("/my").text
        self.assertIn("My Credit Points", home)
        page = self.url_open("/my/credit").text
        self.assertIn("Sweep the yard", page)
        self.assertIn("+4", page)
        self.assertIn('display-4 fw-bold">4<', page)
        self.assertEqual(page.count("+4"), 1, "the other resident's line is not shown")

    def test_board_name_is_in_the_reader_s_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        board = self.other_estate
        self.assertEqual(board.name, "Board Estate 2 2025-05 Red Board")
        self.assertEqual(board.with_context(lang="zh_CN").name, "Board Estate 2 2025-05 红榜")
        self.assertEqual(self.env["credit.board"].search([("name", "ilike", "Estate 2")]), board)
        self.env["res.users"].search([("login", "=", "bp_resident")]).lang = "zh_CN"
        self.authenticate("bp_resident", "bp_resident_pw")
        page = self.url_open("/my/credit/boards").text
        self.assertIn("2025-05 红榜", page)
        self.assertNotIn("Red Board", page)
