#!/usr/bin/env python3
"""A hostile-user run against a served Community Credit demo database.

    python3 scripts/hostile.py --url http://127.0.0.1:8069 --db community_credit_demo

Odoo must already serve the demo database (``make demo``). The run logs in as every
non-admin demo user of ``demo/*.xml`` (resident, merchant, grid worker, reviewer,
finance, council), over JSON-RPC (``/web/session/authenticate``, then
``/web/dataset/call_kw`` and the portal routes with the same session) and over XML-RPC
(``/xmlrpc/2/common`` and ``/xmlrpc/2/object``), alternating the two, and tries what a
hostile but logged-in user would:

1. ``write``: every workflow/system field of every model of the addon (and the
   addon's ``credit_*`` fields of res.partner, res.users, event.event, event.type,
   event.registration and product.template) on records the user can read and on
   neighbouring records they cannot, with a forged context holding every
   ``credit_*`` key the addon's code reads (found by parsing it);
2. ``create``: every model of the addon with its system fields set, and again with
   them given as forged ``default_<field>`` context keys;
3. ``method``: every public method of the addon's models and wizards (found by
   parsing models/ and wizards/ with ``ast``) on records of other subjects, with
   out-of-scope arguments and the forged context;
4. ``portal``: every ``@http.route`` of controllers/ (parsed), GET and POST with the
   ids of other residents' records, and POSTs without a CSRF token;
5. ``attachment``: linking files the user cannot open to their own draft claim, then
   fetching them through the notice evidence route and ``/web/content``.

Every attempt is judged by reading the database back as the administrator over
XML-RPC: it "got through" only when something changed that the user may not change:
the forged value is there and the record was last written by the hostile user, a
record appeared that the user created (a ledger line, a voucher, a registration…),
or a page served a record or file of somebody else. Refusals are RPC errors, HTTP 4xx,
redirects to the login or another page, and 200s that changed nothing. What users
legitimately may do (SECURITY.md) is in the allow-lists below and never reported.

Bounded and polite: one thread, loopback hosts only (no proxy, no redirect is
followed), ``--max-attempts`` and ``--seconds``. The run changes the database only
through its attempts, plus one draft claim per declaring user that it creates to
test evidence links and deletes at the end; whatever got through is put back where
the administrator can write it. At the end it checks that every balance equals the
sum of its subject's ledger, prints a summary and exits 1 if anything got through or
a balance differs from its ledger (2 on a usage or connection error).
"""

import argparse
import ast
import hashlib
import http.cookiejar
import ipaddress
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import xmlrpc.client
from collections import Counter, defaultdict

ADDON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON = "community_credit"

# --------------------------------------------------------------------------------------
# Allow-list: what users legitimately may do, and so is never reported
# --------------------------------------------------------------------------------------
# Roles come from the user's groups: resident, merchant (portal user of a shop that
# donates rewards), grid, reviewer, finance, manager (council), admin, events (Odoo's
# Events user); every user is also "reader" of what record rules show them.
#
# 1. The declared surface is SECURITY.md itself, read at start-up (the format
#    tests/surface.py reads): per model the fields users may write by hand ("user
#    fields"), those they may give at creation ("create only"), and per public method
#    the callers it serves ([resident, grid, …]; "reader": anyone who may read the
#    record). Every other field is the server's: a forged value of it that lands is a
#    hole, whoever the user (council members included).
# 2. Declared user fields are legitimate for whoever the model's access rights and
#    record rules let write them, within the scope the declaration describes (a
#    resident's own draft claim: rule, date, description, subjects and evidence they
#    may read; a grid worker's contacts of their places…). The run writes them only
#    where they must be refused:
#    - on records the user cannot read (neighbouring ids);
#    - outside the state in which they may change (STATE_WINDOWS: "in draft", "while
#      open");
#    - with ids of records the user cannot read (SECURITY.md rule 3; a claim's subjects
#      may also be residents a delegated declarant of its rule cannot read);
#    - by a grid worker, with a place, household or subject outside their places
#      (SCOPED_VALUES), or on a contact outside them;
#    - by a user without write access to the model.
# 3. A declared method is called by the callers it serves only on records they cannot
#    read (or with arguments outside their scope); by everybody else on records they
#    can read too. Odoo's own API the addon overrides (ODOO_API) only on records the
#    user cannot read: deleting or copying what one may is no hole.
# 4. Portal routes are called with records of subjects outside the user's scope only
#    (another resident's claim, notice, voucher, registration or deduction; a past
#    event or another community's; a template not offered; a deduction rule to
#    declare; a published claim the user cannot read to object to): a resident's own
#    records are theirs to use. A page may show what the user may read anyway; a hole
#    is a page or file showing what their own rights hide.
# 5. Rows a user's harmless actions create are not holes: the boards page's view log
#    (HARMLESS_NEW); chatter, activities and files (NOTE_MODELS) are listed as notes.
# 6. A write Odoo accepts that leaves the value as it was (or stores another value
#    than the forged one) is a refusal; a change counts only when the record was last
#    written by the hostile user (a scheduled action's writes are not theirs).
STATE_WINDOWS = {
    # model: {field ("*" for every user field): (state field, states it may change in)}
    "credit.claim": {"*": ("state", {"draft"})},
    "credit.settlement": {
        "*": ("state", {"draft"}),
        "difference_note": ("state", {"draft", "confirmed"}),  # until reconciled
        "line_ids": ("state", {"draft", "confirmed"}),
    },
    "credit.board": {"*": ("state", {"draft"})},
    "credit.appeal": {"*": ("state", {"open"})},
    "credit.claim.objection": {"*": ("state", {"open"})},
    "credit.review.batch": {"*": ("state", {"draft"})},
    "credit.commitment": {"*": ("state", {"draft"})},  # unsigned commitments only
}
# Declared fields a grid worker (not the council) may set only to values within their
# places: a contact's place and household, a household's place, a commitment's subject.
SCOPED_VALUES = {
    ("res.partner", "credit_place_id"): "place",
    ("res.partner", "credit_household_id"): "household",
    ("credit.household", "place_id"): "place",
    ("credit.commitment", "partner_id"): "subject",
}

# Methods of Odoo's own API that the addon overrides (SECURITY.md: "Odoo's surface"):
# create and write are kinds 1 and 2; the others are called on records the user
# cannot read only (deleting or copying what one may legitimately is no hole).
ODOO_API = {"create", "write", "unlink", "copy", "copy_data", "init", "default_get", "name_create"}

# Methods whose arguments name the records (model-level): the run gives them records
# of subjects outside the user's scope, so no caller makes them legitimate here.
# (redeem, honour and request_repair were the last ones; they are private now)
MODEL_LEVEL_ARGS = {}

# Rows a hostile user's harmless page views create: the view log of the boards page
# (SECURITY.md: every opening is logged).
HARMLESS_NEW = {"credit.board.view"}
# Models whose new rows (by the hostile user) are reported as notes, not holes: chatter,
# activities and files of the records the user worked on.
NOTE_MODELS = {"mail.message", "mail.activity", "ir.attachment"}

# Fields never written: Odoo's own bookkeeping, chatter and portal sharing fields.
MAGIC = {
    "id",
    "display_name",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
    "__last_update",
}
SKIP_PREFIX = ("message_", "activity_", "website_message", "rating_", "access_", "my_activity")
SKIP_TYPES = {
    "binary",
    "properties",
    "properties_definition",
    "json",
    "reference",
    "many2one_reference",
}

# Selection values preferred when forging a state: the far end of each workflow.
FAR_STATES = (
    "done",
    "published",
    "posted",
    "approved",
    "signed",
    "honoured",
    "upheld",
    "met",
    "sent",
    "repaired",
    "confirmed",
    "reconciled",
    "certified",
    "evaluated",
    "kept",
)

# Odoo core context switches tried together with the addon's own keys.
EXTRA_CONTEXT = {
    "install_mode": True,
    "import_file": True,
    "active_test": False,
    "tracking_disable": True,
    "mail_notrack": True,
    "module": ADDON,
}

# Route parameters and the model whose ids they name.
PARAM_MODELS = {
    "claim_id": "credit.claim",
    "notice_id": "credit.notice",
    "attachment_id": "ir.attachment",
    "line_id": "credit.ledger.line",
    "event_id": "event.event",
    "registration_id": "event.registration",
    "voucher_id": "credit.voucher",
    "commitment_id": "credit.commitment",
    "template_id": "credit.commitment.template",
    "stock_id": "credit.reward.stock",
    "rule_id": "credit.rule",
}

EXTENSION_MODELS = (
    "res.partner",
    "res.users",
    "event.event",
    "event.type",
    "event.registration",
    "product.template",
)


# --------------------------------------------------------------------------------------
# The addon's surface, read from its source
# --------------------------------------------------------------------------------------
def _literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _decorator_names(func):
    names = set()
    for dec in func.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        names.add(ast.unparse(target))
    return names


def parse_models():
    """{model: {"methods": {name: info}, "transient": bool, "abstract": bool}} of the
    classes of models/ and wizards/ that have a _name or _inherit."""
    result = {}
    for folder in ("models", "wizards"):
        path = os.path.join(ADDON_DIR, folder)
        for filename in sorted(os.listdir(path)):
            if not filename.endswith(".py"):
                continue
            tree = ast.parse(open(os.path.join(path, filename), encoding="utf-8").read())
            for cls in tree.body:
                if not isinstance(cls, ast.ClassDef):
                    continue
                attrs = {}
                for stmt in cls.body:
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                        attrs[stmt.targets[0].id] = _literal(stmt.value)
                name = attrs.get("_name")
                inherit = attrs.get("_inherit")
                if not name:
                    name = inherit if isinstance(inherit, str) else None
                if not name:
                    continue
                bases = {ast.unparse(b) for b in cls.bases}
                entry = result.setdefault(
                    name, {"methods": {}, "transient": False, "abstract": False}
                )
                entry["transient"] |= any("TransientModel" in b for b in bases)
                entry["abstract"] |= any("AbstractModel" in b for b in bases)
                for func in cls.body:
                    if not isinstance(func, ast.FunctionDef) or func.name.startswith("_"):
                        continue
                    decorators = _decorator_names(func)
                    if "api.private" in decorators:
                        continue
                    args = func.args.args[1:]
                    required = args[: len(args) - len(func.args.defaults)]
                    entry["methods"][func.name] = {
                        "model_level": "api.model" in decorators
                        or "api.model_create_multi" in decorators,
                        "args": [a.arg for a in required],
                        "file": f"{folder}/{filename}",
                    }
    return result


