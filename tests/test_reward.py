from datetime import timedelta

from freezegun import freeze_time
from psycopg2.errors import CheckViolation

from odoo import Command, api
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import get_public_method
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import DAY, RESIDENT, CreditCase

# context keys the addon once took as authority: they open nothing
FORGED = {"credit_claim_workflow": True, "credit_posting": True, "credit_budget_approved": True}
WORKFLOW_ONLY = "change only through the workflow"


def rpc(user, model, method, args):
    """Call as /web/dataset/call_kw does, as `user`, with a forged context."""
    recs = user.env[model].with_user(user)
    get_public_method(recs, method)
    return api.call_kw(recs, method, args, {"context": FORGED})


@tagged("post_install", "-at_install")
class TestRewards(CreditCase):
    """Redeeming rewards for points, vouchers, hand-over and refunds."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.noodle_shop = cls.env["res.partner"].create({"name": "老王面馆", "is_company": True})
        cls.barber = cls.env["res.partner"].create({"name": "阿芳理发店", "is_company": True})
        cls.user_merchant = new_test_user(
            cls.env,
            "t_merchant",
            groups="base.group_portal",
            name="王老板",
            parent_id=cls.noodle_shop.id,
        )
        cls.user_barber = new_test_user(
            cls.env, "t_barber", groups="base.group_portal", name="阿芳", parent_id=cls.barber.id
        )
        cls.noodles = cls.env["product.template"].create(
            {
                "name": "牛肉面一碗",
                "credit_is_reward": True,
                "credit_points_price": 6,
                "credit_donated_value": 6.0,
                "credit_merchant_id": cls.noodle_shop.id,
                "credit_person_limit": 2,
                "credit_stock_ids": [
                    Command.create(
                        {
                            "collection_point": "老王面馆",
                            "community_id": cls.community.id,
                            "quantity": 3,
                        }
                    )
                ],
            }
        )
        cls.stock = cls.noodles.credit_stock_ids
        # 张三 earns 12 points, 李四 3
        for n in range(6):
            cls.post(cls.res_a1, cls.rule_clean, f"earn-a1-{n}", day=DAY - timedelta(days=n))
        cls.post(cls.res_a2, cls.rule_help, "earn-a2")

    def setUp(self):
        super().setUp()
        frozen = freeze_time(DAY + timedelta(days=1))
        frozen.start()
        self.addCleanup(frozen.stop)

    def redeem(self, user, partner=None):
        return (
            self.env["credit.voucher"]
            .with_user(user)
            ._redeem(self.stock.id, partner.id if partner else None)
        )

    def test_resident_redeems_and_merchant_hands_over(self):
        voucher = self.redeem(self.user_resident)
        self.assertEqual(voucher.state, "issued")
        self.assertEqual(len(voucher.code), 10)
        self.assertEqual(self.balance(self.res_a1), 6)
        self.assertEqual(self.stock.quantity, 2)
        self.assertEqual(voucher.ledger_line_id.points, -6)
        self.assertEqual(voucher.ledger_line_id.origin, "redemption")
        self.assertEqual(voucher.expiry_date, DAY + timedelta(days=31))
        # the resident reads their own voucher, not others'
        voucher.with_user(self.user_resident).read(["code", "state"])
        with self.assertRaises(AccessError):
            voucher.with_user(self.user_resident_b).read(["code"])
        # another merchant cannot confirm it; the noodle shop can, once
        with self.assertRaisesRegex(AccessError, "another merchant"):
            self.env["credit.voucher"].with_user(self.user_barber)._honour(voucher.code)
        merchant = self.env["credit.voucher"].with_user(self.user_merchant)
        done = merchant._honour(voucher.code.lower())
        self.assertEqual(done.sudo().state, "honoured")
        self.assertEqual(done.sudo().honoured_by_id, self.user_merchant)
        with self.assertRaisesRegex(UserError, "already used"):
            self.env["credit.voucher"].with_user(self.user_merchant)._honour(voucher.code)
        with self.assertRaisesRegex(UserError, "No voucher"):
            self.env["credit.voucher"].with_user(self.user_merchant)._honour("NOSUCHCODE")
        # a voucher handed over cannot be refunded
        with self.assertRaisesRegex(UserError, "handed over or refunded"):
            voucher.with_user(self.user_resident).action_cancel()
        self.assertEqual(self.balance(self.res_a1), 6)

    def test_balance_never_goes_negative(self):
        with self.assertRaisesRegex(UserError, "not enough"):
            self.redeem(self.user_resident_b)  # 王五 has no points
        self.assertEqual(self.stock.quantity, 3)
        self.assertEqual(self.balance(self.res_b1), 0)
        self.assertFalse(
            self.env["credit.voucher"].sudo().search([("partner_id", "=", self.res_b1.id)])
        )

    def test_last_unit_and_per_person_limit(self):
        self.stock.quantity = 1
        self.redeem(self.user_resident)
        with self.assertRaisesRegex(UserError, "no longer available"):
            self.redeem(self.user_resident)
        self.stock.quantity = 5
        self.redeem(self.user_resident)
        self.post(self.res_a1, self.rule_clean, "earn-more", day=DAY)
        self.post(self.res_a1, self.rule_clean, "earn-more-2", day=DAY - timedelta(days=9))
        self.post(self.res_a1, self.rule_clean, "earn-more-3", day=DAY - timedelta(days=10))
        with self.assertRaisesRegex(UserError, "the most allowed"):
            self.redeem(self.user_resident)

    def test_cancel_and_expiry_refund(self):
        voucher = self.redeem(self.user_resident)
        voucher.with_user(self.user_resident).action_cancel()
        self.assertEqual(voucher.sudo().state, "cancelled")
        self.assertEqual(self.balance(self.res_a1), 12)
        self.assertEqual(self.stock.quantity, 3)
        with self.assertRaisesRegex(UserError, "refunded"):
            self.env["credit.voucher"].with_user(self.user_merchant)._honour(voucher.code)
        second = self.redeem(self.user_resident)
        with freeze_time(DAY + timedelta(days=40)):
            expired = self.env["credit.voucher"]._cron_expire_vouchers()
        self.assertEqual(expired, second.sudo())
        self.assertEqual(second.sudo().state, "expired")
        self.assertEqual(self.balance(self.res_a1), 12)
        self.assertEqual(self.ledger_sum(self.res_a1), 12)
        self.assertEqual(self.stock.quantity, 3)

    def test_staff_redeem_for_residents_of_their_places(self):
        voucher = self.redeem(self.user_grid, self.res_a1)  # estate A: theirs
        self.assertEqual(voucher.sudo().partner_id, self.res_a1)
        with self.assertRaises(AccessError):
            self.redeem(self.user_grid, self.res_b1)
        with self.assertRaises(AccessError):
            self.redeem(self.user_resident_b, self.res_a1)
        # exchange-point staff hand over any merchant's reward
        self.env["credit.voucher"].with_user(self.user_grid)._honour(voucher.sudo().code)
        self.assertEqual(voucher.sudo().state, "honoured")

    def test_bad_rewards_are_refused(self):
        with self.assertRaisesRegex(ValidationError, "above zero"):
            self.env["product.template"].create(
                {"name": "Free", "credit_is_reward": True, "credit_points_price": 0}
            )
        with self.assertRaisesRegex(ValidationError, "cannot be negative"):
            self.env["product.template"].create(
                {
                    "name": "Odd",
                    "credit_is_reward": True,
                    "credit_points_price": 5,
                    "credit_donated_value": -1,
                }
            )
        with (
            self.assertRaises(CheckViolation),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.stock.quantity = -1
            self.env.flush_all()
        self.noodles.credit_valid_to = DAY - timedelta(days=1)
        with self.assertRaisesRegex(UserError, "cannot be redeemed today"):
            self.redeem(self.user_resident)
        self.noodles.credit_valid_to = False
        self.noodles.active = False
        with self.assertRaisesRegex(UserError, "not offered"):
            self.redeem(self.user_resident)

    def test_other_community_cannot_collect_here(self):
        user_nd = new_test_user(
            self.env, "t_resident_nd", groups=RESIDENT, partner_id=self.res_nd.id, name="赵六"
        )
        self.post(self.res_nd, self.env["credit.rule"].browse(self.rule_clean.id), "nd-earn")
        with self.assertRaisesRegex(UserError, "serves residents of"):
            self.redeem(user_nd)

    def test_finance_settles_a_merchant_month(self):
        import base64
        import io
        import zipfile

        first = self.redeem(self.user_resident)
        second = self.redeem(self.user_grid, self.res_a1)
        self.env["credit.voucher"].with_user(self.user_merchant)._honour(first.sudo().code)
        self.env["credit.merchant.pledge"].with_user(self.user_finance).create(
            {
                "merchant_id": self.noodle_shop.id,
                "community_id": self.community.id,
                "month": DAY,
                "value": 10.0,
            }
        )
        Settlement = self.env["credit.settlement"].with_user(self.user_finance)
        settlement = Settlement.create(
            {
                "merchant_id": self.noodle_shop.id,
                "community_id": self.community.id,
                "date_from": DAY.replace(day=1),
                "date_to": DAY.replace(day=31),
            }
        )
        # only finance computes and settles
        with self.assertRaises(AccessError):
            settlement.with_user(self.user_manager).action_compute()
        settlement.action_compute()
        self.assertEqual(settlement.issued_count, 2)
        self.assertEqual(settlement.honoured_count, 1)
        self.assertEqual(settlement.points_honoured, 6)
        self.assertEqual(settlement.value_honoured, 6.0)
        self.assertEqual(settlement.pledged_value, 10.0)
        self.assertEqual(settlement.difference, 4.0)
        settlement.action_confirm()
        with self.assertRaisesRegex(UserError, "Explain the 1 vouchers"):
            settlement.action_reconcile()
        open_line = settlement.line_ids.filtered(lambda ln: not ln.honoured)
        self.assertEqual(open_line.voucher_id, second.sudo())
        open_line.note = "Resident will collect next week"
        with self.assertRaisesRegex(UserError, "explain the difference"):
            settlement.action_reconcile()
        settlement.difference_note = "Shop closed for four days"
        settlement.action_reconcile()
        self.assertEqual(settlement.state, "reconciled")
        # the XLSX has one row per voucher and sums that finance can check
        action = settlement.action_export_xlsx()
        attachment = self.env["ir.attachment"].browse(
            int(action["url"].split("/")[3].split("?")[0])
        )
        book = zipfile.ZipFile(io.BytesIO(base64.b64decode(attachment.datas)))
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        self.assertIn("SUM(E3:E4)", sheet)
        self.assertIn("<v>12</v>", sheet)
        # a second settlement covering some of the same days would count vouchers twice
        with self.assertRaisesRegex(ValidationError, "counted twice"), self.env.cr.savepoint():
            Settlement.create(
                {
                    "merchant_id": self.noodle_shop.id,
                    "community_id": self.community.id,
                    "date_from": DAY.replace(day=15),
                    "date_to": DAY.replace(day=28) + timedelta(days=10),
                }
            )
        # the next month is its own settlement
        after = DAY.replace(day=28) + timedelta(days=10)
        Settlement.create(
            {
                "merchant_id": self.noodle_shop.id,
                "community_id": self.community.id,
                "date_from": after.replace(day=1),
                "date_to": after.replace(day=28),
            }
        )

    def test_monthly_exchange_record_is_masked(self):
        voucher = self.redeem(self.user_resident)
        self.env["credit.voucher"].with_user(self.user_merchant)._honour(voucher.code)
        with freeze_time(DAY + timedelta(days=30)):  # April: the record of March
            record = self.community.with_user(self.user_finance)._credit_exchange_record()
        self.assertEqual(record["month"], "2025-03")
        self.assertEqual(
            [(r["resident"], r["reward"], r["points"]) for r in record["rows"]],
            [("张*", "牛肉面一碗", 6)],
        )
        self.assertEqual(record["value"], 6.0)
        with self.assertRaises(AccessError):
            self.community.with_user(self.user_grid)._credit_exchange_record()
        html, _kind = (
            self.env["ir.actions.report"]
            .with_user(self.user_finance)
            ._render_qweb_html("community_credit.action_report_exchange_record", self.community.ids)
        )
        self.assertNotIn("张三", html.decode())

    # ------------------------------------------------------ trust boundary
    def test_rpc_cannot_write_a_voucher_or_the_stock_row(self):
        voucher = self.redeem(self.user_resident)
        before = voucher.sudo().read(["state", "code", "points", "partner_id", "ledger_line_id"])
        for user in (self.user_resident, self.user_grid, self.user_manager):
            for vals in (
                {"state": "cancelled"},
                {"ledger_line_id": False},
                {"points": 1, "code": "AAAAAAAAAA"},
                {"partner_id": self.res_a2.id},
            ):
                with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
                    rpc(user, "credit.voucher", "write", [voucher.ids, vals])
        voucher.invalidate_recordset()
        self.assertEqual(
            voucher.sudo().read(["state", "code", "points", "partner_id", "ledger_line_id"]),
            before,
        )
        # the portal's paths are not RPC methods
        for method, args in (("_redeem", [self.stock.id]), ("_honour", [voucher.sudo().code])):
            with self.assertRaisesRegex(AccessError, "cannot be called remotely"):
                rpc(self.user_resident, "credit.voucher", method, args)
        # the council keeps stock, but a row stays the reward's at its community
        with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
            rpc(
                self.user_manager,
                "credit.reward.stock",
                "write",
                [self.stock.ids, {"community_id": self.community_nd.id}],
            )
        rpc(self.user_manager, "credit.reward.stock", "write", [self.stock.ids, {"quantity": 7}])
        self.assertEqual((self.stock.community_id, self.stock.quantity), (self.community, 7))

    def test_hand_over_needs_the_exact_code(self):
        voucher = self.redeem(self.user_resident)
        code = voucher.sudo().code
        Merchant = self.env["credit.voucher"].with_user(self.user_merchant)
        for wrong in ("", None, ["*"], code[:-1]):
            with self.assertRaisesRegex(UserError, "Type the code|No voucher has the code"):
                Merchant._honour(wrong)
        self.assertEqual(voucher.sudo().state, "issued")
        # staff at an exchange point, through the wizard: their places' residents only
        other = new_test_user(
            self.env, "t_grid_b", groups="base.group_user,community_credit.group_credit_grid_worker"
        )
        other.credit_place_ids = self.estate_b
        wizard = self.env["credit.voucher.honour.wizard"].with_user(other).create({"code": code})
        with self.assertRaisesRegex(AccessError, "outside the places you look after"):
            wizard.action_confirm()
        self.assertEqual(voucher.sudo().state, "issued")
        wizard = self.env["credit.voucher.honour.wizard"].with_user(self.user_grid)
        wizard.create({"code": code.lower()}).action_confirm()
        self.assertEqual(voucher.sudo().state, "honoured")
        self.assertEqual(voucher.sudo().honoured_by_id, self.user_grid)

    def test_finance_only_uses_the_buttons(self):
        self.redeem(self.user_resident)
        pledge = (
            self.env["credit.merchant.pledge"]
            .with_user(self.user_finance)
            .create(
                {
                    "merchant_id": self.noodle_shop.id,
                    "community_id": self.community.id,
                    "month": DAY,
                    "value": 10.0,
                }
            )
        )
        settlement = (
            self.env["credit.settlement"]
            .with_user(self.user_finance)
            .create(
                {
                    "merchant_id": self.noodle_shop.id,
                    "community_id": self.community.id,
                    "date_from": DAY.replace(day=1),
                    "date_to": DAY.replace(day=31),
                }
            )
        )
        settlement.action_compute()
        line = settlement.line_ids
        for vals in ({"state": "reconciled"}, {"pledged_value": 0.0}, {"name": "forged"}):
            with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
                rpc(self.user_finance, "credit.settlement", "write", [settlement.ids, vals])
        for vals in ({"points": 0}, {"honoured": True}, {"donated_value": 0.0}):
            with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
                rpc(self.user_finance, "credit.settlement.line", "write", [line.ids, vals])
        # nor through the settlement's lines
        with self.assertRaisesRegex(AccessError, WORKFLOW_ONLY):
            rpc(
                self.user_finance,
                "credit.settlement",
                "write",
                [settlement.ids, {"line_ids": [Command.update(line.id, {"honoured": True})]}],
            )
        settlement.invalidate_recordset()
        line.invalidate_recordset()
        self.assertEqual(
            (settlement.state, settlement.pledged_value, line.points, line.honoured),
            ("draft", 10.0, 6, False),
        )
        settlement.action_confirm()
        with self.assertRaisesRegex(UserError, "only a draft settlement can change"):
            rpc(
                self.user_finance,
                "credit.settlement",
                "write",
                [settlement.ids, {"date_to": DAY.replace(day=20)}],
            )
        # the pledge it counted stays as counted
        with self.assertRaisesRegex(UserError, "counted the pledge"):
            rpc(self.user_finance, "credit.merchant.pledge", "write", [pledge.ids, {"value": 1}])
        self.assertEqual(pledge.value, 10.0)
        # explanations until reconciled, then nothing
        rpc(
            self.user_finance,
            "credit.settlement",
            "write",
            [settlement.ids, {"line_ids": [Command.update(line.id, {"note": "Collects later"})]}],
        )
        self.assertEqual(line.note, "Collects later")
        settlement.with_user(self.user_finance).write({"difference_note": "Shop closed"})
        settlement.with_user(self.user_finance).action_reconcile()
        with self.assertRaisesRegex(UserError, "can no longer change"):
            rpc(self.user_finance, "credit.settlement.line", "write", [line.ids, {"note": "x"}])
        self.assertEqual(line.note, "Collects later")
        # nor deleted, which would free the pledge it counted
        with self.assertRaisesRegex(UserError, "only a draft settlement can be deleted"):
            rpc(self.user_finance, "credit.settlement", "unlink", [settlement.ids])
        self.assertEqual((settlement.exists().state, line.exists()), ("reconciled", line))
