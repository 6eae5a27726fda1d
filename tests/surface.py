"""SECURITY.md read as data: the declared surface the adversarial suite checks.

Per model (a ``### model.name`` heading under ``## Models``):
- ``- user fields: `a`, `b` — who, when``: fields users may write by hand;
- ``- create only: `c` — who``: fields users may give at creation only;
- ``- methods:`` then one line per public method: ``- `name` [tokens] — what it checks``,
  the tokens naming who may call it (resident, merchant, grid, reviewer, finance,
  manager, events, reader: anyone who may read the record).
Routes (under ``## Routes``): ``- `METHOD /path` [tokens] — what it checks``.
"""

import os
import re

SECURITY_MD = os.path.join(os.path.dirname(os.path.dirname(__file__)), "SECURITY.md")
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
TOKENS = re.compile(r"\[([a-z ,]+)\]")
ROUTE = re.compile(r"^- `(GET|POST|GET, POST) (/[^`]*)`")
KNOWN_TOKENS = {
    "resident", "merchant", "grid", "reviewer", "finance", "manager", "admin", "events",
    "reader",
}  # fmt: skip


class Surface:
    def __init__(self, path=SECURITY_MD):
        self.models = {}
        self.routes = {}
        with open(path, encoding="utf-8") as handle:
            self._parse(handle.read().splitlines())

    def _parse(self, lines):
        section = model = None
        in_methods = False
        for raw in lines:
            line = raw.rstrip()
            if line.startswith("## "):
                section = line[3:].strip().lower()
                model = None
                continue
            if section == "models" and line.startswith("### "):
                model = line[4:].strip().strip("`")
                self.models[model] = {"user": set(), "create": set(), "methods": {}}
                in_methods = False
                continue
            if section == "routes":
                match = ROUTE.match(line)
                if match:
                    self.routes[match.group(2)] = self._tokens(line)
                continue
            if not model:
                continue
            entry = self.models[model]
            text = line.strip()
            if text.startswith("- user fields:"):
                entry["user"] |= set(NAME.findall(text.split("—")[0]))
                in_methods = False
            elif text.startswith("- create only:"):
                entry["create"] |= set(NAME.findall(text.split("—")[0]))
                in_methods = False
            elif text.startswith("- methods:"):
                in_methods = True
            elif in_methods and line.startswith("  - `"):
                names = NAME.findall(text.split("[")[0])
                if names:
                    entry["methods"][names[0]] = self._tokens(text)
            elif text.startswith("- "):
                in_methods = False

    @staticmethod
    def _tokens(text):
        match = TOKENS.search(text)
        if not match:
            return set()
        tokens = {t.strip() for t in match.group(1).split(",") if t.strip()}
        unknown = tokens - KNOWN_TOKENS
        if unknown:
            raise ValueError(f"SECURITY.md: unknown caller {sorted(unknown)} in: {text}")
        return tokens
