"""The trust boundary, tried the way a hostile but logged-in user would.

Generated from the declared surface (SECURITY.md, read by tests/surface.py) and
from the code itself, so that a new field, method or route cannot slip through
unreviewed:

- every public method of the addon's models and every route of its controllers
  is declared, and everything declared exists;
- every field of every model of the addon (and every credit field the addon adds
  to Odoo's models) is written through Odoo's RPC dispatcher by each non-admin
  user, on a record they can read and on one they cannot, with a forged context
  holding every context key the addon ever used as a guard; and every model is
  created with each of its fields and with forged ``default_`` keys. Only what
  SECURITY.md declares may change anything;
- every declared public method is called through the dispatcher by each user on
  a record they cannot read, and by each user it is not declared for on one they
  can: it must refuse, and nothing may change.

The users are the demo's own (resident, merchant, grid worker, reviewer, finance,
council), with their real places, on the demo data the test database is
installed with: what they can read is what they meet in the product.
"""

import inspect
import logging
import re
from datetime import date, datetime

import psycopg2

from odoo import Command, api, models
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.service.model import get_public_method
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from .surface import Surface

_logger = logging.getLogger(__name__)

ADDON = "community_credit"
# every context key the addon ever read as a guard, and Odoo's own switches
FORGED = {
    "credit_claim_workflow": True,
    "credit_appeal_workflow": True,
    "credit_notice_sending": True,
    "credit_notice_channel": "portal",
    "credit_board_publishing": True,
    "credit_rule_versioning": True,
    "credit_rule_version_note": "forged",
    "credit_posting": True,
    "credit_budget_approved": True,
    "credit_budget_reason": "forged",
    "active_test": False,
    "tracking_disable": True,
    "mail_notrack": True,
    "install_mode": True,
    "module": ADDON,
}
# Odoo's models the addon extends: only the fields it adds are the addon's to guard
EXTENDED = ["res.partner", "res.users", "event.event", "event.type", "event.registration",
            "product.template"]  # fmt: skip
MAGIC = {"id", "display_name", "create_uid", "create_date", "write_uid", "write_date"}
REFUSALS = (AccessError, UserError, ValidationError, MissingError, psycopg2.Error)
TOKEN_GROUPS = {
    "resident": "community_credit.group_credit_resident",
    "merchant": "base.group_portal",
    "grid": "community_credit.group_credit_grid_worker",
    "reviewer": "community_credit.group_credit_reviewer",
    "finance": "community_credit.group_credit_finance",
    "manager": "community_credit.group_credit_manager",
    "admin": "community_credit.group_credit_admin",
    "events": "event.group_event_user",
}
DEMO_USERS = ["resident", "merchant", "gridworker", "reviewer", "finance", "council"]


class _Undo(Exception):
    """Raised inside a savepoint to roll an attempt back after it was checked."""


def forged_value(env, field, current, default=None):
    """A value of the field's type that differs from `current` and from the
    field's default (a create that keeps the default proves nothing)."""
    kind = field.type
    if kind in ("char", "text", "html"):
        return "forged"
    if kind == "integer":
        return 987654 if current != 987654 else 987653
    if kind in ("float", "monetary"):
        return 98765.5
    if kind == "boolean":
        return None if default is not None and bool(default) != bool(current) else not current
    if kind == "date":
        return date(2001, 2, 3)
    if kind == "datetime":
        return datetime(2001, 2, 3, 4, 5, 6)
    if kind == "selection":
        values = [
            v for v, _label in field._description_selection(env) if v not in (current, default)
        ]
        return values[0] if values else None
    if kind == "many2one":
        other = (
            env[field.comodel_name]
            .sudo()
            .with_context(active_test=False)
            .search(
                [("id", "not in", [current.id if current else 0, default or 0])],
                limit=1,
                order="id desc",
            )
        )
        return other.id or None
    if kind in ("one2many", "many2many"):
        other = (
            env[field.comodel_name]
            .sudo()
            .with_context(active_test=False)
            .search([("id", "not in", current.ids if current else [])], limit=1, order="id desc")
        )
        return [Command.set(other.ids)] if other else [Command.clear()]
    if kind == "binary":
        return "Zm9yZ2Vk"
    return None


