import base64

from psycopg2.errors import UniqueViolation

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CreditCase


@tagged("post_install", "-at_install")
class TestPlaces(CreditCase):
    def test_hierarchy_and_community(self):
        self.assertEqual(self.building_a1.community_id, self.community)
        self.assertEqual(self.estate_b.community_id, self.community)
        self.assertEqual(self.community.community_id, self.community)
        self.assertEqual(
            self.building_a1.complete_name, "Test City / Test Community / Estate A / Building A1"
        )
        self.assertEqual(self.res_a1.credit_community_id, self.community)
        self.community.invalidate_recordset(["subject_count"])
        self.assertEqual(self.community.subject_count, 3)
        self.assertEqual(self.estate_a.subject_count, 2)

    def test_hierarchy_is_enforced(self):
        Place = self.env["credit.place"]
        with self.assertRaisesRegex(ValidationError, "cannot be placed under"):
            Place.create({"name": "Loose building", "place_type": "building"})
        with self.assertRaisesRegex(ValidationError, "cannot be placed under"):
            Place.create(
                {
                    "name": "City in a building",
                    "place_type": "city",
                    "parent_id": self.building_a1.id,
                }
            )
        with self.assertRaises(UserError):  # recursion, or a ValidationError
            self.estate_a.parent_id = self.building_a1
            self.env.flush_all()

    def test_household_must_match_community(self):
        with self.assertRaisesRegex(ValidationError, "belongs to"):
            self.res_nd.credit_household_id = self.household

    @mute_logger("odoo.sql_db")
    def test_same_id_number_twice_is_refused(self):
        self.res_a1.credit_id_number = "500113199001011234"
        with self.assertRaises(UniqueViolation), self.env.cr.savepoint():
            self.res_a2.credit_id_number = "500113199001011234"
            self.env.flush_all()

    def test_roles_make_a_subject(self):
        stranger = self.env["res.partner"].create({"name": "Visitor"})
        self.assertFalse(stranger.credit_is_subject)
        roles = self.env.ref("community_credit.role_volunteer") | self.env.ref(
            "community_credit.role_party_member"
        )
        stranger.credit_role_ids = [Command.link(role.id) for role in roles]
        self.assertTrue(stranger.credit_is_subject)
        self.assertEqual(len(stranger.credit_role_ids), 2)


@tagged("post_install", "-at_install")
class TestStandardImport(CreditCase):
    """Rules and residents come in through Odoo's own import (base_import)."""

    def _import(self, user, model, csv_text, fields):
        wizard = (
            self.env["base_import.import"]
            .with_user(user)
            .create(
                {
                    "res_model": model,
                    "file": base64.b64decode(base64.b64encode(csv_text.encode())),
                    "file_name": "import.csv",
                    "file_type": "text/csv",
                }
            )
        )
        options = {"has_headers": True, "quoting": '"', "separator": ",", "encoding": "utf-8"}
        result = wizard.execute_import(fields, fields, options)
        return result

    def test_import_rules_from_csv(self):
        csv_text = (
            "code,name,category_id,points,cap_month,evidence_required,community_id\n"
            "IMP1,调解邻里纠纷,睦邻 Neighbourliness,5,10,1,Test City / Test Community\n"
            "IMP2,乱扔垃圾,睦邻 Neighbourliness,-2,0,0,\n"
        )
        fields = [
            "code",
            "name",
            "category_id",
            "points",
            "cap_month",
            "evidence_required",
            "community_id",
        ]
        result = self._import(self.user_admin, "credit.rule", csv_text, fields)
        self.assertFalse(result["messages"], result["messages"])
        rules = self.env["credit.rule"].search([("code", "in", ["IMP1", "IMP2"])], order="code")
        self.assertEqual(rules.mapped("points"), [5, -2])
        self.assertEqual(rules[0].community_id, self.community)
        self.assertTrue(rules[0].evidence_required)
        self.assertEqual(rules[0].cap_month, 10)

    def test_import_refuses_bad_rules_and_keeps_nothing(self):
        csv_text = (
            "code,name,category_id,points,community_id\n"
            "BAD1,好事,睦邻 Neighbourliness,3,\n"
            "BAD2,扣分,睦邻 Neighbourliness,-3,Test City / Never Deduct Community\n"
        )
        fields = ["code", "name", "category_id", "points", "community_id"]
        result = self._import(self.user_admin, "credit.rule", csv_text, fields)
        self.assertTrue(result["messages"])
        self.assertIn("does not deduct", " ".join(m["message"] for m in result["messages"]))
        self.assertFalse(self.env["credit.rule"].search([("code", "in", ["BAD1", "BAD2"])]))

    def test_import_residents_from_csv(self):
        csv_text = (
            "name,phone,credit_place_id,credit_role_ids,credit_household_id\n"
            "孙七,13800000001,Test City / Test Community / Estate A / Building A1,"
            "Resident,Zhang family\n"
            "周八,13800000002,Test City / Test Community / Estate B / Building B1,"
            '"Resident,Volunteer",\n'
        )
        fields = ["name", "phone", "credit_place_id", "credit_role_ids", "credit_household_id"]
        result = self._import(self.user_manager, "res.partner", csv_text, fields)
        self.assertFalse(result["messages"], result["messages"])
        sun = self.env["res.partner"].search([("name", "=", "孙七")])
        zhou = self.env["res.partner"].search([("name", "=", "周八")])
        self.assertEqual(sun.credit_place_id, self.building_a1)
        self.assertEqual(sun.credit_household_id, self.household)
        self.assertTrue(sun.credit_is_subject)
        self.assertEqual(len(zhou.credit_role_ids), 2)
        self.assertEqual(zhou.credit_community_id, self.community)
