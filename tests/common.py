from datetime import date

from odoo import Command
from odoo.tests import TransactionCase, new_test_user
from odoo.tools.safe_eval import safe_eval

DISABLED_MAIL_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "no_reset_password": True,
}

GRID = "base.group_user,community_credit.group_credit_grid_worker"
REVIEWER = "base.group_user,community_credit.group_credit_reviewer"
MANAGER = "base.group_user,community_credit.group_credit_manager"
FINANCE = "base.group_user,community_credit.group_credit_finance"
ADMIN = "base.group_user,community_credit.group_credit_admin"
RESIDENT = "base.group_portal,community_credit.group_credit_resident"

# A fixed day in the past: every test date is computed from it by hand.
DAY = date(2025, 3, 12)  # a Wednesday


def age_notices(env, notices, days):
    """Move notices `days` into the past, as if they had been sent earlier (a
    deduction is final once its notice is sent and the appeal window is over)."""
    env.flush_all()
    env.cr.execute(
        "UPDATE credit_notice SET sent_date = sent_date - make_interval(days => %s), "
        "appeal_deadline = appeal_deadline - %s WHERE id = ANY(%s)",
        [days, days, notices.ids],
    )
    env.invalidate_all()


def offered(form, field_name):
    """The records the web client offers in the drop-down of `field_name` on `form`
    (odoo.tests.Form applies no domain): the view's domain of the field, or the
    field's own, evaluated with the form's values and the user's companies as the
    web client does, and searched as the form's user."""
    env = form._record.env
    field = form._models_info[form._record._name]["fields"][field_name]
    node = form._view["tree"].xpath(f"//field[@name='{field_name}']")[0]
    domain = node.get("domain") or field.get("domain") or []
    if isinstance(domain, str):
        eval_context = {
            **form._get_eval_context(),
            "uid": env.uid,
            "allowed_company_ids": env.companies.ids,
            "current_company_id": env.company.id,
        }
        domain = safe_eval(domain, eval_context)
    return env[field["relation"]].search(domain)


class CreditCase(TransactionCase):
    """A test community (two estates, a building in each), a community that never
    deducts, a rule book, residents in a household, and one user per group."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, **DISABLED_MAIL_CONTEXT))
        Place = cls.env["credit.place"]
        cls.city = Place.create({"name": "Test City", "place_type": "city"})
        cls.community = Place.create(
            {
                "name": "Test Community",
                "code": "T-COM",
                "place_type": "community",
                "parent_id": cls.city.id,
            }
        )
        cls.estate_a = Place.create(
            {
                "name": "Estate A",
                "place_type": "estate",
                "parent_id": cls.community.id,
            }
        )
        cls.estate_b = Place.create(
            {
                "name": "Estate B",
                "place_type": "estate",
                "parent_id": cls.community.id,
            }
        )
        cls.building_a1 = Place.create(
            {
                "name": "Building A1",
                "place_type": "building",
                "parent_id": cls.estate_a.id,
            }
        )
        cls.building_b1 = Place.create(
            {
                "name": "Building B1",
                "place_type": "building",
                "parent_id": cls.estate_b.id,
            }
        )
        cls.community_nd = Place.create(
            {
                "name": "Never Deduct Community",
                "place_type": "community",
                "parent_id": cls.city.id,
                "allow_deduction": False,
            }
        )
        cls.building_nd = Place.create(
            {
                "name": "Building N1",
                "place_type": "building",
                "parent_id": cls.community_nd.id,
            }
        )

        cls.category = cls.env["credit.rule.category"].create(
            {
                "name": "睦邻 Neighbourliness",
                "period": "month",
            }
        )
        Rule = cls.env["credit.rule"]
        cls.rule_help = Rule.create(
            {
                "code": "T01",
                "name": "Help a neighbour",
                "category_id": cls.category.id,
                "points": 3,
                "cap_month": 9,
                "behaviour": "help-neighbour",
            }
        )
        cls.rule_clean = Rule.create(
            {
                "code": "T02",
                "name": "Clean the stairwell",
                "category_id": cls.category.id,
                "points": 2,
            }
        )
        cls.rule_fight = Rule.create(
            {
                "code": "T03",
                "name": "Fighting",
                "category_id": cls.category.id,
                "points": -10,
                "behaviour": "fighting",
            }
        )
        cls.rule_photo = Rule.create(
            {
                "code": "T04",
                "name": "Six-have family",
                "category_id": cls.category.id,
                "points": 5,
                "evidence_required": True,
            }
        )

        roles = cls.env.ref("community_credit.role_resident")
        cls.household = cls.env["credit.household"].create(
            {
                "name": "Zhang family",
                "place_id": cls.building_a1.id,
            }
        )
        Partner = cls.env["res.partner"]
        cls.res_a1 = Partner.create(
            {
                "name": "张三",
                "credit_role_ids": [Command.set(roles.ids)],
                "credit_place_id": cls.building_a1.id,
                "credit_household_id": cls.household.id,
            }
        )
        cls.res_a2 = Partner.create(
            {
                "name": "李四",
                "credit_role_ids": [Command.set(roles.ids)],
                "credit_place_id": cls.building_a1.id,
                "credit_household_id": cls.household.id,
            }
        )
        cls.res_b1 = Partner.create(
            {
                "name": "王五",
                "credit_role_ids": [Command.set(roles.ids)],
                "credit_place_id": cls.building_b1.id,
            }
        )
        cls.res_nd = Partner.create(
            {
                "name": "赵六",
                "credit_role_ids": [Command.set(roles.ids)],
                "credit_place_id": cls.building_nd.id,
            }
        )

        cls.user_resident = new_test_user(
            cls.env,
            "t_resident",
            groups=RESIDENT,
            partner_id=cls.res_a1.id,
            name=cls.res_a1.name,
        )
        cls.user_resident_b = new_test_user(
            cls.env,
            "t_resident_b",
            groups=RESIDENT,
            partner_id=cls.res_b1.id,
            name=cls.res_b1.name,
        )
        cls.user_grid = new_test_user(cls.env, "t_grid", groups=GRID)
        cls.user_grid.credit_place_ids = cls.estate_a
        cls.user_reviewer = new_test_user(cls.env, "t_reviewer", groups=REVIEWER)
        cls.user_reviewer.credit_place_ids = cls.community
        cls.user_manager = new_test_user(cls.env, "t_manager", groups=MANAGER)
        cls.user_finance = new_test_user(cls.env, "t_finance", groups=FINANCE)
        cls.user_admin = new_test_user(cls.env, "t_admin", groups=ADMIN)
        cls.Ledger = cls.env["credit.ledger.line"]

    @classmethod
    def post(cls, partner, rule, key, day=DAY, user=None, points=None, **extra):
        """Post one line as `user` (the manager by default), through the one posting path."""
        vals = {
            "partner_id": partner.id,
            "rule_id": rule.id,
            "date": day,
            "origin": "manual",
            "idempotency_key": key,
            **extra,
        }
        if points is not None:
            vals["points"] = points
        ledger = cls.Ledger.with_user(user or cls.user_manager)
        return ledger._post([vals])

    def balance(self, partner):
        partner.invalidate_recordset(["credit_balance"])
        return partner.credit_balance

    def ledger_sum(self, partner):
        """The balance the slow way, straight from the ledger, for cross-checks."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COALESCE(SUM(points), 0) FROM credit_ledger_line WHERE partner_id = %s",
            [partner.id],
        )
        return self.env.cr.fetchone()[0]