CONTEXT_KEY_RE = re.compile(
    r"""context(?:\.get\(|\[)\s*["'](credit_\w+)["']|with_context\([^)]*?\b(credit_\w+)\s*=|["'](credit_\w+)["']\s*(?:not\s+)?in\s+\S*context"""
)
# keys the addon's code read in earlier releases (git history) and the issue lists
KNOWN_CONTEXT_KEYS = (
    "credit_claim_workflow",
    "credit_appeal_workflow",
    "credit_notice_sending",
    "credit_board_publishing",
    "credit_rule_versioning",
    "credit_posting",
    "credit_budget_approved",
    "credit_notice_channel",
    "credit_merge_keep",
    "credit_checked_vals",
    "credit_budget_reason",
    "credit_rule_version_note",
)


def parse_context_keys():
    keys = set(KNOWN_CONTEXT_KEYS)
    for folder in ("models", "wizards", "controllers"):
        path = os.path.join(ADDON_DIR, folder)
        for filename in os.listdir(path):
            if filename.endswith(".py"):
                text = open(os.path.join(path, filename), encoding="utf-8").read()
                for match in CONTEXT_KEY_RE.finditer(text):
                    keys.add(next(g for g in match.groups() if g))
    return sorted(keys)


def _route_path(node):
    """The path of a route decorator's first argument; f-string parts become <int:x>."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.JoinedStr):
        text = ""
        for part in node.values:
            text += part.value if isinstance(part, ast.Constant) else "int(min=1)"
        return re.sub(r"<int\(min=1\)(:\w+>)", r"<int\1", text)
    return None


def parse_routes():
    """[(path, methods, function name, form args)] of controllers/*.py."""
    routes = []
    path = os.path.join(ADDON_DIR, "controllers")
    for filename in sorted(os.listdir(path)):
        if not filename.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(path, filename), encoding="utf-8").read())
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            for dec in func.decorator_list:
                if not (isinstance(dec, ast.Call) and ast.unparse(dec.func).endswith("http.route")):
                    continue
                paths = _route_path(dec.args[0]) if dec.args else None
                paths = [paths] if isinstance(paths, str) else paths or []
                methods = ["GET", "POST"]
                for kw in dec.keywords:
                    if kw.arg == "methods":
                        methods = _literal(kw.value) or methods
                params = [a.arg for a in func.args.args[1:]]
                for route in paths:
                    routes.append((route, methods, func.name, params))
    return routes


SECURITY_NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
SECURITY_TOKENS = re.compile(r"\[([a-z ,]+)\]")


def parse_security():
    """SECURITY.md's declared surface: {model: {"user": set, "create": set,
    "methods": {name: tokens}}}."""
    surface, section, model, in_methods = {}, None, None, False
    path = os.path.join(ADDON_DIR, "SECURITY.md")
    if not os.path.exists(path):
        die(f"{path} not found: the hostile run reads the declared surface from it.")
    for raw in open(path, encoding="utf-8").read().splitlines():
        line = raw.rstrip()
        text = line.strip()
        if line.startswith("## "):
            section, model = line[3:].strip().lower(), None
        elif section == "models" and line.startswith("### "):
            model = line[4:].strip().strip("`")
            surface[model] = {"user": set(), "create": set(), "methods": {}}
            in_methods = False
        elif model and text.startswith("- user fields:"):
            surface[model]["user"] |= set(SECURITY_NAME.findall(text.split("—")[0]))
            in_methods = False
        elif model and text.startswith("- create only:"):
            surface[model]["create"] |= set(SECURITY_NAME.findall(text.split("—")[0]))
            in_methods = False
        elif model and text.startswith("- methods:"):
            in_methods = True
        elif model and in_methods and line.startswith("  - `"):
            names = SECURITY_NAME.findall(text.split("[")[0])
            tokens = SECURITY_TOKENS.search(text)
            if names:
                surface[model]["methods"][names[0]] = (
                    {t.strip() for t in tokens.group(1).split(",")} if tokens else set()
                )
        elif text.startswith("- "):
            in_methods = False
    return surface


def parse_demo_users():
    """[(login, password)] of the res.users records of demo/*.xml, admin excepted."""
    users = []
    folder = os.path.join(ADDON_DIR, "demo")
    for filename in sorted(os.listdir(folder)):
        if not filename.endswith(".xml"):
            continue
        for record in ET.parse(os.path.join(folder, filename)).iter("record"):
            if record.get("model") != "res.users":
                continue
            values = {f.get("name"): (f.text or "").strip() for f in record.iter("field")}
            if values.get("login") and values.get("password") and values["login"] != "admin":
                users.append((values["login"], values["password"]))
    return users


# --------------------------------------------------------------------------------------
# Transport: loopback only, no proxy, no redirect followed
# --------------------------------------------------------------------------------------
def die(message):
    """A usage or connection error: say it and exit 2 (1 means: something got through)."""
    print(message, file=sys.stderr)
    sys.exit(2)


def check_loopback(url):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        die(f"--url must be http://127.0.0.1:PORT, not {url!r}")
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 80)
    except socket.gaierror as exc:
        die(f"Cannot resolve {parsed.hostname}: {exc}")
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(
        ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses
    ):
        die(
            f"Refusing {parsed.hostname} ({', '.join(sorted(addresses))}): the hostile run "
            "only talks to a server on this machine (127.0.0.1, ::1, localhost)."
        )
    return f"{parsed.scheme}://{parsed.netloc}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def location(self):
        return self.headers.get("Location", "") if self.headers else ""

    @property
    def content_type(self):
        return (self.headers.get("Content-Type", "") if self.headers else "").lower()

    def text(self):
        return self.body.decode("utf-8", "replace")


class RpcError(Exception):
    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


MAX_BODY = 4 * 1024 * 1024


class WebSession:
    """A browser-like session: JSON-RPC call_kw and portal pages with one cookie jar."""

    def __init__(self, base, db, login, password, timeout):
        self.base, self.db, self.timeout = base, db, timeout
        self.login, self.password = login, password
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.jar),
            NoRedirect(),
        )
        self.uid = None
        self._id = 0

    def request(self, path, data=None, headers=None, method=None):
        req = urllib.request.Request(
            self.base + path, data=data, headers=headers or {}, method=method
        )
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return Response(resp.status, resp.headers, resp.read(MAX_BODY))
        except urllib.error.HTTPError as exc:
            body = exc.read(MAX_BODY) if exc.fp else b""
            return Response(exc.code, exc.headers, body)

    def jsonrpc(self, path, params):
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": self._id})
        resp = self.request(path, body.encode(), {"Content-Type": "application/json"})
        if resp.status != 200:
            raise RpcError(f"HTTP {resp.status}", resp.text()[:200])
        payload = json.loads(resp.body)
        if payload.get("error"):
            data = payload["error"].get("data") or {}
            raise RpcError(
                data.get("name") or "error",
                data.get("message") or payload["error"].get("message", ""),
            )
        return payload.get("result")

    def authenticate(self):
        result = self.jsonrpc(
            "/web/session/authenticate",
            {"db": self.db, "login": self.login, "password": self.password},
        )
        self.uid = result and result.get("uid")
        if not self.uid:
            raise RpcError("login", f"{self.login} could not log in")
        return self.uid

    def call(self, model, method, args, kwargs):
        return self.jsonrpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs},
        )

    def get(self, path):
        return self.request(path)

    def post(self, path, form):
        data = urllib.parse.urlencode(form).encode()
        return self.request(path, data, {"Content-Type": "application/x-www-form-urlencoded"})

    def csrf_token(self, page="/my"):
        text = self.get(page).text()
        match = re.search(r'name="csrf_token"\s+value="([^"]+)"', text) or re.search(
            r'csrf_token\s*:\s*"([^"]+)"', text
        )
        return match.group(1) if match else ""


class XmlSession:
    def __init__(self, base, db, login, password):
        self.db, self.login, self.password = db, login, password
        self.common = xmlrpc.client.ServerProxy(base + "/xmlrpc/2/common", allow_none=True)
        self.object = xmlrpc.client.ServerProxy(base + "/xmlrpc/2/object", allow_none=True)
        self.uid = None

    def authenticate(self):
        self.uid = self.common.authenticate(self.db, self.login, self.password, {})
        if not self.uid:
            raise RpcError("login", f"{self.login} could not log in over XML-RPC")
        return self.uid

    def call(self, model, method, args, kwargs):
        try:
            return self.object.execute_kw(
                self.db, self.uid, self.password, model, method, args, kwargs
            )
        except xmlrpc.client.Fault as exc:
            # odoo/addons/base/controllers/rpc.py: 2 UserError (warning), 3 access
            # denied, 4 AccessError, 1 anything else (with the traceback)
            lines = [line for line in str(exc.faultString).strip().splitlines() if line.strip()]
            last = next(
                (
                    line
                    for line in reversed(lines)
                    if re.match(r"[\w.]+(Error|Exception|Warning|Denied|Fault)\b", line)
                ),
                lines[-1] if lines else "",
            )
            name = {
                2: "odoo.exceptions.UserError",
                3: "odoo.exceptions.AccessDenied",
                4: "odoo.exceptions.AccessError",
            }.get(exc.faultCode)
            if not name:
                name = re.match(r"[\w.]*", last).group(0) or "Fault"
            error = RpcError(name, last)
            error.full = str(exc.faultString)
            raise error from None


# --------------------------------------------------------------------------------------
# The administrator's eyes
# --------------------------------------------------------------------------------------
class Admin:
    """Reads the state back over XML-RPC (and puts back what got through)."""

    CTX = {"active_test": False, "lang": "en_US"}

    def __init__(self, session):
        self.s = session
        self.uid = session.uid
        self._fields = {}

    def x(self, model, method, *args, **kwargs):
        kwargs.setdefault("context", self.CTX)
        return self.s.call(model, method, list(args), kwargs)

    def fields(self, model):
        if model not in self._fields:
            self._fields[model] = self.x(
                model,
                "fields_get",
                attributes=[
                    "type",
                    "relation",
                    "store",
                    "readonly",
                    "required",
                    "selection",
                    "string",
                    "related",
                ],
            )
        return self._fields[model]

    def read(self, model, ids, names=None):
        if not ids:
            return []
        return self.x(model, "read", ids, names or [], load="_classic_write")

    def read1(self, model, rid, names=None):
        rows = self.read(model, [rid], names)
        return rows[0] if rows else None

    def search(self, model, domain, limit=None, order="id"):
        kwargs = {"order": order}
        if limit:
            kwargs["limit"] = limit
        return self.x(model, "search", domain, **kwargs)

    def counts(self, models):
        rows = self.x(
            "ir.model", "search_read", [("model", "in", sorted(models))], fields=["model", "count"]
        )
        return {row["model"]: row["count"] for row in rows}

    def max_id(self, model):
        ids = self.search(model, [], limit=1, order="id desc")
        return ids[0] if ids else 0


# --------------------------------------------------------------------------------------
# Hostile users
# --------------------------------------------------------------------------------------
class Hostile:
    def __init__(self, login, password, web, xml, uid, partner_id, roles, places):
        self.login, self.password = login, password
        self.web, self.xml, self.uid = web, xml, uid
        self.partner_id = partner_id
        self.roles = roles
        self.places = places  # places in scope (child_of the places looked after), None = all
        self.turn = 0
        self.csrf = ""

    def channel(self):
        self.turn += 1
        return ("jsonrpc", self.web) if self.turn % 2 else ("xmlrpc", self.xml)

    def probe(self, model, method, args, kwargs=None):
        """A look-up as the user (not an attempt): None when refused."""
        try:
            return self.web.call(model, method, args, dict(kwargs or {}, context={"lang": "en_US"}))
        except RpcError:
            return None


def roles_of(admin, user_row):
    xmlids = {}
    for row in admin.x(
        "ir.model.data",
        "search_read",
        [("model", "=", "res.groups"), ("res_id", "in", user_row["groups_id"])],
        fields=["module", "name"],
    ):
        xmlids[f"{row['module']}.{row['name']}"] = True
    roles = {"reader"}
    mapping = {
        f"{ADDON}.group_credit_resident": "resident",
        f"{ADDON}.group_credit_grid_worker": "grid",
        f"{ADDON}.group_credit_reviewer": "reviewer",
        f"{ADDON}.group_credit_finance": "finance",
        f"{ADDON}.group_credit_manager": "manager",
        f"{ADDON}.group_credit_admin": "admin",
        "event.group_event_user": "events",
        "event.group_event_manager": "events",
    }
    roles |= {role for xmlid, role in mapping.items() if xmlid in xmlids}
    if user_row["share"]:
        commercial = admin.read1("res.partner", user_row["partner_id"], ["commercial_partner_id"])
        if admin.search(
            "product.template",
            [("credit_merchant_id", "=", commercial["commercial_partner_id"])],
            limit=1,
        ):
            roles.add("merchant")
    return roles


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------
class Budget(Exception):
    pass


class Run:
    def __init__(self, args):
        self.args = args
        self.base = check_loopback(args.url)
        self.deadline = time.monotonic() + args.seconds
        self.start = time.monotonic()
        self.attempts = Counter()  # kind -> n
        self.refused = Counter()
        self.reasons = defaultdict(Counter)  # kind -> refusal reason -> n
        self.channels = Counter()
        self.through = []
        self.notes = []
        self.background = []
        self.skipped = Counter()
        self.errors = defaultdict(list)  # (kind, reason) -> attempts refused by a crash
        self.log = open(args.log, "w", encoding="utf-8") if args.log else None
        self.models = parse_models()
        self.context_keys = parse_context_keys()
        self.routes = parse_routes()
        self.surface = parse_security()
        self.cleanup = []  # (model, id) the run created for itself
        self.current_targets = []
        self._memo = {}
        self.own_records = set()  # records the run created as the user, legitimately
        self.touched = set()  # (model, id) an accepted attempt wrote without changing anything
        self.started_utc = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 5))

    # ---------------------------------------------------------------- budget and log
    def check_budget(self):
        if (
            sum(self.attempts.values()) >= self.args.max_attempts
            or time.monotonic() > self.deadline
        ):
            raise Budget()

    def record(self, kind, user, channel, what, outcome, reason, detail=""):
        self.attempts[kind] += 1
        self.channels[channel] += 1
        if outcome == "refused":
            self.refused[kind] += 1
            self.reasons[kind][reason] += 1
            if self.server_error(reason):
                self.errors[(kind, reason)].append(f"{user.login}: {what}")
        else:
            entry = f"[{kind}] {user.login} via {channel}: {what}: {detail or reason}"
            self.through.append(entry)
            print("GOT THROUGH " + entry, flush=True)
        if self.log:
            self.log.write(
                json.dumps(
                    {
                        "kind": kind,
                        "user": user.login,
                        "channel": channel,
                        "what": what,
                        "outcome": outcome,
                        "reason": reason,
                        "detail": detail,
                    },
                    ensure_ascii=False,
                    default=str,
                )
                + "\n"
            )

    @staticmethod
    def server_error(reason):
        """A refusal that is a crash rather than a check (HTTP 500, a Python or SQL
        error): not a hole, but worth a look."""
        if reason.startswith(
            (
                "odoo.exceptions.",
                "HTTP 4",
                "accepted",
                "redirect",
                "own page",
                "page without",
                "not the file",
                "no file",
                "created without",
                "no CSRF",
                "Fault",
            )
        ):
            return False
        return reason.startswith(
            ("HTTP 5", "transport", "builtins.", "psycopg2")
        ) or reason.endswith(("Error", "Exception"))

    # ---------------------------------------------------------------- set-up
    def connect(self):
        args = self.args
        admin_xml = XmlSession(self.base, args.db, args.admin_login, args.admin_password)
        try:
            admin_xml.authenticate()
        except (OSError, RpcError, xmlrpc.client.Error) as exc:
            reason = (
                str(exc.faultString).strip().splitlines()[-1]
                if isinstance(exc, xmlrpc.client.Fault)
                else exc
            )
            die(f"Cannot log in as {args.admin_login} on {self.base} ({args.db}): {reason}")
        self.admin = Admin(admin_xml)
        self.users = []
        for login, password in parse_demo_users():
            if args.users and login not in args.users:
                continue
            web = WebSession(self.base, args.db, login, password, args.timeout)
            xml = XmlSession(self.base, args.db, login, password)
            try:
                uid = web.authenticate()
                xml.authenticate()
            except (OSError, RpcError, xmlrpc.client.Error) as exc:
                print(f"  {login}: cannot log in ({exc}); skipped", flush=True)
                continue
            row = self.admin.read1(
                "res.users", uid, ["groups_id", "share", "partner_id", "credit_place_ids"]
            )
            roles = roles_of(self.admin, row)
            places = None
            if "manager" not in roles:
                places = (
                    set(
                        self.admin.search(
                            "credit.place", [("id", "child_of", row["credit_place_ids"])]
                        )
                    )
                    if row["credit_place_ids"]
                    else set()
                )
            user = Hostile(login, password, web, xml, uid, row["partner_id"], roles, places)
            user.csrf = web.csrf_token()
            if not user.csrf:
                print(f"  {login}: no CSRF token found on /my (POSTs will fail on it)", flush=True)
            self.users.append(user)
            print(
                f"  {login} (uid {uid}): {', '.join(sorted(roles - {'reader'})) or 'portal'}",
                flush=True,
            )
        if not self.users:
            die("No demo user could log in.")
        self.hostile_uids = {u.uid for u in self.users}
        # what the administrator watches after every attempt: row counts of these
        # models (one query); new rows are attributed by their create_uid
        available = set(
            self.admin.counts(
                [m for m in self.models if m.startswith("credit.")]
                + list(EXTENSION_MODELS)
                + sorted(NOTE_MODELS)
            )
        )
        self.watch = sorted(
            m
            for m in available
            if not self.models.get(m, {}).get("transient")
            and not self.models.get(m, {}).get("abstract")
        )
        self.last_counts = self.admin.counts(self.watch)
        self.max_ids = {m: self.admin.max_id(m) for m in self.watch}
        self.max_ids_at_start = dict(self.max_ids)
        self.ledger_before = self.ledger_by_subject()

    def forged_context(self, extra=None):
        ctx = dict.fromkeys(self.context_keys, True)
        ctx["credit_notice_channel"] = "portal"
        ctx.update(EXTRA_CONTEXT)
        ctx["lang"] = "en_US"
        ctx.update(extra or {})
        return ctx

    # ---------------------------------------------------------------- the sentinel
    def sentinel(self, user, attempt_success, own=()):
        """New rows since the last attempt: (holes, notes). `own` are (model, id) the
        attempt itself created and judges on its own."""
        counts = self.admin.counts(self.watch)
        holes, notes = [], []
        own = set(own) | self.own_records
        for model in self.watch:
            before, after = self.last_counts.get(model, 0), counts.get(model, 0)
            if after == before:
                continue
            if after < before:
                (holes if attempt_success and model.startswith("credit.") else notes).append(
                    f"{before - after} row(s) of {model} deleted"
                )
                continue
            fields = (
                ["create_uid"]
                + (["model", "res_id"] if model == "mail.message" else [])
                + (["res_model", "res_id"] if model in ("ir.attachment", "mail.activity") else [])
            )
            rows = self.admin.x(
                model, "search_read", [("id", ">", self.max_ids.get(model, 0))], fields=fields
            )
            for row in rows:
                self.max_ids[model] = max(self.max_ids.get(model, 0), row["id"])
                creator = row["create_uid"] and row["create_uid"][0]
                if creator == self.admin.uid:
                    continue  # the run's own reads and put-backs
                if creator not in self.hostile_uids:
                    if model.startswith("credit."):  # a scheduled action, another user
                        self.background.append(
                            f"{model} #{row['id']} created by uid {creator} during the run"
                        )
                    continue
                if (model, row["id"]) in own:
                    continue
                parent = (row.get("model") or row.get("res_model"), row.get("res_id"))
                if model in NOTE_MODELS:
                    if parent not in own:
                        notes.append(f"{model} #{row['id']} on {parent[0]} #{parent[1]}")
                    continue
                if model in HARMLESS_NEW:
                    continue
                holes.append(f"new {model} #{row['id']} created by {user.login}")
        self.last_counts = counts
        return holes, notes

    def rebase(self):
        """The run's own changes outside an attempt (removing its own records) are
        not the next attempt's."""
        self.last_counts = self.admin.counts(self.watch)
        for model in self.watch:
            self.max_ids[model] = (
                self.admin.max_id(model)
                if self.last_counts.get(model)
                else self.max_ids.get(model, 0)
            )

    # ---------------------------------------------------------------- one attempt
    def attempt(self, kind, user, what, call, judge=None, own_of=None, web=False, targets=()):
        """Run `call(session)` (RPC: JSON-RPC and XML-RPC in turn; `web`: the browser
        session); then judge: an error is a refusal, a success is judged by
        `judge(result)` -> (holes, reason) and by the sentinel."""
        self.check_budget()
        self.current_targets = list(targets)
        channel, session = ("http", user.web) if web else user.channel()
        success, result, reason = True, None, ""
        try:
            result = call(session)
        except RpcError as exc:
            success, reason = False, exc.name
        except (OSError, xmlrpc.client.ProtocolError) as exc:
            success, reason = False, f"transport {type(exc).__name__}"
        own = own_of(result) if (success and own_of) else ()
        holes, why = [], ""
        if success and judge:
            holes, why = judge(result)
        sentinel_holes, notes = self.sentinel(user, success, own)
        holes += sentinel_holes
        for note in notes:
            self.notes.append(f"{user.login}: {what}: {note}")
        if holes:
            self.record(kind, user, channel, what, "through", why or "changed", "; ".join(holes))
        elif success:
            self.record(kind, user, channel, what, "refused", why or "accepted, nothing changed")
            self.touched |= set(self.current_targets)
        else:
            self.record(kind, user, channel, what, "refused", reason)
        return success, result

    # ---------------------------------------------------------------- targets
    def memo(self, key, compute):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def readable(self, user, model, limit=3):
        """Up to `limit` records the user can read (search_read as the user); for
        contacts their own first, for users themselves first."""

        def compute():
            domain = [("credit_is_subject", "=", True)] if model == "res.partner" else []
            rows = (
                user.probe(
                    model,
                    "search_read",
                    [domain],
                    {"fields": ["id"], "limit": limit, "order": "id desc"},
                )
                or []
            )
            ids = [r["id"] for r in rows]
            own = {"res.partner": user.partner_id, "res.users": user.uid}.get(model)
            if own and own not in ids:
                ids = [own, *ids[: limit - 1]]
            return ids

        return self.memo(("readable", user.login, model, limit), compute)

    def can_read(self, user, model, ids):
        ids = sorted(set(ids))
        seen = user.probe(
            model, "search", [[("id", "in", ids)]], {"context": {"active_test": False}}
        )
        return set(seen or [])

    def unreadable(self, user, model, near=(), limit=2):
        """Records the user cannot read, the closest ids to those they can (guessed
        neighbours)."""

        def compute():
            domain = {
                "res.partner": [("credit_is_subject", "=", True)],
                "event.event": [("credit_rule_id", "!=", False)],
                "product.template": [("credit_is_reward", "=", True)],
                "res.users": [("share", "=", False)],
            }.get(model, [])
            candidates = self.admin.search(model, domain, limit=400)
            seen = self.can_read(user, model, candidates) if candidates else set()
            return [i for i in candidates if i not in seen]

        hidden = list(self.memo(("unreadable", user.login, model), compute))
        if near:
            pivot = max(near)
            hidden.sort(key=lambda i: abs(i - pivot))
        return hidden[:limit]

    def scope(self, user):
        """The subjects the user acts for: themselves; a grid worker also the subjects
        living in the places they look after; a council member everybody (None)."""

        def compute():
            if user.places is None:
                return None
            scope = {user.partner_id}
            if user.roles & {"grid", "reviewer"} and user.places:
                scope |= set(
                    self.admin.search(
                        "res.partner", [("credit_place_id", "in", sorted(user.places))]
                    )
                )
            return scope

        return self.memo(("scope", user.login), compute)

    def in_scope_subject(self, user, partner_id):
        scope = self.scope(user)
        return scope is None or partner_id in scope

    def foreign_subject(self, user):
        """A credit subject outside the user's scope (another resident, other places)."""

        def compute():
            scope = self.scope(user)
            if scope is None:
                return None
            for pid in self.admin.search(
                "res.partner", [("credit_is_subject", "=", True)], limit=400, order="id desc"
            ):
                if pid not in scope:
                    return pid
            return None

        return self.memo(("foreign_subject", user.login), compute)

    def foreign(self, user, model, purpose=""):
        """Ids of records that belong to subjects outside the user's scope (or, for
        records without a subject, that the user may not use), for routes and
        arguments that must refuse them. Empty for a council member where every
        subject is theirs."""

        def compute():
            scope = self.scope(user)
            partner = self.admin.read1(
                "res.partner", user.partner_id, ["credit_community_id", "credit_role_ids"]
            )
            today = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            if model == "ir.attachment":
                # evidence stored on credit records before the run (not the run's own exports)
                ids = self.admin.search(
                    "ir.attachment",
                    [
                        (
                            "res_model",
                            "in",
                            [
                                "credit.ledger.line",
                                "credit.claim",
                                "credit.appeal",
                                "credit.notice",
                            ],
                        ),
                        ("id", "<=", self.max_ids_at_start.get("ir.attachment", 0)),
                        ("res_field", "=", False),
                    ],
                    limit=300,
                    order="id desc",
                )
                seen = self.can_read(user, model, ids) if ids else set()
                return [i for i in ids if i not in seen][:3]
            if model == "event.event":
                # events the user cannot sign up for: over, or of another community
                return self.admin.search(
                    model,
                    [
                        ("credit_rule_id", "!=", False),
                        "|",
                        ("date_end", "<", today),
                        ("credit_community_id", "!=", partner["credit_community_id"]),
                    ],
                    limit=3,
                    order="date_end desc",
                )
            if model == "credit.commitment.template":
                return self.admin.search(
                    model, [("role_id", "not in", partner["credit_role_ids"])], limit=3
                )
            if model == "credit.reward.stock":
                return self.admin.search(
                    model, [("community_id", "!=", partner["credit_community_id"])], limit=3
                )
            if model == "credit.rule":
                # never declarable: deductions
                return self.admin.search(model, [("points", "<", 0)], limit=3)
            if model == "credit.claim" and purpose == "object":
                # objecting to a published claim one may read (one's estate) is a
                # resident's right: only published claims the user cannot read
                ids = self.admin.search(model, [("state", "=", "published")], limit=200)
                seen = self.can_read(user, model, ids) if ids else set()
                return [i for i in ids if i not in seen][:3]
            if scope is None:
                return []
            domain = {
                "credit.ledger.line": [("points", "<", 0)],
                "event.registration": [("state", "in", ["draft", "open"])],
                "credit.voucher": [("state", "=", "issued")] if purpose == "voucher" else [],
            }.get(model, [])
            fields = self.admin.fields(model)
            key = "partner_ids" if model == "credit.claim" else "partner_id"
            if key not in fields:
                return self.unreadable(user, model, limit=3)
            rows = self.admin.x(
                model, "search_read", domain, fields=[key], limit=500, order="id desc"
            )
            found = []
            for row in rows:
                subjects = (
                    row[key]
                    if isinstance(row[key], list) and key.endswith("_ids")
                    else [row[key] and row[key][0]]
                )
                if subjects and not any(s in scope for s in subjects if s):
                    found.append(row["id"])
                if len(found) >= 3:
                    break
            return found

        return self.memo(("foreign", user.login, model, purpose), compute)

    # ---------------------------------------------------------------- forging values
    def system_fields(self, model):
        fields = self.admin.fields(model)
        names = []
        for name, meta in sorted(fields.items()):
            if name in MAGIC or name.startswith(SKIP_PREFIX) or meta["type"] in SKIP_TYPES:
                continue
            if (
                model in EXTENSION_MODELS
                and not name.startswith("credit_")
                and not (model == "event.registration" and name == "state")
            ):
                continue
            if not meta.get("store") and meta.get("readonly"):
                continue  # computed without inverse: nothing to write
            if meta.get("relation", "").startswith("mail."):
                continue
            names.append(name)
        return names

    def other_id(self, comodel, current, user):
        """An existing id of `comodel` other than `current` (ids), preferring one the
        user cannot read and, for contacts, another subject."""
        current = set(current or [])
        if comodel == "res.partner":
            pid = self.foreign_subject(user)
            if pid and pid not in current:
                return pid
        if comodel == "res.users":
            # never the user's own id: the server rightly records who did it
            if self.admin.uid not in current and self.admin.uid != user.uid:
                return self.admin.uid
            current |= {user.uid}
        try:
            ids = self.admin.search(
                comodel, [("id", "not in", sorted(current))], limit=50, order="id desc"
            )
        except RpcError:
            return None
        if not ids:
            return None
        seen = set(user.probe(comodel, "search", [[("id", "in", ids)]]) or [])
        hidden = [i for i in ids if i not in seen]
        return (hidden or ids)[0]

    def forge(self, model, name, current, user):
        """A value of the field's type that differs from `current`, or None."""
        meta = self.admin.fields(model)[name]
        kind = meta["type"]
        if kind == "selection":
            values = [v[0] for v in meta.get("selection") or [] if v[0] != current]
            if not values:
                return None
            preferred = [v for v in FAR_STATES if v in values]
            return preferred[0] if preferred else values[-1]
        if kind == "boolean":
            return not current
        if kind in ("integer", "float", "monetary"):
            return (current or 0) + 1000
        if kind == "date":
            return "2020-01-01" if current != "2020-01-01" else "2021-01-01"
        if kind == "datetime":
            return (
                "2020-01-01 00:00:00"
                if not str(current).startswith("2020-01-01")
                else "2021-01-01 00:00:00"
            )
        if kind in ("char", "text", "html"):
            return f"hostile {int(time.time() * 1000) % 10**9}"
        if kind == "many2one":
            return self.other_id(meta["relation"], [current] if current else [], user)
        if kind in ("many2many", "one2many"):
            other = self.other_id(meta["relation"], current, user)
            return [[4, other]] if other else None
        return None

    @staticmethod
    def landed(meta, forged, after):
        """Does the read-back value hold the forged one?"""
        kind = meta["type"]
        if kind in ("many2many", "one2many"):
            return forged[0][1] in (after or [])
        if kind == "many2one":
            return after == forged
        if kind in ("float", "monetary"):
            return after is not False and abs(float(after) - float(forged)) < 1e-6
        if kind == "datetime":
            return str(after).startswith(str(forged)[:16])
        if kind in ("html",):
            return forged in str(after or "")
        return after == forged

    def put_back(self, model, rid, name, value, meta):
        if meta["type"] in ("many2many", "one2many"):
            value = [[6, 0, value or []]]
        try:
            self.admin.x(model, "write", [rid], {name: value})
            return "put back"
        except RpcError as exc:
            return f"could not put back ({exc.name})"

    def declared(self, model, name, creating=False):
        """Is the field one SECURITY.md lets users write by hand (or give at creation)?"""
        entry = self.surface.get(model, {})
        return name in entry.get("user", ()) or (creating and name in entry.get("create", ()))

    def method_callers(self, model, method):
        return self.surface.get(model, {}).get("methods", {}).get(method, set())

    def in_window(self, model, rid, name):
        windows = STATE_WINDOWS.get(model, {})
        window = windows.get(name) or windows.get("*")
        if not window:
            return True
        field, states = window
        row = self.memo(("state", model, rid), lambda: self.admin.read1(model, rid, [field]))
        return bool(row and row[field] in states)

    def out_of_places(self, user, kind):
        """A place, household or subject outside a grid worker's places."""

        def compute():
            places = sorted(user.places or [])
            if kind == "place":
                ids = self.admin.search("credit.place", [("id", "not in", places)], limit=1)
            elif kind == "household":
                ids = self.admin.search(
                    "credit.household", [("place_id", "not in", places)], limit=1
                )
            else:
                ids = [self.foreign_subject(user)] if self.foreign_subject(user) else []
            return ids[0] if ids else None

        return self.memo(("out_of_places", user.login, kind), compute)

    def legit_relation_value(self, user, model, rid, name, value):
        """Relational user fields: the value is legitimate when the user may read every
        id (rule 3), or, for a claim's subjects, when the user is a delegate of its rule."""
        ids = [value] if isinstance(value, int) else [c[1] for c in value if c[0] == 4]
        comodel = self.admin.fields(model)[name]["relation"]
        seen = set(
            user.probe(
                comodel, "search", [[("id", "in", ids)]], {"context": {"active_test": False}}
            )
            or []
        )
        if set(ids) <= seen:
            return True
        if model == "credit.claim" and name == "partner_ids":
            claim = self.admin.read1(model, rid, ["rule_id"])
            rule = (
                claim
                and claim["rule_id"]
                and self.admin.read1("credit.rule", claim["rule_id"], ["delegate_user_ids"])
            )
            return bool(rule and user.uid in rule["delegate_user_ids"])
        return False

    # ---------------------------------------------------------------- kind 1: write
    def writes(self, user):
        for model in self.target_models():
            if not self.check_model(model):
                continue
            names = self.system_fields(model)
            if not names:
                continue
            readable = self.readable(user, model)
            hidden = self.unreadable(user, model, near=readable)
            may_write = user.probe(model, "has_access", [[], "write"])
            plan = []  # (field, record id, why, value or None to forge one)
            for index, name in enumerate(names):
                if not may_write and index >= 2:
                    # the model's access rights refuse every write before any field
                    # is looked at: two fields show it, the others are not sent
                    self.skipped["write: no write access on the model"] += 1
                    continue
                meta = self.admin.fields(model)[name]
                relational = meta["type"] in ("many2one", "many2many", "one2many")
                if self.declared(model, name) and may_write:
                    plan += [(name, rid, "record out of scope", None) for rid in hidden[:1]]
                    for rid in readable:
                        if not self.in_window(model, rid, name):
                            plan.append((name, rid, "outside its state window", None))
                            break
                    in_window = [rid for rid in readable if self.in_window(model, rid, name)]
                    if relational:
                        plan += [
                            (name, rid, "ids the user cannot read", None) for rid in in_window[:1]
                        ]
                    if "grid" in user.roles and "manager" not in user.roles:
                        if model == "res.partner" and self.foreign_subject(user):
                            plan.append(
                                (
                                    name,
                                    self.foreign_subject(user),
                                    "subject outside their places",
                                    None,
                                )
                            )
                        kind = SCOPED_VALUES.get((model, name))
                        value = kind and self.out_of_places(user, kind)
                        mine = [
                            r
                            for r in in_window
                            if model != "res.partner"
                            or (r != user.partner_id and self.in_scope_subject(user, r))
                        ]
                        if value and mine:
                            plan.append((name, mine[0], f"a {kind} outside their places", value))
                else:
                    if readable:
                        plan.append((name, readable[index % len(readable)], "system field", None))
                    if index < 2 or not readable:
                        plan += [(name, rid, "record out of scope", None) for rid in hidden[:1]]
            for name, rid, why, value in plan:
                yield lambda name=name, rid=rid, why=why, value=value, model=model: self.write_one(
                    user, model, rid, name, why, value
                )

    def write_one(self, user, model, rid, name, why, value=None):
        meta = self.admin.fields(model)[name]
        stamp = ["write_uid"] if "write_uid" in self.admin.fields(model) else []
        before = self.admin.read1(model, rid, [name, *stamp])
        if not before:
            return
        if value is None:
            value = self.forge(model, name, before[name], user)
        if value is None:
            self.skipped["write: no other value to forge"] += 1
            return
        if why == "ids the user cannot read" and self.legit_relation_value(
            user, model, rid, name, value
        ):
            self.skipped["write: only readable ids to give"] += 1
            return
        what = f"write {model}({rid}).{name} = {value!r} ({why})"

        def call(session):
            return session.call(
                model, "write", [[rid], {name: value}], {"context": self.forged_context()}
            )

        def judge(_result):
            after = self.admin.read1(model, rid, [name, *stamp])
            if (
                after
                and self.landed(meta, value, after[name])
                and not self.landed(meta, value, before[name])
                and after.get("write_uid", user.uid) in self.hostile_uids
            ):
                restored = self.put_back(model, rid, name, before[name], meta)
                return [
                    f"{model}({rid}).{name} was {before[name]!r}, now {after[name]!r} ({restored})"
                ], "written"
            return [], "accepted, value unchanged"

        self.attempt("write", user, what, call, judge, targets=[(model, rid)])

    # ---------------------------------------------------------------- kind 2: create
    def sample(self, model):
        """The newest record of the model, as the administrator reads it."""

        def compute():
            ids = self.admin.search(model, [], limit=1, order="id desc")
            return (self.admin.read1(model, ids[0]) if ids else None) or {}

        return self.memo(("sample", model), compute)

    def sample_values(self, model, user):
        """Values for the required fields, from an existing record (or forged)."""
        fields = self.admin.fields(model)
        sample = self.sample(model)
        vals = {}
        for name, meta in fields.items():
            if not meta.get("required") or name in MAGIC or meta["type"] in SKIP_TYPES:
                continue
            if meta.get("related") or (not meta.get("store") and meta.get("readonly")):
                continue
            value = sample.get(name)
            if meta["type"] in ("many2many", "one2many"):
                vals[name] = [[6, 0, value]] if value and meta["type"] == "many2many" else []
            elif value not in (None, False):
                vals[name] = value
            else:
                forged = self.forge(model, name, None, user)
                if forged is not None:
                    vals[name] = forged
        return vals

    def creates(self, user):
        for model in self.target_models(extensions=False):
            if not self.check_model(model):
                continue
            names = [
                n for n in self.system_fields(model) if not self.declared(model, n, creating=True)
            ]
            if not names:
                continue
            yield lambda model=model, names=names: self.create_one(
                user, model, names, "system fields in values"
            )
            yield lambda model=model, names=names: self.create_one(
                user, model, names, "system fields as default_ keys"
            )
            if user.probe(model, "has_access", [[], "create"]):
                for name in names:
                    yield lambda model=model, name=name: self.create_one(
                        user, model, [name], "one system field"
                    )
            else:
                self.skipped["create: one field at a time, no create access on the model"] += len(
                    names
                )

    def create_one(self, user, model, names, how):
        fields = self.admin.fields(model)
        base = self.sample_values(model, user)
        defaults = self.admin.x(model, "default_get", names)
        sample = self.sample(model)
        forged = {}
        for name in names:
            # a value no record gets by itself: neither the default nor what the
            # newest record has (a company, a computed place…), else it proves nothing
            natural = [defaults.get(name), sample.get(name)]
            current = next((v for v in natural if v not in (None, False, [])), None)
            value = self.forge(model, name, current, user)
            if value is None or any(
                self.landed(fields[name], value, v) for v in natural if v is not None
            ):
                continue
            if fields[name].get("relation") and self.single(fields[name]["relation"]):
                continue  # the only company (say) is what any record gets
            forged[name] = value
        if not forged:
            return
        if how == "system fields as default_ keys":
            vals = {k: v for k, v in base.items() if k not in forged}
            context = self.forged_context(
                {
                    f"default_{k}": (
                        [v[0][1]] if fields[k]["type"] in ("many2many", "one2many") else v
                    )
                    for k, v in forged.items()
                }
            )
        else:
            vals = dict(base, **forged)
            context = self.forged_context()
        what = f"create {model} with {', '.join(sorted(forged))} ({how})"

        def new_id(result):
            return result[0] if isinstance(result, list) else result

        def call(session):
            return session.call(model, "create", [vals], {"context": context})

        def judge(result):
            rid = new_id(result)
            row = self.admin.read1(model, rid, sorted(forged))
            landed = [
                f"{name}={row[name]!r}"
                for name, value in forged.items()
                if row and self.landed(fields[name], value, row[name])
            ]
            outcome = self.remove(model, rid)
            if landed:
                return [f"{model} #{rid} created with {', '.join(landed)} ({outcome})"], "created"
            # a creation the user may make, judged here: the sweep leaves it alone
            self.own_records.add((model, rid))
            return [], f"created without the forged values ({outcome})"

        self.attempt("create", user, what, call, judge, own_of=lambda r: {(model, new_id(r))})

    def single(self, model):
        return self.memo(("single", model), lambda: len(self.admin.search(model, [], limit=2)) < 2)

    def remove(self, model, rid):
        try:
            self.admin.x(model, "unlink", [rid])
            if (model, rid) in self.cleanup:
                self.cleanup.remove((model, rid))
            return "removed"
        except RpcError as exc:
            self.cleanup.append((model, rid))
            return f"could not remove: {exc.name}"

    # ---------------------------------------------------------------- kind 3: methods
    def snapshot(self, model, rid):
        fields = self.admin.fields(model)
        names = [
            n
            for n, m in fields.items()
            if m.get("store")
            and (n not in MAGIC or n == "write_uid")
            and not n.startswith(SKIP_PREFIX)
            and m["type"] not in SKIP_TYPES
        ]
        return self.admin.read1(model, rid, names)

    @staticmethod
    def changes(before, after):
        if after is None:
            return {"record": "deleted"}
        return {
            k: (before[k], after.get(k))
            for k in before
            if k != "write_uid" and before[k] != after.get(k)
        }

    def judge_targets(self, targets):
        """Snapshots of `targets` now, and a judge that reports those the hostile user
        changed (last written by them)."""
        before = {t: self.snapshot(*t) for t in targets}
        before = {t: b for t, b in before.items() if b}

        def judge(_result):
            holes = []
            for (model, rid), snap in before.items():
                after = self.snapshot(model, rid)
                changed = self.changes(snap, after)
                if changed and (after is None or after.get("write_uid") in self.hostile_uids):
                    holes.append(f"{model}({rid}) changed: {changed}")
            return holes, "changed" if holes else "accepted, nothing changed"

        return judge

    def arg_value(self, user, model, name):
        """An out-of-scope value for a method argument, or None when there is none."""
        if name in ("reason", "text", "note", "answer", "description", "message"):
            return "hostile"
        if name == "code":
            return self.foreign_voucher_code(user)
        if name == "ip":
            return "127.0.0.1"
        if name in ("vals", "values", "default"):
            return {}
        if name == "vals_list":
            return [{}]
        if name == "files":
            return []
        if name.endswith("_ids") or name.endswith("_id"):
            comodel = PARAM_MODELS.get(name.removesuffix("s"), model)
            ids = self.foreign(user, comodel)
            if not ids:
                return None
            return ids[:1] if name.endswith("_ids") else ids[0]
        return "hostile"

    def foreign_voucher_code(self, user):
        """The code of an issued voucher the user may not hand over: another shop's
        for a merchant, a voucher outside their places for staff, anybody's for
        residents (who never hand over). None for a council member."""
        domain = [("state", "=", "issued")]
        if "merchant" in user.roles:
            commercial = self.admin.read1("res.partner", user.partner_id, ["commercial_partner_id"])
            domain.append(("merchant_id", "!=", commercial["commercial_partner_id"]))
        elif "grid" in user.roles:
            scope = self.scope(user)
            if scope is None:
                return None
            domain.append(("partner_id", "not in", sorted(scope)))
        rows = self.admin.x("credit.voucher", "search_read", domain, fields=["code"], limit=1)
        return rows[0]["code"] if rows else None

    def voucher_of(self, code):
        ids = self.admin.search("credit.voucher", [("code", "=", code)], limit=1) if code else []
        return [("credit.voucher", ids[0])] if ids else []

    def methods(self, user):
        for model, info in sorted(self.models.items()):
            if info["abstract"] or not info["methods"] or not self.check_model(model):
                continue
            if info["transient"]:
                for method in sorted(info["methods"]):
                    yield lambda model=model, method=method: self.wizard_one(user, model, method)
                continue
            readable = self.readable(user, model)
            hidden = self.unreadable(user, model, near=readable)
            for method, minfo in sorted(info["methods"].items()):
                if method in ("create", "write"):
                    continue  # kinds 1 and 2
                if method == "init":
                    continue  # schema set-up (indexes, views): nothing a user's data could change
                if minfo["model_level"] or method in MODEL_LEVEL_ARGS.get(model, {}):
                    yield lambda model=model, method=method, minfo=minfo: self.model_level(
                        user, model, method, minfo
                    )
                    continue
                targets = list(hidden[:2])
                # records the user can read too, unless SECURITY.md declares the method
                # for them (or it is Odoo's own API, e.g. deleting or copying)
                if not self.method_callers(model, method) & user.roles and method not in ODOO_API:
                    targets += readable[:2]
                if not targets:
                    self.skipped["method: no record to call it on"] += 1
                for rid in targets:
                    yield lambda model=model, method=method, rid=rid, minfo=minfo: self.method_one(
                        user, model, method, rid, minfo
                    )

    def method_one(self, user, model, method, rid, minfo):
        args = [[rid]]
        for name in minfo["args"]:
            value = self.arg_value(user, model, name)
            if value is None:
                self.skipped[f"method: no out-of-scope value for {name}"] += 1
                return
            args.append(value)
        what = f"{model}({rid}).{method}({', '.join(repr(a) for a in args[1:])})"
        targets = [(model, rid)] + [
            (PARAM_MODELS[n], a)
            for n, a in zip(minfo["args"], args[1:], strict=False)
            if n in PARAM_MODELS and isinstance(a, int)
        ]
        judge = self.judge_targets(targets)

        def call(session):
            return session.call(model, method, args, {"context": self.forged_context()})

        self.attempt("method", user, what, call, judge, targets=targets)

    def model_level(self, user, model, method, minfo):
        """A model-level method (its arguments name the records): called with records
        of subjects outside the user's scope."""
        spec = MODEL_LEVEL_ARGS.get(model, {}).get(method)
        names = list(spec) if spec else minfo["args"]
        args, targets = [], []
        for name in names:
            value = self.arg_value(user, model, name)
            if value is None:
                self.skipped[f"method: no out-of-scope value for {model}.{method}({name})"] += 1
                return
            args.append(value)
            if name == "code":
                targets += self.voucher_of(value)
            elif (spec or {}).get(name, PARAM_MODELS.get(name)) and isinstance(value, int):
                targets.append(((spec or {}).get(name) or PARAM_MODELS[name], value))
        what = f"{model}.{method}({', '.join(repr(a) for a in args)})"
        judge = self.judge_targets(targets)

        def call(session):
            return session.call(model, method, args, {"context": self.forged_context()})

        self.attempt("method", user, what, call, judge, targets=targets)

    def wizard_one(self, user, model, method):
        """Wizards: created with records outside the user's scope in their relational
        fields (creating a wizard is every staff member's right), then each public
        method is called. Skipped when nothing is outside the user's scope."""
        fields = self.admin.fields(model)
        vals, targets = {}, []
        for name, meta in sorted(fields.items()):
            if name in MAGIC or name.startswith(SKIP_PREFIX) or meta["type"] in SKIP_TYPES:
                continue
            if not meta.get("store") or (meta.get("readonly") and not meta.get("required")):
                continue
            comodel = meta.get("relation")
            if meta["type"] == "many2one":
                if comodel == "credit.rule":
                    ids = self.admin.search("credit.rule", [("points", ">", 0)], limit=1)
                else:
                    ids = self.foreign(user, comodel) or self.unreadable(user, comodel, limit=1)
                if not ids and meta.get("required"):
                    self.skipped[f"method: {model} without an out-of-scope {name}"] += 1
                    return
                vals[name] = ids[0] if ids else False
                targets += [(comodel, i) for i in ids[:1] if comodel.startswith("credit.")]
            elif meta["type"] == "many2many":
                if comodel == "res.partner":
                    pid = self.foreign_subject(user)
                    ids = [pid] if pid else []
                elif comodel == "ir.attachment":
                    ids = []
                else:
                    ids = self.foreign(user, comodel, "wizard")[:1]
                if not ids and comodel != "ir.attachment":
                    self.skipped[f"method: {model} without an out-of-scope {name}"] += 1
                    return
                vals[name] = [[6, 0, ids]]
                targets += [(comodel, i) for i in ids if comodel.startswith("credit.")]
            elif meta["type"] == "selection":
                vals[name] = (meta.get("selection") or [[False]])[0][0]
            elif meta["type"] == "boolean":
                vals[name] = True
            elif meta["type"] in ("integer", "float", "monetary"):
                vals[name] = 999 if model == "credit.rule.simulation.wizard" else 1
            elif meta["type"] == "date":
                vals[name] = time.strftime("%Y-%m-%d")
            elif meta["type"] in ("char", "text", "html"):
                if name == "code":
                    code = self.foreign_voucher_code(user)
                    if not code:
                        self.skipped[f"method: {model} without an out-of-scope voucher"] += 1
                        return
                    vals[name] = code
                    targets += self.voucher_of(code)
                else:
                    vals[name] = "hostile"
        what = f"{model}.create({vals}).{method}()"
        judge = self.judge_targets(targets)

        def call(session):
            wid = session.call(model, "create", [vals], {"context": self.forged_context()})
            wid = wid[0] if isinstance(wid, list) else wid
            return session.call(model, method, [[wid]], {"context": self.forged_context()})

        self.attempt("method", user, what, call, judge, targets=targets)

    # ---------------------------------------------------------------- kind 4: portal
    ROUTE_PURPOSE = {"object": "object", "honour": "voucher"}

    def portal(self, user):
        for path, methods, _func, params in self.routes:
            names = re.findall(r"<int:(\w+)>", path)
            for method in methods:
                if method == "GET" and not names:
                    yield lambda path=path: self.portal_get_own(user, path)
                    continue
                yield (
                    lambda path=path, method=method, names=names, params=params: (
                        self.portal_foreign(user, path, method, names, params)
                    )
                )
                if method == "POST":
                    yield lambda path=path, names=names, params=params: self.portal_no_csrf(
                        user, path, names, params
                    )

    def purpose(self, path):
        return next((p for key, p in self.ROUTE_PURPOSE.items() if key in path), "")

    def form_for(self, user, path, params, names, foreign=True):
        form = {}
        for param in params:
            if param in names or param in ("kwargs", "access_token", "report_type"):
                continue
            if param == "code":
                code = self.foreign_voucher_code(user) if foreign else "NO-SUCH-CODE"
                if code is None:
                    return None
                form[param] = code
            elif param in PARAM_MODELS:
                if foreign:
                    ids = self.foreign(user, PARAM_MODELS[param], self.purpose(path))
                else:
                    ids = self.readable(user, PARAM_MODELS[param], 1)
                if foreign and not ids:
                    return None
                form[param] = str(ids[0]) if ids else "0"
            elif param == "date":
                form[param] = time.strftime("%Y-%m-%d")
            elif param == "accept":
                form[param] = "on"
            else:
                form[param] = "hostile"
        return form

    def portal_get_own(self, user, path):
        def call(session):
            resp = session.get(path + "?partner_id=1&user_id=1")
            if resp.status >= 400:
                raise RpcError(f"HTTP {resp.status}", "")
            return resp

        self.attempt(
            "portal",
            user,
            f"GET {path}?partner_id=1&user_id=1 (own page, forged parameters)",
            call,
            lambda resp: ([], "own page" if resp.status == 200 else f"HTTP {resp.status}"),
            web=True,
        )

    def portal_foreign(self, user, path, method, names, params):
        url = path
        markers, targets = [], []
        for name in names:
            model = PARAM_MODELS.get(name, "credit.claim")
            ids = self.foreign(user, model, self.purpose(path))
            if not ids:
                self.skipped[f"portal: no {name} outside {user.login}'s scope"] += 1
                return
            url = url.replace(f"<int:{name}>", str(ids[0]))
            targets.append((model, ids[0]))
        form = self.form_for(user, path, params, names)
        if form is None:
            self.skipped[f"portal: nothing outside {user.login}'s scope for {path}"] += 1
            return
        for param, value in form.items():
            if param in PARAM_MODELS and value != "0":
                targets.append((PARAM_MODELS[param], int(value)))
            if param == "code":
                targets += self.voucher_of(value)
        # what a page may not show: records the user's own rights do not let them read
        hidden = [
            (m, i)
            for m, i in targets
            if m != "ir.attachment" and i not in self.can_read(user, m, [i])
        ]
        for model, rid in hidden:
            markers += self.markers(model, rid)
        judge_changes = self.judge_targets([t for t in targets if t[0] != "ir.attachment"])
        what = (
            f"{method} {url}"
            + (f" {form}" if method == "POST" and form else "")
            + " (outside the user's scope)"
        )

        def call(session):
            resp = (
                session.get(url)
                if method == "GET"
                else session.post(url, dict(form, csrf_token=user.csrf))
            )
            if resp.status >= 400:
                raise RpcError(f"HTTP {resp.status}", "")
            return resp

        def judge(resp):
            holes, _ = judge_changes(resp)
            if 300 <= resp.status < 400:
                return holes, "redirect"
            files = [i for m, i in targets if m == "ir.attachment"]
            if method == "GET" and files:
                info = self.admin.read1("ir.attachment", files[0], ["checksum"])
                if info and hashlib.sha1(resp.body).hexdigest() == info["checksum"]:
                    holes.append(
                        f"served file #{files[0]} of another subject "
                        f"({resp.content_type}, {len(resp.body)} bytes)"
                    )
            elif method == "GET":
                text = resp.text()
                shown = [m for m in markers if m in text]
                if shown:
                    holes.append(f"page shows a record the user may not read ({', '.join(shown)})")
            return holes, "page without the record"

        self.attempt("portal", user, what, call, judge, web=True, targets=targets)

    def markers(self, model, rid):
        """Texts of a record that would show that a page serves it."""
        fields = self.admin.fields(model)
        names = [
            n
            for n in ("name", "code", "description", "reason")
            if n in fields and fields[n]["type"] in ("char", "text")
        ]
        row = self.admin.read1(model, rid, names) if names else None
        return [str(row[n]) for n in names if row and row[n] and len(str(row[n])) >= 6]

    def portal_no_csrf(self, user, path, names, params):
        url = path
        for name in names:
            ids = self.readable(user, PARAM_MODELS.get(name, "credit.claim"), 1) or [1]
            url = url.replace(f"<int:{name}>", str(ids[0]))
        form = self.form_for(user, path, params, names, foreign=False)

        def call(session):
            resp = session.post(url, form)
            if resp.status >= 400:
                raise RpcError(f"HTTP {resp.status}", "")
            return resp

        # SECURITY.md: every POST needs Odoo's CSRF token; one the route handles
        # without it (any answer but a 4xx) is a hole whatever the form did
        self.attempt(
            "portal",
            user,
            f"POST {url} {form} without a CSRF token",
            call,
            lambda resp: ([f"handled without a CSRF token (HTTP {resp.status})"], "no CSRF"),
            web=True,
        )

    # ---------------------------------------------------------------- kind 5: attachments
    def attachments(self, user):
        yield lambda: self.attachment_run(user)

    def own_draft_claim(self, user):
        """A draft claim of the user's own (created as they would, through RPC), to link
        evidence to; removed at the end."""
        if not user.roles & {"resident", "grid"}:
            return None
        rule = next(
            (
                r
                for r in self.admin.search("credit.rule", [("points", ">", 0)], limit=50)
                if self.can_read(user, "credit.rule", [r])
            ),
            None,
        )
        scope = self.scope(user)
        subject = (
            user.partner_id
            if "resident" in user.roles
            else next(
                (
                    p
                    for p in self.admin.search(
                        "res.partner", [("credit_is_subject", "=", True)], limit=400
                    )
                    if (scope is None or p in scope) and p != user.partner_id
                ),
                None,
            )
        )
        if not rule or not subject:
            return None
        try:
            cid = user.web.call(
                "credit.claim",
                "create",
                [
                    {
                        "rule_id": rule,
                        "date": time.strftime("%Y-%m-%d"),
                        "description": "hostile run: evidence links",
                        "partner_ids": [[6, 0, [subject]]],
                    }
                ],
                {"context": {"lang": "en_US"}},
            )
        except RpcError as exc:
            print(
                f"  {user.login}: no draft claim of their own for the evidence test ({exc})",
                flush=True,
            )
            return None
        cid = cid[0] if isinstance(cid, list) else cid
        self.cleanup.append(("credit.claim", cid))
        self.sentinel(
            user, False, own={("credit.claim", cid)}
        )  # its lines and chatter are no attempt
        self.own_records.add(("credit.claim", cid))
        return cid

    def attachment_run(self, user):
        hidden = self.foreign(user, "ir.attachment")[:2]
        if not hidden:
            self.skipped["attachment: no file the user cannot open"] += 1
            return
        claim = self.own_draft_claim(user)
        if claim:
            for command in ([[4, hidden[0]]], [[6, 0, [hidden[0]]]]):

                def call(session, command=command):
                    return session.call(
                        "credit.claim",
                        "write",
                        [[claim], {"attachment_ids": command}],
                        {"context": self.forged_context()},
                    )

                def judge(_r, att=hidden[0]):
                    row = self.admin.read1("credit.claim", claim, ["attachment_ids"])
                    if row and att in row["attachment_ids"]:
                        return [
                            f"own draft claim #{claim} now links attachment #{att} "
                            "the user cannot open"
                        ], "linked"
                    return [], "accepted, not linked"

                self.attempt(
                    "attachment",
                    user,
                    f"write own claim({claim}).attachment_ids = {command}",
                    call,
                    judge,
                    targets=[("credit.claim", claim)],
                )

            def create_call(session, att=hidden[0]):
                return session.call(
                    "credit.claim",
                    "create",
                    [
                        {
                            "rule_id": self.admin.read1("credit.claim", claim, ["rule_id"])[
                                "rule_id"
                            ],
                            "date": time.strftime("%Y-%m-%d"),
                            "description": "hostile run",
                            "partner_ids": [
                                [
                                    6,
                                    0,
                                    self.admin.read1("credit.claim", claim, ["partner_ids"])[
                                        "partner_ids"
                                    ],
                                ]
                            ],
                            "attachment_ids": [[6, 0, [att]]],
                        }
                    ],
                    {"context": self.forged_context()},
                )

            def create_judge(result, att=hidden[0]):
                rid = result[0] if isinstance(result, list) else result
                row = self.admin.read1("credit.claim", rid, ["attachment_ids"])
                self.remove("credit.claim", rid)
                if row and att in row["attachment_ids"]:
                    return [
                        f"new claim #{rid} created linking attachment #{att} the user cannot open"
                    ], "linked"
                return [], "created without the file"

            self.attempt(
                "attachment",
                user,
                f"create a claim with attachment_ids = [{hidden[0]}]",
                create_call,
                create_judge,
                own_of=lambda r: {("credit.claim", r[0] if isinstance(r, list) else r)},
            )

            def rehome(session, att=hidden[0]):
                return session.call(
                    "ir.attachment",
                    "write",
                    [[att], {"res_model": "credit.claim", "res_id": claim}],
                    {"context": self.forged_context()},
                )

            def rehome_judge(_r, att=hidden[0]):
                row = self.admin.read1("ir.attachment", att, ["res_model", "res_id"])
                if row and row["res_model"] == "credit.claim" and row["res_id"] == claim:
                    return [f"attachment #{att} moved onto own claim #{claim}"], "moved"
                return [], "accepted, not moved"

            self.attempt(
                "attachment",
                user,
                f"write ir.attachment({hidden[0]}) onto own claim {claim}",
                rehome,
                rehome_judge,
                targets=[("ir.attachment", hidden[0])],
            )
        notices = (
            user.probe(
                "credit.notice", "search", [[("partner_id", "=", user.partner_id)]], {"limit": 1}
            )
            or []
        )
        for att in hidden:
            info = self.admin.read1("ir.attachment", att, ["name", "checksum", "file_size"])
            urls = [f"/web/content/{att}", f"/web/content/{att}?download=true", f"/web/image/{att}"]
            urls += [f"/my/credit/notices/{n}/evidence/{att}" for n in notices]
            for url in urls:

                def call(session, url=url):
                    resp = session.get(url)
                    if resp.status >= 400:
                        raise RpcError(f"HTTP {resp.status}", "")
                    return resp

                def judge(resp, info=info):
                    # the file itself, not a placeholder (/web/image answers a picture
                    # of its own for what the user may not open)
                    if (
                        resp.status == 200
                        and hashlib.sha1(resp.body).hexdigest() == info["checksum"]
                    ):
                        return [
                            f"served {info['name']!r} ({len(resp.body)} bytes, {resp.content_type})"
                        ], "served"
                    return [], "redirect" if 300 <= resp.status < 400 else "not the file"

                self.attempt(
                    "attachment",
                    user,
                    f"GET {url} (file #{att} the user cannot open)",
                    call,
                    judge,
                    web=True,
                )
        if claim:
            self.remove("credit.claim", claim)
            self.rebase()

    # ---------------------------------------------------------------- models in play
    def target_models(self, extensions=True):
        models = [
            m
            for m, info in sorted(self.models.items())
            if m.startswith("credit.") and not info["abstract"] and not info["transient"]
        ]
        if extensions:
            models += list(EXTENSION_MODELS)
        return models

    def check_model(self, model):
        try:
            self.admin.fields(model)
            return True
        except RpcError:
            return False

    # ---------------------------------------------------------------- ledger checks
    def ledger_by_subject(self):
        rows = self.admin.x(
            "credit.ledger.line",
            "read_group",
            [],
            ["points:sum"],
            ["partner_id", "company_id"],
            lazy=False,
        )
        return {
            (r["partner_id"][0], r["company_id"][0]): r["points"] for r in rows if r["partner_id"]
        }

    def balances_match(self):
        ledger = self.ledger_by_subject()
        rows = self.admin.x(
            "credit.balance", "search_read", [], fields=["partner_id", "company_id", "balance"]
        )
        balances = {(r["partner_id"][0], r["company_id"][0]): r["balance"] for r in rows}
        wrong = []
        for key in sorted(set(ledger) | set(balances)):
            if ledger.get(key, 0) != balances.get(key, 0):
                wrong.append(
                    f"subject #{key[0]} (company {key[1]}): balance {balances.get(key, 0)}, "
                    f"ledger {ledger.get(key, 0)}"
                )
        return len(rows), wrong, ledger

    # ---------------------------------------------------------------- main loop
    def run(self):
        print(
            f"Hostile run against {self.base} ({self.args.db}), "
            f"at most {self.args.max_attempts} attempts in {self.args.seconds} s",
            flush=True,
        )
        print(
            f"Surface: {sum(1 for m in self.models if m.startswith('credit.'))} credit models, "
            f"{sum(len(i['methods']) for i in self.models.values())} public methods, "
            f"{len(self.routes)} routes, {len(self.context_keys)} context keys",
            flush=True,
        )
        self.connect()
        kinds = [
            ("write", self.writes),
            ("create", self.creates),
            ("method", self.methods),
            ("portal", self.portal),
            ("attachment", self.attachments),
        ]
        if self.args.kinds:
            kinds = [k for k in kinds if k[0] in self.args.kinds]
        # breadth first: one attempt of each (user, kind) in turn, so that a run cut
        # short by its budget still covers every user and every kind
        queues = [(kind, user, gen(user)) for user in self.users for kind, gen in kinds]
        stopped = "done"
        try:
            while queues:
                for entry in list(queues):
                    kind, _user, generator = entry
                    try:
                        step = next(generator)
                    except StopIteration:
                        queues.remove(entry)
                        continue
                    self.check_budget()
                    try:
                        step()
                    except RpcError as exc:
                        # the administrator's read failed (e.g. a record vanished): not an attempt
                        self.skipped[f"{kind}: set-up failed ({exc.name})"] += 1
                        if self.args.verbose:
                            import traceback

                            traceback.print_exc()
                            print(exc.full[-1500:] if hasattr(exc, "full") else "")
        except Budget:
            stopped = "budget reached"
        except KeyboardInterrupt:
            stopped = "interrupted"
        self.finish(stopped)

    def sweep(self):
        """Records last written by a hostile user during the run that no attempt
        reported: a side effect of some attempt. Records the run created as the user
        and the view log are left out; so are records an accepted attempt wrote
        without changing anything (Odoo stamps write_date and write_uid anyway) when
        they still hold what they held."""
        found = []
        for model in self.watch:
            if model in NOTE_MODELS or model in HARMLESS_NEW:
                continue
            fields = self.admin.fields(model)
            if "write_uid" not in fields:
                continue
            try:
                rows = self.admin.x(
                    model,
                    "search_read",
                    [
                        ("write_uid", "in", sorted(self.hostile_uids)),
                        ("write_date", ">=", self.started_utc),
                    ],
                    fields=["write_uid", "write_date", "create_uid"],
                    limit=50,
                )
            except RpcError:
                continue
            for row in rows:
                if (model, row["id"]) in self.own_records or (model, row["id"]) in self.touched:
                    continue
                found.append(
                    f"{model} #{row['id']} last written by {row['write_uid'][1]} "
                    f"at {row['write_date']}"
                )
        return found

    def finish(self, stopped):
        for model, rid in self.cleanup:
            try:
                if self.admin.search(model, [("id", "=", rid)]):
                    self.admin.x(model, "unlink", [rid])
            except RpcError as exc:
                self.notes.append(f"could not remove the run's own {model} #{rid}: {exc.name}")
        for entry in self.sweep():
            self.through.append(f"[sweep] {entry}; no attempt reported it")
        count, wrong, ledger = self.balances_match()
        moved = [
            f"subject #{k[0]}: {self.ledger_before.get(k, 0)} -> {ledger.get(k, 0)}"
            for k in sorted(set(ledger) | set(self.ledger_before))
            if ledger.get(k, 0) != self.ledger_before.get(k, 0)
        ]
        total = sum(self.attempts.values())
        elapsed = time.monotonic() - self.start
        print()
        print(
            f"== Hostile run: {total} attempts in {elapsed:.0f} s ({stopped}); users: "
            f"{', '.join(u.login for u in self.users)}; channels: "
            f"{', '.join(f'{k} {v}' for k, v in sorted(self.channels.items()))}"
        )
        for kind in ("write", "create", "method", "portal", "attachment"):
            if not self.attempts[kind]:
                continue
            top = ", ".join(f"{r} {n}" for r, n in self.reasons[kind].most_common(4))
            print(
                f"  {kind:<10} {self.attempts[kind]:>6} attempts, {self.refused[kind]:>6} refused "
                f"({top}), {self.attempts[kind] - self.refused[kind]} through"
            )
        if self.skipped:
            print(
                "  not tried: " + "; ".join(f"{k} ({n})" for k, n in sorted(self.skipped.items()))
            )
        if self.errors:
            print(
                "  refused by a server error rather than a check "
                f"({sum(len(v) for v in self.errors.values())}):"
            )
            for (kind, reason), whats in sorted(self.errors.items()):
                print(f"    {kind}, {reason}: {len(whats)}, e.g. {whats[0]}")
        print(f"  balances: {count} rows, {len(wrong)} differ from the ledger")
        for line in wrong[:20]:
            print(f"    {line}")
        if moved:
            print(
                f"  ledger sums that moved during the run ({len(moved)}): " + "; ".join(moved[:10])
            )
        if self.background:
            print(
                f"  background changes by other users during the run ({len(self.background)}), "
                "not counted: " + "; ".join(self.background[:5])
            )
        if self.notes:
            print(f"  notes ({len(self.notes)}), not counted:")
            for note in self.notes[:20]:
                print(f"    {note}")
        print(f"  got through: {len(self.through)}")
        for entry in self.through:
            print(f"    {entry}")
        self.result = 1 if (self.through or wrong) else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069", help="a loopback Odoo URL")
    parser.add_argument("--db", required=True, help="the demo database served there")
    parser.add_argument("--admin-login", default="admin")
    parser.add_argument("--admin-password", default="admin")
    parser.add_argument("--max-attempts", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--timeout", type=float, default=60, help="seconds per HTTP request")
    parser.add_argument("--users", nargs="*", help="only these demo logins")
    parser.add_argument(
        "--kinds", nargs="*", choices=["write", "create", "method", "portal", "attachment"]
    )
    parser.add_argument("--log", help="write every attempt as a JSON line to this file")
    parser.add_argument("--verbose", action="store_true", help="print why a set-up step failed")
    args = parser.parse_args(argv)
    run = Run(args)
    run.run()
    return run.result


if __name__ == "__main__":
    sys.exit(main())
