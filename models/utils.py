from dateutil.relativedelta import relativedelta
from markupsafe import Markup

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
