"""Take screenshots of a running demo (make demo) for the README.

Usage: python scripts/screenshots.py [http://localhost:8069] [out_dir]
Logs in as the given user through Odoo's JSON-RPC, hands the session cookie to
headless Chromium over the DevTools protocol and saves one PNG per page.
SHOT_SET=portal takes the resident's portal pages on a phone-sized screen
(390 x 844, as a phone in the hand) logged in as the demo resident.
TIMINGS=N loads each page N times instead (no screenshots) and prints the median
and the slowest load time per page, as Chromium measures it (Navigation Timing:
from the request to the load event, the page's assets included).
"""

import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8069"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "docs")
DB = os.environ.get("DEMO_DB", "community_credit_demo")
SHOT_SET = os.environ.get("SHOT_SET", "backend")
LOGIN = os.environ.get("SHOT_LOGIN", "resident" if SHOT_SET == "portal" else "council")
TIMINGS = int(os.environ.get("TIMINGS", "0"))

PHONE = (390, 844)
PORTAL_PAGES = [
    ("warmup", "/my", *PHONE),
    ("portal_credit", "/my/credit", *PHONE),
    ("portal_declare", "/my/credit/declare", *PHONE),
    ("portal_claims", "/my/credit/claims", *PHONE),
    ("portal_events", "/my/credit/events", *PHONE),
    ("portal_rewards", "/my/credit/rewards", *PHONE),
    ("portal_commitments", "/my/credit/commitments", *PHONE),
    ("portal_boards", "/my/credit/boards", *PHONE),
    ("portal_notices", "/my/credit/notices", *PHONE),
]
BACKEND_PAGES = [
    ("warmup", "/odoo", 1280, 800),
    ("ledger", "/odoo/action-community_credit.credit_ledger_line_action", 1280, 800),
    (
        "ledger_pivot",
        "/odoo/action-community_credit.credit_ledger_line_action?view_type=pivot",
        1280,
        800,
    ),
    ("leaderboard", "/odoo/action-community_credit.credit_balance_action", 1280, 800),
    ("rules", "/odoo/action-community_credit.credit_rule_action", 1280, 900),
    ("claims", "/odoo/action-community_credit.credit_claim_action", 1280, 800),
    ("publications", "/odoo/action-community_credit.credit_claim_action_published", 1280, 800),
    ("subject", "/odoo/contacts/" + os.environ.get("SHOT_PARTNER", "1") + "?tab=credit", 1280, 900),
]
PAGES = PORTAL_PAGES if SHOT_SET == "portal" else BACKEND_PAGES


def session_id():
    body = json.dumps(
        {"jsonrpc": "2.0", "params": {"db": DB, "login": LOGIN, "password": LOGIN}}
    ).encode()
    req = urllib.request.Request(
        BASE + "/web/session/authenticate", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        for header in resp.headers.get_all("Set-Cookie"):
            if header.startswith("session_id="):
                return header.split(";")[0].split("=", 1)[1]
    raise SystemExit("login failed")


def main():
    sid = session_id()
    profile = tempfile.mkdtemp()
    chrome = subprocess.Popen(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=9333",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                with urllib.request.urlopen("http://127.0.0.1:9333/json", timeout=2) as resp:
                    targets = json.load(resp)
                break
            except OSError:
                time.sleep(0.2)
        page = next(t for t in targets if t["type"] == "page")
        ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        counter = iter(range(1, 10**6))

        def call(method, **params):
            msg_id = next(counter)
            ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
            while True:
                reply = json.loads(ws.recv())
                if reply.get("id") == msg_id:
                    return reply.get("result", {})

        call("Network.enable")
        call("Network.setCookie", name="session_id", value=sid, url=BASE)
        call("Page.enable")
        if TIMINGS:
            return measure(call, ws)
        for name, path, width, height in PAGES:
            call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=SHOT_SET == "portal",
            )
            call("Page.navigate", url=BASE + path)
            time.sleep(10 if name == "warmup" else 6)
            if name == "warmup":
                continue
            if name == "subject":  # open the Credit tab
                call(
                    "Runtime.evaluate",
                    expression="document.querySelector('.nav-link[name=credit]').click()",
                )
                time.sleep(1.5)
            shot = call("Page.captureScreenshot", format="png")
            with open(os.path.join(OUT, f"{name}.png"), "wb") as fh:
                fh.write(base64.b64decode(shot["data"]))
            print("saved", name)
    finally:
        chrome.terminate()


def measure(call, ws):
    """Load each page TIMINGS times at its size; print median and max load time."""
    print(f"{'page':<28} {'median':>8} {'max':>8}   ({TIMINGS} loads each, {LOGIN})")
    loaded = (
        "window.ccOld ? 0 : "
        "((performance.getEntriesByType('navigation')[0] || {}).loadEventEnd || 0)"
    )
    for _name, path, width, height in PAGES:
        call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=SHOT_SET == "portal",
        )
        times = []
        for _ in range(TIMINGS + 1):  # the first load warms the caches: not counted
            call("Runtime.evaluate", expression="window.ccOld = 1")  # marks the old page
            call("Page.navigate", url=BASE + path)
            for _ in range(600):
                ready = call("Runtime.evaluate", expression=loaded, returnByValue=True)
                value = ready.get("result", {}).get("value") or 0
                if value:
                    break
                time.sleep(0.05)
            times.append(value)
        times = times[1:]
        print(f"{path:<28} {statistics.median(times):>6.0f} ms {max(times):>6.0f} ms")


if __name__ == "__main__":
    main()
