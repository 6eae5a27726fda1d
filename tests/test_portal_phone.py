import re

from odoo.tests import tagged

from .common_portal import PortalCase

# every page of a resident, one tap away from the buttons on top of each of them
RESIDENT_PAGES = [
    "/my/credit",
    "/my/credit/declare",
    "/my/credit/claims",
    "/my/credit/events",
    "/my/credit/rewards",
    "/my/credit/commitments",
    "/my/credit/boards",
    "/my/credit/publications",
    "/my/credit/notices",
]
TAB = re.compile(r"<a [^>]*o_credit_tab[^>]*>")


@tagged("post_install", "-at_install")
class TestPortalPhone(PortalCase):
    """The resident's pages on a phone: every page in reach."""

    def tabs(self, url):
        page = self.url_open(url).text
        start = page.index('class="o_credit_nav')
        nav = page[start : page.index("</nav>", start)]
        return [
            (re.search(r'href="([^"]+)"', tab).group(1), 'aria-current="page"' in tab)
            for tab in TAB.findall(nav)
        ]

    # ------------------------------------------------------------ buttons
    def test_every_page_has_a_button_to_every_page(self):
        self.authenticate("t_resident", "t_resident")
        for url in RESIDENT_PAGES:
            tabs = self.tabs(url)
            self.assertEqual([href for href, _active in tabs], RESIDENT_PAGES, url)
            self.assertEqual([href for href, active in tabs if active], [url], url)


@tagged("post_install", "-at_install")
class TestPortalPhoneNarrow(PortalCase):
    """The buttons to every page on the narrowest phone still in use (320 wide)."""

    browser_size = "320x568"
    touch_enabled = True

    def test_every_page_one_tap_away(self):
        self.start_tour("/my/credit", "community_credit_phone_pages", login="t_resident")

    def test_every_page_one_tap_away_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["community_credit"], ["zh_CN"], overwrite=True
        )
        self.user_resident.lang = "zh_CN"
        self.start_tour("/my/credit", "community_credit_phone_pages", login="t_resident")
