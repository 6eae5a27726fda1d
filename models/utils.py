from markupsafe import Markup


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
