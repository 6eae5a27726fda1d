import base64
import logging
import re
import threading
from contextlib import contextmanager
from datetime import timedelta

from odoo import Command, fields
from odoo.http import root
from odoo.tests import new_test_user, tagged

from ..controllers.portal import READ_AFTER_WRITE_PARAM, WROTE_AT
from .common_portal import PNG, PortalCase

REQUEST_LINE = re.compile(r'"(GET|POST) (\S+) HTTP/')


@contextmanager
def cursor_modes():
    """The requests served meanwhile, as (method, path, cursor mode), the mode
    being Odoo's own record of the transaction a request ran in
    (odoo.http.Request._transactioning): 'ro' a read-only cursor (the replica's
    when Odoo has one), 'rw' read/write, 'ro->rw' read-only first, then again
    read/write after a write. It is read in the server's thread when werkzeug
    logs the request, once the request is served."""
    served = []

    class Handler(logging.Handler):
        def emit(self, record):
            match = REQUEST_LINE.search(record.getMessage())
            if match:
                mode = getattr(threading.current_thread(), "cursor_mode", None)
                served.append((match[1], match[2], mode))

    logger = logging.getLogger("werkzeug")
    handler, level = Handler(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield served
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@tagged("post_install", "-at_install")
class TestReplicaReads(PortalCase):
    """The portal's pages that only read run on a read-only cursor (on the
    replica when Odoo has one); after a change of their own, a user's next pages
    run on the primary for community_credit.replica_read_after_write seconds and
    show it; then on the read-only cursor again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        today = fields.Date.today()
        for n in range(15):  # 张三 earns 15 x 2 = 30 points
            cls.post(cls.res_a1, cls.rule_clean, f"ro-earn-{n}", day=today - timedelta(days=n))
        as_zhang = cls.env(user=cls.user_resident)
        cls.claim = (
            cls.Claim.with_env(as_zhang)
            ._portal_declare(
                cls.rule_help.id, today, "Fixed the door", [("door.png", base64.b64encode(PNG))]
            )
            .with_env(cls.env)
        )
        # 李四's claim, published in their estate: 张三 may object to it
        cls.published = (
            cls.Claim.with_user(cls.user_resident_a2)
            ._portal_declare(cls.rule_help.id, today, "Carried shopping", [])
            .with_env(cls.env)
        )
        cls.published.with_user(cls.user_reviewer).action_approve()
        cls.evidence = cls.env["ir.attachment"].create(
            {"name": "stairwell.png", "raw": PNG, "mimetype": "image/png"}
        )
        cls.fight = cls.post(
            cls.res_a1, cls.rule_fight, "ro-fight", day=today,
            description="A quarrel on the stairs", attachment_ids=[Command.set(cls.evidence.ids)],
        )  # fmt: skip
        cls.notice = cls.env["credit.notice"].search([("ledger_line_id", "=", cls.fight.id)])
        cls.voucher = cls.env["credit.voucher"].with_env(as_zhang)._redeem(cls.stock.id)
        role = cls.env.ref("community_credit.role_resident")
        Template = cls.env["credit.commitment.template"]
        cls.template, cls.template_offered = Template.create(
            [
                {
                    "name": name,
                    "role_id": role.id,
                    "text": text,
                    "obligation_ids": [
                        Command.create({"name": "Earn 5 points", "kind": "points", "target": 5})
                    ],
                }
                for name, text in (
                    ("Tidy stairwell pledge", "<p>Keep it tidy.</p>"),
                    ("Quiet nights pledge", "<p>No noise.</p>"),
                )
            ]
        )
        cls.commitment = (
            cls.env["credit.commitment"].with_env(as_zhang)._portal_sign(cls.template.id)
        ).with_env(cls.env)
        cls.board = cls.env["credit.board"].create(
            {"place_id": cls.community.id, "date_from": today.replace(day=1), "title": "x"}
        )
        cls.board.action_generate()
        cls.board.action_publish()
        cls.merchant = new_test_user(
            cls.env, "ro_merchant", groups="base.group_portal", parent_id=cls.noodle_shop.id
        )

    def session_of_test(self):
        """The session of the test's browser, as the server stored it."""
        # the test's cookie and the one the server sets back, for another domain
        sids = {cookie.value for cookie in self.opener.cookies if cookie.name == "session_id"}
        self.assertEqual(len(sids), 1)
        return root.session_store.get(sids.pop())

    def assert_modes(self, served, expected):
        self.assertEqual([(method, path, mode) for method, path, mode in served], expected)

    def test_pages_that_only_read_run_read_only(self):
        pages = {
            "/my/credit": "Clean the stairwell",
            "/my/credit/declare": "Help a neighbour",
            "/my/credit/claims": self.claim.name,
            f"/my/credit/claims/{self.claim.id}": "Fixed the door",
            "/my/credit/publications": f"/my/credit/publications/{self.published.id}/object",
            "/my/credit/notices": "A quarrel on the stairs",
            "/my/credit/events": "Stairwell patrol",
            "/my/credit/rewards": self.voucher.code,
            f"/my/credit/rewards/vouchers/{self.voucher.id}": self.voucher.code,
            "/my/credit/commitments": "Quiet nights pledge",
            f"/my/credit/commitments/{self.commitment.id}": "Tidy stairwell pledge",
            f"/my/credit/commitments/{self.commitment.id}?report_type=pdf": "Keep it tidy.",
            f"/my/credit/commitments/sign/{self.template_offered.id}": "No noise.",
            "/my/credit/boards": self.board.name,
            "/my/credit/passbook": "张三",
        }
        self.authenticate("t_resident", "t_resident")
        # a write on a read-only cursor would log a WARNING ("retrying with a
        # read/write cursor") and the failed query an ERROR
        with self.assertNoLogs("odoo", "WARNING"), cursor_modes() as served:
            for url, marker in pages.items():
                response = self.url_open(url)
                self.assertEqual(response.status_code, 200, url)
                self.assertFalse(response.history, f"{url} is shown, not redirected")
                self.assertIn(marker, response.text, url)
            evidence = f"/my/credit/notices/{self.notice.id}/evidence/{self.evidence.id}"
            self.assertEqual(self.url_open(evidence).content, PNG)
        self.assert_modes(served, [("GET", url, "ro") for url in [*pages, evidence]])
        # the board's page logged its view on a read/write cursor of its own
        views = self.env["credit.board.view"].search([("board_id", "=", self.board.id)])
        self.assertEqual(views.user_id, self.user_resident)
        self.assertEqual(views.channel, "portal")

        self.authenticate("ro_merchant", "ro_merchant")
        with self.assertNoLogs("odoo", "WARNING"), cursor_modes() as served:
            response = self.url_open("/my/credit/vouchers")
            self.assertEqual(response.status_code, 200)
            self.assertIn('name="code"', response.text)
        self.assert_modes(served, [("GET", "/my/credit/vouchers", "ro")])

    def test_own_claim_shows_at_once_then_pages_read_only_again(self):
        self.authenticate("t_resident", "t_resident")
        self.assertNotIn(WROTE_AT, self.session_of_test())
        with cursor_modes() as served:
            response = self.declare(self.rule_clean, description="Swept the bike shed")
            claim = self.claims_of(self.res_a1).filtered(
                lambda c: c.description == "Swept the bike shed"
            )
            self.assertTrue(claim)
            listing = self.url_open("/my/credit/claims")
        self.assertIn(WROTE_AT, self.session_of_test(), "the session knows of the change")
        self.assert_modes(
            served,
            [
                ("GET", "/my/credit/declare", "ro"),  # the form's CSRF token
                ("POST", "/my/credit/declare", "rw"),
                ("GET", f"/my/credit/claims/{claim.id}?submitted=1", "rw"),
                ("GET", "/my/credit/claims", "rw"),
            ],
        )
        self.assertIn(claim.name, response.text)
        self.assertIn(claim.name, listing.text)

        # past the parameter's seconds (0 here), the pages read on the replica again
        self.env["ir.config_parameter"].set_param(READ_AFTER_WRITE_PARAM, "0")
        with cursor_modes() as served:
            listing = self.url_open("/my/credit/claims")
            self.url_open("/my/credit")
        self.assert_modes(served, [("GET", "/my/credit/claims", "ro"), ("GET", "/my/credit", "ro")])
        self.assertIn(claim.name, listing.text)
        self.assertNotIn(WROTE_AT, self.session_of_test(), "forgotten once past")

    def test_every_change_reads_on_the_primary_next(self):
        """Each of the resident's changes on the portal marks the session: the
        page that shows it runs on the primary."""
        today = fields.Date.to_string(fields.Date.today())
        registration = (
            self.env["event.event"]
            .with_user(self.user_resident)
            ._credit_portal_register(self.event.id)
            .with_env(self.env)
        )
        sent_back = self.Claim.with_user(self.user_resident)._portal_declare(
            self.rule_photo.id,
            fields.Date.today(),
            "Six-have family",
            [("p.png", base64.b64encode(PNG))],
        )
        sent_back.with_user(self.user_reviewer).action_send_back("A clearer photo, please.")
        self.community.write({"repair_enabled": True, "repair_hours": 4, "repair_days": 90})
        changes = [
            ("/my/credit/declare", {"rule_id": self.rule_clean.id, "date": today,
                                    "description": "Swept"}, "/my/credit/claims"),
            (f"/my/credit/claims/{sent_back.id}/resubmit", {}, f"/my/credit/claims/{sent_back.id}"),
            (f"/my/credit/publications/{self.published.id}/object",
             {"reason": "He was away that day."}, "/my/credit/publications"),
            (f"/my/credit/repair/{self.fight.id}", {}, "/my/credit"),
            (f"/my/credit/notices/{self.notice.id}/appeal",
             {"reason": "It was 王五, not me."}, "/my/credit/notices"),
            (f"/my/credit/events/registration/{registration.id}/cancel", {}, "/my/credit/events"),
            (f"/my/credit/events/{self.event.id}/register", {}, "/my/credit/events"),
            ("/my/credit/rewards/redeem", {"stock_id": self.stock.id}, "/my/credit/rewards"),
            ("/my/credit/commitments/sign", {"template_id": self.template_offered.id,
                                             "accept": "1"}, "/my/credit/commitments"),
        ]  # fmt: skip
        for url, data, page in changes:
            with self.subTest(url=url):
                self.authenticate("t_resident", "t_resident")  # a new session, no change yet
                token = self.csrf()
                with cursor_modes() as served:
                    response = self.url_open(url, data={"csrf_token": token, **data})
                    self.assertNotIn("o_credit_error", response.text, url)
                    self.assertNotIn("alert-danger", response.text, url)
                    self.url_open(page)
                self.assertIn(WROTE_AT, self.session_of_test(), url)
                self.assertEqual(served[0][:2], ("POST", url))
                self.assertEqual(served[-1], ("GET", page, "rw"))
        self.env.invalidate_all()
        self.assertEqual(registration.state, "cancel")
        signed_up = self.env["event.registration"].search(
            [("partner_id", "=", self.res_a1.id), ("state", "!=", "cancel")]
        )
        self.assertEqual(signed_up.event_id, self.event, "signed up again")
        self.assertEqual(sent_back.state, "review")
        self.assertTrue(self.published.objection_ids)
        self.assertTrue(self.notice.appeal_ids)
        self.assertTrue(self.env["credit.repair"].search([("ledger_line_id", "=", self.fight.id)]))

        # the merchant's hand-over: their list of hand-overs runs on the primary next
        self.authenticate("ro_merchant", "ro_merchant")
        token = self.csrf("/my/credit/vouchers")
        with cursor_modes() as served:
            response = self.url_open(
                "/my/credit/vouchers/honour", data={"csrf_token": token, "code": self.voucher.code}
            )
            self.assertIn("Hand over", response.text)
            self.url_open("/my/credit/vouchers")
        self.assertIn(WROTE_AT, self.session_of_test())
        self.assertEqual(served[-1], ("GET", "/my/credit/vouchers", "rw"))

    def test_a_refused_change_keeps_reading_on_the_replica(self):
        self.authenticate("t_resident", "t_resident")
        token = self.csrf()
        with cursor_modes() as served:
            refused = self.url_open(
                f"/my/credit/publications/{self.published.id}/object",
                data={"csrf_token": token, "reason": "  "},
            )
            self.url_open("/my/credit/publications")
        self.assertIn("o_credit_error", refused.text)
        self.assertNotIn(WROTE_AT, self.session_of_test())
        self.assertEqual(served[-1], ("GET", "/my/credit/publications", "ro"))
