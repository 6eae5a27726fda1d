import html
import io
import json
import re
import socket
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch
from urllib.parse import unquote

import psutil

from odoo import Command, fields, http
from odoo.tests import new_test_user, tagged
from odoo.tools import config
from odoo.tools.pdf import PdfFileReader

from .common_portal import PortalCase

# wkhtmltopdf prints one of these pages in a few seconds; beyond this it hangs
PDF_TIMEOUT = 60


def closed_port():
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pdf_text(content):
    """The text of every page of a PDF, runs of spaces and tabs made one space."""
    pages = PdfFileReader(io.BytesIO(content)).pages
    text = " ".join(
        (page.extract_text() if hasattr(page, "extract_text") else page.extractText())
        for page in pages
    )
    return len(pages), " ".join(text.split())


@tagged("post_install", "-at_install")
class TestReportsPdf(PortalCase):
    """Every PDF a user downloads is a real PDF: downloaded as its user does it
    (the resident's portal links; staff's Print menu and Print button, which the
    web client turns into /report/download), it opens, has a page and shows what
    it must, under a meaningful file name.

    Under --test-enable Odoo renders HTML instead of PDF unless the context says
    force_report_rendering, which no route carries: the downloads run with
    test_enable off. wkhtmltopdf would fetch the report's CSS from this test
    server while the request holds the test cursor, and wait for ever: the
    report URL (report.url) points at a closed local port, the fetch fails at
    once and Odoo accepts wkhtmltopdf's "content not found" exit code."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param("report.url", f"http://127.0.0.1:{closed_port()}")
        # Latin names: the text is checked whatever fonts the machine has
        cls.res_a1.name = "Zhang San"
        for n in range(3):  # 3 x 2 points
            cls.post(cls.res_a1, cls.rule_clean, f"pdf-clean-{n}")

    @contextmanager
    def real_pdf(self):
        """Odoo renders PDFs for the requests made inside; a wkhtmltopdf that
        hangs is stopped after PDF_TIMEOUT and the test fails."""
        stopped = []

        def stop_wkhtmltopdf():
            for child in psutil.Process().children(recursive=True):
                if child.name().startswith("wkhtmltopdf"):
                    stopped.append(child.pid)
                    child.kill()

        watchdog = threading.Timer(PDF_TIMEOUT, stop_wkhtmltopdf)
        watchdog.start()
        try:
            with patch.dict(config.options, {"test_enable": False}):
                yield
        finally:
            watchdog.cancel()
            if stopped:
                self.fail(f"wkhtmltopdf did not finish within {PDF_TIMEOUT}s: stopped {stopped}")

    def download(self, url, data=None):
        with self.real_pdf():
            return self.url_open(url, data=data, timeout=PDF_TIMEOUT + 30)

    def assert_pdf(self, response, filename, *texts):
        """The response is a PDF file named `filename` that opens, with at least
        one page, and shows `texts`; returns its text."""
        self.assertEqual(response.status_code, 200, response.text[:2000])
        self.assertEqual(response.headers.get("Content-Type"), "application/pdf")
        self.assertTrue(response.content.startswith(b"%PDF-"), response.content[:300])
        disposition = response.headers.get("Content-Disposition", "")
        named = re.fullmatch(r"attachment; filename\*=UTF-8''(.+)", disposition)
        self.assertTrue(named, f"downloaded as a file: {disposition!r}")
        self.assertEqual(unquote(named.group(1)), filename)
        pages, text = pdf_text(response.content)
        self.assertGreaterEqual(pages, 1)
        for expected in texts:
            self.assertIn(expected, text)
        return text

    def link(self, page_url, label):
        """The address of the link `label` on the page, as the user clicks it."""
        page = self.url_open(page_url)
        self.assertEqual(page.status_code, 200)
        found = re.search(rf'href="([^"]+)"[^>]*>\s*{re.escape(label)}\s*<', page.text)
        self.assertTrue(found, f"{label!r} on {page_url}")
        return html.unescape(found.group(1))

    def print_menu(self, user, records, report_name):
        """Print ▸ `report_name` on `records` in the backend, as `user`: the menu
        offers the report, the web client loads its action and downloads
        /report/pdf/<report>/<ids> through /report/download."""
        offered = (
            self.env["ir.actions.actions"]
            .with_user(user)
            .get_bindings(records._name)
            .get("report", [])
        )
        binding = next((b for b in offered if b["name"] == report_name), None)
        self.assertTrue(binding, f"{report_name!r} in {user.login}'s Print menu")
        action = self.make_jsonrpc_request("/web/action/load", {"action_id": binding["id"]})
        return self.download_action(user, action, records.ids)

    def download_action(self, user, action, ids):
        """What the web client does with a report action (getReportUrl and
        downloadReport of web/static/src/webclient/actions/reports/utils.js)."""
        self.assertEqual(action["type"], "ir.actions.report")
        self.assertEqual(action["report_type"], "qweb-pdf")
        url = f"/report/pdf/{action['report_name']}/{','.join(map(str, ids))}"
        user_context = {
            "lang": user.lang,
            "tz": user.tz or "UTC",
            "uid": user.id,
            "allowed_company_ids": user.company_id.ids,
        }
        return self.download(
            "/report/download",
            data={
                "data": json.dumps([url, action["report_type"]]),
                "context": json.dumps(user_context),
                "csrf_token": http.Request.csrf_token(self),
            },
        )

    # ------------------------------------------------------------- portal
    def test_resident_downloads_passbook(self):
        self.authenticate("t_resident", "t_resident")
        url = self.link("/my/credit", "Download My Passbook")
        self.assertEqual(url, "/my/credit/passbook")
        self.assert_pdf(
            self.download(url),
            "Points_Passbook_Zhang_San.pdf",
            "Points Passbook",
            "Zhang San",
            "Clean the stairwell",
            "+2",
        )

    def test_resident_downloads_signed_commitment(self):
        template = self.env["credit.commitment.template"].create(
            {
                "name": "Tidy stairwell commitment",
                "role_id": self.env.ref("community_credit.role_resident").id,
                "text": "<p>I keep the stairwell tidy.</p>",
                "obligation_ids": [
                    Command.create({"name": "Earn 5 points", "kind": "points", "target": 5})
                ],
            }
        )
        commitment = self.env["credit.commitment"].create(
            {"template_id": template.id, "partner_id": self.res_a1.id}
        )
        commitment.with_user(self.user_grid).action_sign(origin="office")
        start = commitment.date_from
        filename = f"Commitment_Zhang_San_{start:%Y_%m_%d}.pdf"
        texts = ("Tidy stairwell commitment", "Zhang San", "I keep the stairwell tidy.")

        self.authenticate("t_resident", "t_resident")
        url = self.link(f"/my/credit/commitments/{commitment.id}", "Download PDF")
        self.assertEqual(
            url, f"/my/credit/commitments/{commitment.id}?report_type=pdf&download=true"
        )
        self.assert_pdf(self.download(url), filename, *texts, "Earn 5 points")

        # staff print it from the commitment's form (its Print button)
        self.authenticate("t_grid", "t_grid")
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "credit.commitment",
                "method": "action_print",
                "args": [commitment.ids],
                "kwargs": {},
            },
        )
        self.assert_pdf(
            self.download_action(self.user_grid, action, commitment.ids),
            f"Commitment - Zhang San - {start}.pdf",
            *texts,
        )

    # ------------------------------------------------------------ backend
    def test_grid_worker_prints_passbook(self):
        self.authenticate("t_grid", "t_grid")
        self.assert_pdf(
            self.print_menu(self.user_grid, self.res_a1, "Points Passbook"),
            "Passbook - Zhang San.pdf",
            "Points Passbook",
            "Zhang San",
            "Clean the stairwell",
        )

    def test_grid_worker_prints_volunteer_certificate(self):
        start = datetime.combine(fields.Date.today() - timedelta(days=3), datetime.min.time())
        event = self.env["event.event"].create(
            {
                "name": "Spring clean-up",
                "date_begin": start + timedelta(hours=1),
                "date_end": start + timedelta(hours=3),
                "credit_rule_id": self.rule_patrol.id,
                "credit_community_id": self.community.id,
            }
        )
        registration = (
            self.env["event.registration"]
            .with_user(self.user_organiser)
            .create({"event_id": event.id, "partner_id": self.res_a1.id})
        )
        registration.with_user(self.user_organiser).action_set_done()

        self.authenticate("t_grid", "t_grid")
        text = self.assert_pdf(
            self.print_menu(self.user_grid, self.res_a1, "Volunteer Service Certificate"),
            "Volunteer certificate - Zhang San.pdf",
            "Volunteer Service Certificate",
            "Zhang San",
            "Spring clean-up",
        )
        # 2 hours at 1 event, for the patrol's 4 points
        self.assertIn("served 2.0 hours at 1 volunteer events and earned 4 credit points", text)

    def test_council_prints_exchange_record(self):
        merchant = new_test_user(
            self.env,
            "t_noodle_merchant",
            groups="base.group_portal",
            parent_id=self.noodle_shop.id,
        )
        Voucher = self.env["credit.voucher"]
        voucher = Voucher.with_user(self.user_resident)._redeem(self.stock.id)
        Voucher.with_user(merchant)._honour(voucher.code)
        # handed over last month: the record printed this month shows it
        last_month = fields.Date.today().replace(day=1) - timedelta(days=1)
        voucher.sudo().write({"issue_date": last_month})

        self.authenticate("t_manager", "t_manager")
        text = self.assert_pdf(
            self.print_menu(self.user_manager, self.community, "Monthly Exchange Record"),
            "Exchange record - Test Community.pdf",
            "Exchange Record",
            f"{last_month:%Y-%m}",
            "Bowl of noodles",
            "Z**** S**",  # the resident's name, masked
        )
        self.assertNotIn("Zhang San", text)
