from odoo import Command, api, models
from odoo.exceptions import AccessError

from .utils import check_readable

# Fields that Odoo's own mail and activity machinery writes on a record while a
# user works with it (followers, messages, activities); never workflow state.
MAIL_FIELDS = frozenset(
    {
        "message_follower_ids",
        "message_ids",
        "message_main_attachment_id",
        "activity_ids",
        "website_message_ids",
    }
)


class CheckedVals(dict):
    """Values whose user part was already checked by the model's own create() or
    write(), which then completed them with what the system sets (who recorded
    it, normalised dates). RPC carries plain JSON objects only, so no caller can
    hand in one of these: it is a fact of the server code, not a context key."""


class CreditWorkflowMixin(models.AbstractModel):
    """The addon's one rule for state.

    Odoo serves create() and write() to every logged-in user over RPC, with any
    values and any context. A model that inherits this mixin names the fields a
    user may set by hand (``_credit_user_fields``, and ``_credit_create_fields``
    for those given once, at creation); within their access rights, record rules
    and the model's own checks. Every other field (states, who and when, dates
    of the workflow, outcomes, links to ledger lines, amounts) is written by
    server code only: the public ``action_*`` checks the caller, then writes
    under ``sudo()``. No context key ever opens that door, and a new field is
    refused until it is declared (here and in SECURITY.md).
    """

    _name = "credit.workflow.mixin"
    _description = "Credit Workflow Guard"

    _credit_user_fields = frozenset()
    _credit_create_fields = frozenset()
    # relational user fields whose ids the model checks itself, with a rule of
    # its own (e.g. the subjects a delegated declarant may name)
    _credit_linked_own_check = frozenset()

    @api.model
    def _credit_writable_fields(self, creating=False):
        allowed = set(self._credit_user_fields) | MAIL_FIELDS
        if creating:
            allowed |= set(self._credit_create_fields)
        return allowed

    @api.model
    def _credit_check_user_fields(self, names, creating=False):
        """Refuse fields the user may not set by hand (no-op under sudo)."""
        if self.env.su:
            return
        refused = set(names) - self._credit_writable_fields(creating)
        if refused and creating and isinstance(names, dict):
            refused -= self._credit_defaults_given(names, refused)
        if not refused and isinstance(names, dict):
            self._credit_check_linked(names)
        if refused:
            labels = sorted(self._fields[name].string for name in refused if name in self._fields)
            raise AccessError(
                self.env._(
                    "%(fields)s of %(model)s change only through the workflow (its "
                    "buttons), never by hand.",
                    fields=", ".join(labels or sorted(refused)),
                    model=self._description,
                )
            )

    @api.model
    def _credit_defaults_given(self, vals, names):
        """The guarded fields among `names` whose value in `vals` is their
        default: a new record's form sends them (a state shown in the header),
        and they set nothing the server would not set itself. Defaults are read
        without the context's ``default_`` keys, which a caller may forge."""
        context = {k: v for k, v in self.env.context.items() if not k.startswith("default_")}
        # the context less every default_ key (companies, language... stay)
        defaults = self.with_context(context).default_get(  # pylint: disable=context-overridden
            [name for name in names if name in self._fields]
        )
        same = set()
        for name in names:
            field = self._fields.get(name)
            if field is None or name not in defaults or field.type in ("one2many", "many2many"):
                continue
            given = field.convert_to_cache(vals[name], self, validate=False)
            if given == field.convert_to_cache(defaults[name], self, validate=False):
                same.add(name)
        return same

    @api.model
    def _credit_check_linked(self, vals):
        """A record given by id (evidence, subjects, places) must be one the user
        may read: nobody links what they cannot open (no-op under sudo)."""
        if self.env.su:
            return
        for name, value in vals.items():
            field = self._fields.get(name)
            if not field or not field.relational or not value:
                continue
            if name in self._credit_linked_own_check:
                continue
            ids = set()
            if field.type == "many2one":
                ids.add(value)
            else:
                for command in value:
                    if command[0] == Command.LINK:
                        ids.add(command[1])
                    elif command[0] == Command.SET:
                        ids.update(command[2])
            ids = {i for i in ids if isinstance(i, int)}
            if ids:
                check_readable(self.env[field.comodel_name].browse(ids).exists())

    @api.model
    def _credit_checked_vals(self, vals, creating=False):
        """Check the user's values once, at the top of a model's own create() or
        write() override, and mark them so that the system values the override
        adds afterwards are not refused further down."""
        self._credit_check_user_fields(vals, creating=creating)
        return CheckedVals(vals)

    @api.model
    def _credit_without_forged_defaults(self):
        """Drop ``default_<field>`` context keys for fields the user may not set:
        create() would otherwise take them as values."""
        if self.env.su:
            return self
        allowed = self._credit_writable_fields(creating=True)
        context = {
            key: value
            for key, value in self.env.context.items()
            if not (
                key.startswith("default_") and key[8:] in self._fields and key[8:] not in allowed
            )
        }
        if len(context) == len(self.env.context):
            return self
        # the same context less the forged defaults (companies, language... stay)
        return self.with_context(context)  # pylint: disable=context-overridden

    @api.model_create_multi
    def create(self, vals_list):
        if self.env.su:
            return super().create(vals_list)
        for vals in vals_list:
            if not isinstance(vals, CheckedVals):
                self._credit_check_user_fields(vals, creating=True)
        return super(CreditWorkflowMixin, self._credit_without_forged_defaults()).create(vals_list)

    def write(self, vals):
        if not isinstance(vals, CheckedVals):
            self._credit_check_user_fields(vals)
        return super().write(vals)
