import base64
import binascii

from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo.exceptions import AccessError, UserError
from odoo.tools.mimetypes import guess_mimetype

# evidence photos and documents, from the portal or the backend
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024

PERIOD_MONTHS = {"year": 12, "half": 6, "quarter": 3, "month": 1}


def html_text(text):
    """Plain text (which may quote a resident's words) as an escaped HTML paragraph."""
    return Markup("<p>%s</p>") % text


def mask_name(name):
    """张三丰 -> 张*丰, 张三 -> 张*, John Smith -> J*** S****."""
    if not name:
        return ""
    words = name.split()
    if len(words) > 1:
        return " ".join(w[0] + "*" * (len(w) - 1) for w in words)
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def period_bounds(day, period):
    """First and last day of the period (year, half, quarter, month) holding `day`."""
    months = PERIOD_MONTHS[period]
    start = day.replace(month=(day.month - 1) // months * months + 1, day=1)
    return start, start + relativedelta(months=months, days=-1)


def read_evidence(env, name, datas):
    """A photo or PDF sent as evidence (base64): its bytes and mimetype, or a
    UserError saying what is wrong with it (unreadable, over 5 MB, another kind
    of file; SVG is refused, it can carry scripts)."""
    try:
        raw = base64.b64decode(datas or b"", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UserError(env._("The file could not be read.")) from exc
    if len(raw) > MAX_EVIDENCE_BYTES:
        raise UserError(env._("%(name)s is larger than 5 MB: take a smaller photo.", name=name))
    mimetype = guess_mimetype(raw, default="")
    if not (mimetype.startswith("image/") or mimetype == "application/pdf") or (
        mimetype == "image/svg+xml"
    ):
        raise UserError(env._("%(name)s is not a photo or a PDF document.", name=name))
    return raw, mimetype


def attach_evidence(record, name, datas):
    """Check a photo or PDF (read_evidence) and store it as an attachment of
    `record`. Runs as superuser: portal users cannot create attachments, so the
    caller checks first that `record` is theirs to add evidence to."""
    raw, mimetype = read_evidence(record.env, name, datas)
    return (
        record.env["ir.attachment"]
        .sudo()
        .create(
            {
                "name": name or "evidence",
                "raw": raw,
                "mimetype": mimetype,
                "res_model": record._name,
                "res_id": record.id,
            }
        )
    )


def check_caller(records, *groups):
    """The check every public method starts with: the caller may read `records`
    and, where `groups` are named, belongs to one of them (XML ids)."""
    records.check_access("read")
    user = records.env.user
    if groups and not records.env.su and not any(user.has_group(g) for g in groups):
        raise AccessError(
            records.env._("You are not allowed to do this: it is reserved for credit staff.")
        )


def check_readable(records):
    """The current user may read `records`. Files are checked one by one, as
    Odoo checks them when they are opened: an attachment's model access says
    nothing of the record it belongs to (ir.attachment.check)."""
    records.check_access("read")
    if records._name == "ir.attachment" and records:
        records.check("read")
