from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from psycopg2.errors import UniqueViolation

from odoo import Command, api, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import get_public_method
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import DAY, CreditCase, offered
from .common_claim import ClaimCase

APPROVED = "Flood relief volunteers"


@tagged("post_install", "-at_install")
class TestBudget(CreditCase):
    """Points budgets per place and period, enforced in the posting path."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Budget = cls.env["credit.budget"]

    def budget(self, place, points, period="month", day=DAY):
        return self.Budget.with_user(self.user_manager).create(
            {"place_id": place.id, "period": period, "date_from": day, "points": points}
        )

    def issued(self, budget):
        budget.invalidate_recordset(["issued", "remaining", "percent"])
        return budget.issued

    def test_period_normalised(self):
        month = self.budget(self.estate_a, 10, "month", date(2025, 3, 12))
        quarter = self.budget(self.estate_a, 30, "quarter", date(2025, 2, 15))
        year = self.budget(self.estate_a, 100, "year", date(2025, 7, 1))
        self.assertEqual((month.date_from, month.date_to), (date(2025, 3, 1), date(2025, 3, 31)))
        self.assertEqual(
            (quarter.date_from, quarter.date_to), (date(2025, 1, 1), date(2025, 3, 31))
        )
        self.assertEqual((year.date_from, year.date_to), (date(2025, 1, 1), date(2025, 12, 31)))
        self.assertEqual(month.display_name, "2025-03 Estate A")
        self.assertEqual(quarter.display_name, "2025-Q1 Estate A")
        month.write({"date_from": date(2025, 4, 20)})
        self.assertEqual((month.date_from, month.date_to), (date(2025, 4, 1), date(2025, 4, 30)))

    def test_budget_form_and_places(self):
        with Form(self.Budget.with_user(self.user_manager)) as form:
            # the drop-down of a new budget offers communities, grids and estates
            places = offered(form, "place_id")
            for place in (self.community, self.estate_a, self.estate_b, self.community_nd):
                self.assertIn(place, places)
            for place in (self.city, self.building_a1, self.building_nd):
                self.assertNotIn(place, places)
            form.place_id = self.estate_b
            form.period = "quarter"
            form.date_from = date(2025, 5, 20)
            form.points = 40
        budget = form.record
        self.assertEqual((budget.date_from, budget.date_to), (date(2025, 4, 1), date(2025, 6, 30)))
        self.assertEqual(budget.community_id, self.community)
        self.assertEqual(self.community.with_user(self.user_manager).budget_count, 0)
        self.assertEqual(self.estate_b.with_user(self.user_finance).budget_count, 1)
        with Form(self.Budget.with_user(self.user_admin)) as form:
            self.assertIn(self.community, offered(form, "place_id"))
            form.place_id = self.community
            form.points = 100
        self.assertEqual(form.record.company_id, self.env.company)
        with self.assertRaises(ValidationError):
            self.budget(self.building_a1, 10)
        with self.assertRaises(ValidationError):
            self.budget(self.city, 10)

    def test_unique_per_place_and_period(self):
        self.budget(self.estate_a, 10)
        with mute_logger("odoo.sql_db"), self.assertRaises(UniqueViolation):
            with self.env.cr.savepoint():
                self.budget(self.estate_a, 20, day=DAY.replace(day=28))
        # another period or another place is fine
        self.budget(self.estate_a, 20, day=DAY + relativedelta(months=1))
        self.budget(self.estate_b, 20)

    def test_who_sets_and_reads_budgets(self):
        vals = {"place_id": self.estate_a.id, "period": "month", "date_from": DAY, "points": 5}
        with self.assertRaises(AccessError):
            self.Budget.with_user(self.user_grid).create(vals)
        with self.assertRaises(AccessError):
            self.Budget.with_user(self.user_finance).create(vals)
        budget = self.Budget.with_user(self.user_admin).create(vals)
        self.post(self.res_a1, self.rule_clean, "read-1")
        as_finance = budget.with_user(self.user_finance)
        self.assertEqual((as_finance.points, as_finance.issued, as_finance.remaining), (5, 2, 3))
        with self.assertRaises(AccessError):
            as_finance.write({"points": 50})
        with self.assertRaises(AccessError):
            budget.with_user(self.user_grid).read(["points"])
        with self.assertRaises(AccessError):
            budget.with_user(self.user_resident).read(["points"])

    def test_council_writes_budgets_not_their_figures(self):
        """Over RPC, with the context keys the posting path once trusted, the
        council sets a budget's place, period and points, never its end, its
        community or its approved overruns."""
        budget = self.budget(self.estate_a, 10)
        Budgets = self.Budget.with_user(self.user_manager)
        get_public_method(Budgets, "write")
        forged = {"credit_budget_approved": True, "credit_budget_reason": "forged"}
        for vals in (
            {"date_to": date(2030, 12, 31)},
            {"community_id": self.community_nd.id},
            {"overrun_ids": [Command.create({"user_id": self.user_manager.id})]},
        ):
            with self.assertRaisesRegex(AccessError, "change only through the workflow"):
                api.call_kw(Budgets, "write", [budget.ids, vals], {"context": forged})
        budget.invalidate_recordset()
        self.assertEqual(
            (budget.date_to, budget.community_id, budget.overrun_ids),
            (date(2025, 3, 31), self.community, self.env["credit.budget.overrun"]),
        )
        api.call_kw(Budgets, "write", [budget.ids, {"points": 12}], {"context": forged})
        self.assertEqual(budget.points, 12)
        # an approval is recorded by the posting path only, whatever the context
        Overruns = self.env["credit.budget.overrun"].with_user(self.user_admin)
        with self.assertRaisesRegex(AccessError, "not allowed to create"):
            api.call_kw(
                Overruns,
                "create",
                [{"budget_id": budget.id, "user_id": self.user_admin.id, "points_over": 0}],
                {"context": forged},
            )
        self.assertFalse(budget.overrun_ids)

    def test_within_budget_passes(self):
        budget = self.budget(self.community, 10)
        self.post(self.res_a1, self.rule_clean, "in-1", user=self.user_grid)
        self.post(self.res_a2, self.rule_help, "in-2", user=self.user_grid)
        budget.invalidate_recordset()
        # 2 + 3 granted in March 2025 to subjects of the community
        self.assertEqual((budget.issued, budget.remaining), (5, 5))
        self.assertAlmostEqual(budget.percent, 50.0)
        # up to the budget exactly
        self.post(self.res_a1, self.rule_help, "in-3", user=self.user_grid)
        self.post(self.res_a2, self.rule_clean, "in-4", user=self.user_grid)
        self.assertEqual(self.issued(budget), 10)

    def test_past_budget_refused_for_grid_worker(self):
        budget = self.budget(self.estate_a, 4)
        self.post(self.res_a1, self.rule_clean, "past-1", user=self.user_grid)
        self.post(self.res_a2, self.rule_clean, "past-2", user=self.user_grid)
        with self.assertRaises(UserError) as refusal:
            self.post(self.res_a1, self.rule_clean, "past-3", user=self.user_grid)
        self.assertEqual(
            str(refusal.exception),
            "Granting these 2 points would exceed the 2025-03 budget of Estate A (4, 4 issued): "
            "the council must approve grants past the budget.",
        )
        self.assertEqual(self.issued(budget), 4)
        self.assertEqual(self.balance(self.res_a1), 2)
        # the grid worker cannot approve it, even with the old context keys
        with self.assertRaisesRegex(UserError, "the council must approve grants past the budget"):
            self.Ledger.with_user(self.user_grid).with_context(
                credit_budget_approved=True, credit_budget_reason="forged"
            )._post(
                [
                    {
                        "partner_id": self.res_a1.id,
                        "rule_id": self.rule_clean.id,
                        "date": DAY,
                        "origin": "manual",
                        "idempotency_key": "past-4",
                    }
                ],
                budget_approval=APPROVED,
            )
        # nor a reviewer
        with self.assertRaises(UserError):
            self.post(self.res_a1, self.rule_clean, "past-5", user=self.user_reviewer)
        self.assertFalse(budget.overrun_ids)

    def test_batch_counts_as_a_whole(self):
        budget = self.budget(self.estate_a, 5)
        wizard = (
            self.env["credit.grant.wizard"]
            .with_user(self.user_grid)
            .create(
                {
                    "rule_id": self.rule_help.id,
                    "date": DAY,
                    "partner_ids": [Command.set((self.res_a1 | self.res_a2).ids)],
                    "description": "Carried shopping for the elderly",
                }
            )
        )
        with self.assertRaisesRegex(UserError, "Granting these 6 points .* \\(5, 0 issued\\)"):
            wizard.action_grant()
        self.assertEqual(self.issued(budget), 0)

    def test_council_approves_past_budget(self):
        budget = self.budget(self.estate_a, 4)
        self.post(self.res_a1, self.rule_clean, "over-1")
        self.post(self.res_a2, self.rule_clean, "over-2")
        # the council without an explicit approval is refused too
        with self.assertRaisesRegex(UserError, "the council must approve"):
            self.post(self.res_a1, self.rule_help, "over-3")
        # the grant wizard's box is the council's approval
        wizard = (
            self.env["credit.grant.wizard"]
            .with_user(self.user_manager)
            .create(
                {
                    "rule_id": self.rule_help.id,
                    "date": DAY,
                    "partner_ids": [Command.set(self.res_a1.ids)],
                    "description": "Flood relief volunteers",
                    "budget_approved": True,
                }
            )
        )
        wizard.action_grant()
        self.assertEqual(self.issued(budget), 7)
        overrun = budget.overrun_ids
        self.assertEqual(len(overrun), 1)
        self.assertEqual(overrun.user_id, self.user_manager)
        self.assertEqual(
            (overrun.points, overrun.issued_before, overrun.budget_points, overrun.points_over),
            (3, 4, 4, 3),
        )
        self.assertEqual(overrun.origin, "manual")
        self.assertEqual(overrun.origin_ref, f"credit.grant.wizard,{wizard.id}")
        self.assertEqual(overrun.reason, "Flood relief volunteers")
        self.assertEqual(overrun.line_ids.partner_id, self.res_a1)
        self.assertEqual(overrun.line_ids.points, 3)
        self.assertEqual(budget.with_user(self.user_finance).overrun_count, 1)
        # a record: nobody changes or deletes it
        with self.assertRaises(UserError):
            overrun.sudo().write({"points_over": 0})
        with self.assertRaises(UserError):
            overrun.sudo().unlink()
        with self.assertRaises(AccessError):
            overrun.unlink()
        with self.assertRaises(AccessError):
            self.env["credit.budget.overrun"].with_user(self.user_manager).create(
                {"budget_id": budget.id, "user_id": self.user_manager.id}
            )

    def test_grid_worker_cannot_tick_approval(self):
        self.budget(self.estate_a, 1)
        wizard = (
            self.env["credit.grant.wizard"]
            .with_user(self.user_grid)
            .create(
                {
                    "rule_id": self.rule_clean.id,
                    "date": DAY,
                    "partner_ids": [Command.set(self.res_a1.ids)],
                    "description": "Stairwell",
                    "budget_approved": True,
                }
            )
        )
        with self.assertRaises(AccessError):
            wizard.action_grant()
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_estate_and_community_budgets_both_checked(self):
        community = self.budget(self.community, 5)
        estate_b = self.budget(self.estate_b, 100)
        estate_a = self.budget(self.estate_a, 1)
        self.post(self.res_b1, self.rule_help, "both-1")
        # the estate's budget has room, the community's not
        with self.assertRaisesRegex(
            UserError, "2025-03 budget of Test Community \\(5, 3 issued\\)"
        ):
            self.post(self.res_b1, self.rule_help, "both-2")
        # the community's budget has room, the estate's not
        with self.assertRaisesRegex(UserError, "2025-03 budget of Estate A \\(1, 0 issued\\)"):
            self.post(self.res_a1, self.rule_clean, "both-3")
        self.assertEqual(
            (self.issued(community), self.issued(estate_a), self.issued(estate_b)), (3, 0, 3)
        )

        def approved(partner, key):
            self.Ledger.with_user(self.user_manager)._post(
                [
                    {
                        "partner_id": partner.id,
                        "rule_id": self.rule_clean.id,
                        "date": DAY,
                        "origin": "manual",
                        "idempotency_key": key,
                    }
                ],
                budget_approval=APPROVED,
            )

        # past the estate's budget only (community: 3 + 2 = 5)
        approved(self.res_a1, "both-4")
        self.assertEqual(estate_a.overrun_ids.mapped("points_over"), [1])
        self.assertFalse(community.overrun_ids)
        # past both: one overrun record per budget passed
        approved(self.res_a2, "both-5")
        self.assertEqual(sorted(estate_a.overrun_ids.mapped("points_over")), [1, 2])
        self.assertEqual(community.overrun_ids.mapped("points_over"), [2])
        self.assertEqual(community.overrun_ids.line_ids.partner_id, self.res_a2)
        self.assertFalse(estate_b.overrun_ids)
        self.assertEqual(
            (self.issued(community), self.issued(estate_a), self.issued(estate_b)), (7, 4, 3)
        )

    def test_reversal_frees_budget(self):
        budget = self.budget(self.estate_a, 4)
        self.post(self.res_a1, self.rule_clean, "rev-1")
        line = self.post(self.res_a2, self.rule_clean, "rev-2")
        with self.assertRaises(UserError):
            self.post(self.res_a1, self.rule_clean, "rev-3", user=self.user_grid)
        line.with_user(self.user_manager)._reverse("Granted twice")
        self.assertEqual(self.issued(budget), 2)
        self.post(self.res_a1, self.rule_clean, "rev-4", user=self.user_grid)
        self.assertEqual(self.issued(budget), 4)

    def test_other_periods_places_and_movements_do_not_count(self):
        budget = self.budget(self.estate_a, 6)
        self.post(self.res_a1, self.rule_clean, "oth-1", day=DAY - relativedelta(months=1))
        self.post(self.res_a1, self.rule_clean, "oth-2", day=DAY + relativedelta(day=31))
        self.post(self.res_a1, self.rule_clean, "oth-3", day=date(2024, 12, 31))
        self.post(self.res_b1, self.rule_help, "oth-4")
        self.post(self.res_nd, self.rule_clean, "oth-5")
        self.post(self.res_a2, self.rule_fight, "oth-6")
        self.Ledger.sudo()._post(
            [
                {
                    "partner_id": self.res_a1.id,
                    "points": -1,
                    "date": DAY,
                    "origin": "redemption",
                    "idempotency_key": "oth-7",
                }
            ],
            check_rights=False,
        )
        # only oth-2 (31 March, Estate A, under a rule) is in the budget
        self.assertEqual(self.issued(budget), 2)
        self.post(self.res_a2, self.rule_clean, "oth-8")
        self.post(self.res_a2, self.rule_clean, "oth-9")
        self.assertEqual(self.issued(budget), 6)
        # a budget of a year counts March and February, not December 2024
        year = self.budget(self.estate_a, 100, "year")
        self.assertEqual(self.issued(year), 2 + 2 + 2 + 2)

    def test_no_budget_costs_one_query(self):
        self.budget(self.community_nd, 50)  # a budget elsewhere: not one of these lines'
        vals = [
            {
                "place_id": self.building_a1.id,
                "points": 2,
                "date": DAY,
                "company_id": self.env.company.id,
            }
        ]
        paths = {self.building_a1.id: self.building_a1.parent_path}
        self.env.flush_all()
        before = self.env.cr.sql_log_count
        self.assertEqual(self.env["credit.budget"]._check_lines(vals, paths), [])
        self.assertEqual(self.env.cr.sql_log_count - before, 1)


@tagged("post_install", "-at_install")
class TestBudgetClaim(ClaimCase):
    """A claim approved past the budget waits for the council, who may post it."""

    def test_claim_past_budget_needs_the_council(self):
        self.community.write({"claim_council_stage": False, "claim_publication": False})
        budget = self.env["credit.budget"].create(
            {"place_id": self.estate_a.id, "period": "month", "date_from": DAY, "points": 2}
        )
        claim = self.submitted(self.user_grid, self.res_a1, self.rule_help)
        claim.with_user(self.user_reviewer).action_approve()
        self.assertEqual(
            claim.post_error,
            "Granting these 3 points would exceed the 2025-03 budget of Estate A (2, 0 issued): "
            "the council must approve grants past the budget.",
        )
        self.assertEqual(self.balance(self.res_a1), 0)
        self.assertTrue(
            claim.sudo().activity_ids.filtered(lambda a: a.user_id == self.user_manager)
        )
        # a reviewer cannot force it; the council's plain retry fails the same way
        with self.assertRaises(AccessError):
            claim.with_user(self.user_reviewer).action_post_past_budget()
        claim.with_user(self.user_manager).action_retry_post()
        self.assertIn("the council must approve", claim.post_error)
        self.assertEqual(self.balance(self.res_a1), 0)
        # "Post Past Budget"
        claim.with_user(self.user_manager).action_post_past_budget()
        self.assertFalse(claim.post_error)
        self.assertEqual(claim.state, "done")
        self.assertEqual(self.balance(self.res_a1), 3)
        overrun = budget.overrun_ids
        self.assertEqual(
            (overrun.user_id, overrun.points, overrun.points_over), (self.user_manager, 3, 1)
        )
        self.assertEqual(
            (overrun.origin, overrun.origin_ref), ("claim", f"credit.claim,{claim.id}")
        )


@tagged("post_install", "-at_install")
class TestLiability(CreditCase):
    """What the outstanding points are worth, and what covers them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.community.write({"point_value": 1.5, "finance_user_id": cls.user_finance.id})
        post = cls.post
        post(cls.res_a1, cls.rule_help, "lia-1")  # +3
        post(cls.res_a1, cls.rule_clean, "lia-2")  # +2
        cls.post(cls.res_a1, cls.rule_clean, "lia-3")._reverse("Mistake")  # +2 -2
        post(cls.res_a2, cls.rule_clean, "lia-4")  # +2
        post(cls.res_a2, cls.rule_fight, "lia-5", points=-4)  # -4
        post(cls.res_b1, cls.rule_help, "lia-6")  # +3
        post(cls.res_b1, cls.rule_help, "lia-7", day=DAY - timedelta(days=1))  # +3
        Ledger = cls.env["credit.ledger.line"].sudo()

        def system(partner, points, origin, key):
            vals = {"partner_id": partner.id, "points": points, "date": DAY, "origin": origin}
            return Ledger._post([dict(vals, idempotency_key=key)], check_rights=False)

        system(cls.res_a1, -3, "redemption", "lia-8")  # -3
        system(cls.res_b1, -2, "redemption", "lia-9")._reverse("Voucher expired")  # -2 +2
        system(cls.res_b1, -1, "expiry", "lia-10")  # -1
        post(cls.res_nd, cls.rule_clean, "lia-11")  # another community
        today = fields.Date.today()
        shop = cls.env["res.partner"].create({"name": "老王面馆", "is_company": True})
        Pledge = cls.env["credit.merchant.pledge"]
        for month, value in (
            (today, 2.0),
            (today + relativedelta(months=1), 1.0),
            (today - relativedelta(months=1), 100.0),
        ):
            Pledge.create(
                {
                    "merchant_id": shop.id,
                    "community_id": cls.community.id,
                    "month": month,
                    "value": value,
                }
            )
        reward = {"credit_is_reward": True, "credit_points_price": 2}
        cls.env["product.template"].create(
            [
                {
                    **reward,
                    "name": "Bun",
                    "credit_donated_value": 1.25,
                    "credit_stock_ids": [
                        Command.create(
                            {
                                "collection_point": "Hall",
                                "community_id": cls.community.id,
                                "quantity": 2,
                            }
                        ),
                        Command.create(
                            {
                                "collection_point": "Shop",
                                "community_id": cls.community.id,
                                "quantity": 0,
                            }
                        ),
                    ],
                },
                {
                    **reward,
                    "name": "Old calendar",
                    "credit_donated_value": 50.0,
                    "credit_valid_to": today - timedelta(days=1),
                    "credit_stock_ids": [
                        Command.create(
                            {
                                "collection_point": "Hall",
                                "community_id": cls.community.id,
                                "quantity": 9,
                            }
                        )
                    ],
                },
            ]
        )

    def row(self, user=None, community=None):
        self.env.flush_all()
        self.env["credit.liability"].invalidate_model()
        return (
            self.env["credit.liability"]
            .with_user(user or self.user_finance)
            .search([("community_id", "=", (community or self.community).id)])
        )

    def test_figures_for_finance(self):
        row = self.row()
        # issued 3+2+2-2+2+3+3, deducted 4, redeemed 3+2-2, expired 1
        self.assertEqual(
            (row.issued, row.deducted, row.redeemed, row.expired, row.outstanding),
            (13, 4, 3, 1, 5),
        )
        # balances: 张三 3+2+2-2-3 = 2, 李四 2-4 = -2, 王五 3+3-2+2-1 = 5
        self.assertEqual(
            [self.balance(p) for p in (self.res_a1, self.res_a2, self.res_b1)], [2, -2, 5]
        )
        [(balances,)] = self.env["credit.balance"]._read_group(
            [("community_id", "=", self.community.id)], [], ["balance:sum"]
        )
        self.assertEqual(balances, row.outstanding)
        self.assertAlmostEqual(row.point_value, 1.5)
        self.assertAlmostEqual(row.liability_value, 7.5)
        # pledges of this month and the next (2 + 1), two buns at 1.25
        self.assertAlmostEqual(row.pledged_value, 3.0)
        self.assertAlmostEqual(row.stock_value, 2.5)
        self.assertAlmostEqual(row.cover_value, 5.5)
        self.assertAlmostEqual(row.gap, 2.0)
        self.assertFalse(row.covered)
        other = self.row(community=self.community_nd)
        self.assertEqual((other.issued, other.outstanding, other.liability_value), (2, 2, 0.0))
        self.assertTrue(other.covered)
        self.assertEqual(self.row(user=self.user_manager), row)

    def test_who_reads_liability(self):
        for user in (self.user_resident, self.user_grid, self.user_reviewer):
            with self.assertRaises(AccessError):
                self.env["credit.liability"].with_user(user).search([])

    def activities(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "credit.place"),
                ("res_id", "=", self.community.id),
                (
                    "activity_type_id",
                    "=",
                    self.env.ref("community_credit.mail_act_credit_liability").id,
                ),
            ]
        )

    def test_uncovered_warns_finance_once(self):
        Liability = self.env["credit.liability"]
        Liability._cron_warn_uncovered()
        Liability._cron_warn_uncovered()
        activity = self.activities()
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.user_finance)
        self.assertIn("5 outstanding points", activity.note)
        # the never-deducting community is covered (no point value): no activity
        self.assertFalse(
            self.env["mail.activity"].search(
                [("res_model", "=", "credit.place"), ("res_id", "=", self.community_nd.id)]
            )
        )
        # a new pledge covers the gap: the warning goes away
        self.env["credit.merchant.pledge"].create(
            {
                "merchant_id": self.env["res.partner"].create({"name": "阿芳理发店"}).id,
                "community_id": self.community.id,
                "month": fields.Date.today(),
                "value": 2.0,
            }
        )
        self.assertTrue(self.row().covered)
        Liability._cron_warn_uncovered()
        self.assertFalse(self.activities())