def snapshot(record, names):
    """The stored values of `record` as the database has them."""
    record.env.flush_all()
    record.env.invalidate_all()
    rec = record.sudo().with_context(active_test=False)
    if not rec.exists():
        return None
    values = {}
    for name in names:
        value = rec[name]
        values[name] = value.ids if isinstance(value, models.BaseModel) else value
    return values


@tagged("post_install", "-at_install", "trust")
class TestTrustSurface(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.surface = Surface()
        Users = cls.env["res.users"].with_context(active_test=False)
        cls.users = Users.search([("login", "in", DEMO_USERS)])
        missing = set(DEMO_USERS) - set(cls.users.mapped("login"))
        assert not missing, f"demo users missing: {missing} (the suite runs on the demo data)"
        cls.addon_models = sorted(
            name
            for name, model in cls.env.registry.items()
            if model._original_module == ADDON and not model._abstract
        )

    # ------------------------------------------------------------ helpers
    def rpc(self, user, model, method, args, kwargs=None, context=None):
        """Call as Odoo's JSON-RPC and XML-RPC do (get_public_method + call_kw)."""
        recs = self.env[model].with_user(user)
        get_public_method(recs, method)
        kwargs = dict(kwargs or {}, context=dict(FORGED, **(context or {})))
        return api.call_kw(recs, method, args, kwargs)

    def attempt(self, do, check):
        """Run `do` in a savepoint; return (refused, error, changed) after `check`."""
        changed = False
        refused = error = None
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                do()
                changed = check()
                raise _Undo()
        except _Undo:
            refused = None  # done and checked; the savepoint undid it
        except REFUSALS as exc:
            refused = exc
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            error = exc
        self.env.invalidate_all()
        return refused, error, changed

    def guarded_fields(self, model):
        Model = self.env[model]
        mail = set(self.env["mail.thread"]._fields) | set(self.env["mail.activity.mixin"]._fields)
        names = []
        for name, field in Model._fields.items():
            if name in MAGIC or name in mail or field.type in ("properties", "json", "reference"):
                continue
            if model in EXTENDED and field._module != ADDON:
                continue
            if not (field.store or field.inverse):
                continue
            names.append(name)
        return names

    def sample(self, user, model):
        """A record `user` can read, and one they cannot (either may be empty)."""
        Model = self.env[model].sudo().with_context(active_test=False)
        readable = self.env[model].with_user(user).with_context(active_test=False)
        if not readable.has_access("read"):
            return Model.browse(), Model.search([], limit=1, order="id desc")
        mine = readable.search([], limit=1, order="id desc")
        other = Model.search([("id", "not in", readable._search([]))], limit=1, order="id desc")
        return mine.sudo(), other

    def allowed_caller(self, user, tokens):
        if "reader" in tokens:
            return True
        return any(user.has_group(TOKEN_GROUPS[t]) for t in tokens if t in TOKEN_GROUPS)

    # ------------------------------------------------------- the surface
    def test_every_public_method_is_declared(self):
        undeclared, stale = [], []
        for model in self.addon_models + EXTENDED:
            cls = type(self.env[model])
            declared = self.surface.models.get(model, {}).get("methods", {})
            public = set()
            for klass in cls.mro():
                if not klass.__module__.startswith(f"odoo.addons.{ADDON}."):
                    continue
                for name, member in vars(klass).items():
                    if name.startswith("_") or not callable(member):
                        continue
                    if getattr(member, "_api_private", False):
                        continue
                    # overrides of Odoo's own API (create, write, copy...) are Odoo's surface
                    base_defined = any(
                        name in vars(k)
                        for k in cls.mro()
                        if not k.__module__.startswith(f"odoo.addons.{ADDON}.") and k is not klass
                    )
                    if not base_defined:
                        public.add(name)
            undeclared += [f"{model}.{m}" for m in sorted(public - set(declared))]
            stale += [f"{model}.{m}" for m in sorted(set(declared) - public)]
        self.assertFalse(undeclared, "public methods missing from SECURITY.md")
        self.assertFalse(stale, "SECURITY.md declares methods that do not exist")

    def test_every_route_is_declared(self):
        routes = set()
        # the rules ir.http's routing map is built from, for the installed modules
        # (read directly: routing_map() needs a request thread's database name)
        IrHttp = self.env["ir.http"]
        modules = sorted(self.registry._init_modules)
        for url, endpoint in IrHttp._generate_routing_rules(modules, IrHttp._get_converters()):
            endpoint = getattr(endpoint, "original_endpoint", endpoint)
            module = getattr(endpoint, "__module__", "")
            if module.startswith(f"odoo.addons.{ADDON}."):
                routes.add(re.sub(r"<(?:[^:>]*:)?([a-z_]+)>", r"<\1>", url))
        self.assertTrue(routes, "the addon's routes were not found")
        self.assertFalse(sorted(routes - set(self.surface.routes)), "undeclared routes")
        self.assertFalse(sorted(set(self.surface.routes) - routes), "stale routes in SECURITY.md")

    def test_every_model_is_declared(self):
        missing = [m for m in self.addon_models if m not in self.surface.models]
        self.assertFalse(missing, "models missing from SECURITY.md")

    def test_mixin_fields_match_the_declaration(self):
        """What the code lets users write is what SECURITY.md says they may."""
        for model in self.addon_models:
            Model = self.env[model]
            if not hasattr(type(Model), "_credit_user_fields"):
                continue
            declared = self.surface.models.get(model)
            if declared is None:
                continue
            with self.subTest(model=model):
                self.assertEqual(set(Model._credit_user_fields), declared["user"])
                self.assertEqual(set(Model._credit_create_fields), declared["create"])

    # ------------------------------------------------ the adversarial sweep
    def try_write(self, user, record, name, value, before):
        def do():
            self.rpc(user, record._name, "write", [record.ids, {name: value}])

        def check():
            after = snapshot(record, [name])
            return after is None or after[name] != before[name]

        return self.attempt(do, check)

    def try_create(self, user, model, vals, name, value, context=None):
        created = []
        field = self.env[model]._fields[name]

        def do():
            created.append(self.rpc(user, model, "create", [vals], context=context))

        def check():
            record = self.env[model].sudo().browse(created[0])
            got = record[name]
            if field.type == "many2one":
                return got.id == value
            if field.type in ("one2many", "many2many"):
                return value[0][0] == Command.SET and set(got.ids) == set(value[0][2])
            return field.convert_to_cache(value, record) == got

        return self.attempt(do, check)

    def try_method(self, user, record, method, args):
        Ledger = self.env["credit.ledger.line"].sudo()
        lines = Ledger.search_count([])
        stamp = snapshot(record, ["write_date"])

        def do():
            self.rpc(user, record._name, method, [record.ids, *args])

        def check():
            return Ledger.search_count([]) != lines or snapshot(record, ["write_date"]) != stamp

        return self.attempt(do, check)

    def test_forged_writes_change_only_declared_fields(self):
        tried = refused = 0
        through, errors = [], []
        for model in self.addon_models + EXTENDED:
            if self.env[model]._transient or not self.env[model]._auto:
                continue
            declared = self.surface.models.get(model, {"user": set(), "create": set()})
            names = self.guarded_fields(model)
            for user in self.users:
                for record in self.sample(user, model):
                    if not record:
                        continue
                    before = snapshot(record, names)
                    for name in names:
                        value = forged_value(self.env, record._fields[name], record[name])
                        if value is None:
                            continue
                        tried += 1
                        no, error, changed = self.try_write(user, record, name, value, before)
                        refused += bool(no or not changed)
                        if error:
                            errors.append(f"{user.login} {model}.{name}: {error!r}")
                        if changed and name not in declared["user"]:
                            through.append(f"{user.login} wrote {model}.{name} on {record.id}")
        _logger.info("forged writes: %s tried, %s refused or without effect", tried, refused)
        self.assertGreater(tried, 1000)
        self.assertFalse(through, "writes that got through")
        self.assertFalse(errors, "writes that failed with a server error")

    def test_forged_creates_set_only_declared_fields(self):
        tried = refused = 0
        through, errors = [], []
        for model in self.addon_models:
            Model = self.env[model]
            if Model._transient or not Model._auto:
                continue
            declared = self.surface.models.get(model, {"user": set(), "create": set()})
            allowed = declared["user"] | declared["create"]
            template = Model.sudo().with_context(active_test=False).search([], limit=1)
            if not template:
                continue
            base = {k: v for k, v in template.copy_data()[0].items() if k in allowed}
            names = [n for n in self.guarded_fields(model) if n not in allowed]
            defaults = Model.sudo().default_get(names)
            for user in self.users:
                for name in names:
                    field = Model._fields[name]
                    value = forged_value(self.env, field, template[name], defaults.get(name))
                    if value is None:
                        continue
                    for context in (None, {f"default_{name}": value}):
                        tried += 1
                        vals = dict(base) if context else dict(base, **{name: value})
                        no, error, changed = self.try_create(
                            user, model, vals, name, value, context
                        )
                        refused += bool(no or not changed)
                        how = f"default_{name}" if context else name
                        if error:
                            errors.append(f"{user.login} create {model} {how}: {error!r}")
                        if changed:
                            through.append(f"{user.login} created {model} with {how}")
        _logger.info("forged creates: %s tried, %s refused or without effect", tried, refused)
        self.assertGreater(tried, 500)
        self.assertFalse(through, "creates that set undeclared fields")
        self.assertFalse(errors, "creates that failed with a server error")

    def test_public_methods_refuse_callers_they_do_not_serve(self):
        tried = 0
        through, errors = [], []
        for model, entry in self.surface.models.items():
            if model not in self.env or self.env[model]._transient:
                continue
            Model = self.env[model]
            for method, tokens in entry["methods"].items():
                function = getattr(type(Model), method, None)
                if function is None or getattr(function, "_api", None) == "model":
                    continue
                params = [
                    p
                    for p in list(inspect.signature(function).parameters.values())[1:]
                    if p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                ]
                args = ["forged"] * len(params)
                for user in self.users:
                    mine, other = self.sample(user, model)
                    targets = [other]
                    if not self.allowed_caller(user, tokens):
                        targets.append(mine)
                    for record in targets:
                        if not record:
                            continue
                        tried += 1
                        no, error, changed = self.try_method(user, record, method, args)
                        if error:
                            errors.append(f"{user.login} {model}.{method}: {error!r}")
                        elif not no:
                            through.append(
                                f"{user.login} called {model}.{method} on {record.id}"
                                + (" and changed it" if changed else "")
                            )
        _logger.info("forged method calls: %s tried", tried)
        self.assertGreater(tried, 100)
        self.assertFalse(through, "public methods that served a caller they must refuse")
        self.assertFalse(errors, "public methods that failed with a server error")

    def test_ledger_equals_balances_after_the_sweep(self):
        self.test_forged_writes_change_only_declared_fields()
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT b.partner_id, b.balance, COALESCE(SUM(l.points), 0)
              FROM credit_balance b
              LEFT JOIN credit_ledger_line l
                ON l.partner_id = b.partner_id AND l.company_id = b.company_id
          GROUP BY b.id, b.partner_id, b.balance
            HAVING b.balance <> COALESCE(SUM(l.points), 0)
            """
        )
        self.assertEqual(self.env.cr.fetchall(), [])
