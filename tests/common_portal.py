import base64
import re
from datetime import datetime, time, timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user

from .common import RESIDENT, CreditCase

# the smallest PNG: a real image, as a phone would send one
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)


class PortalCase(CreditCase, HttpCase):
    """The test community as its residents see it on the portal: good deeds they
    may declare (reviewed by estate A's group, then published for 7 days), a
    volunteer event of their community and one of another, and a reward."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # portal pages show times in the community's zone when the user has none
        # (models/ir_http.py); the demo puts the company in Asia/Shanghai, where
        # "today" differs from UTC's after 16:00 UTC. These tests compare with UTC
        # dates: the community here keeps UTC (the time-zone tests set their own).
        cls.env.company.partner_id.tz = False
        cls.community.write(
            {
                "claim_council_stage": False,
                "claim_publication": True,
                "claim_publication_days": 7,
                "claim_daily_limit": 3,
                "claim_council_user_id": cls.user_manager.id,
            }
        )
        (cls.rule_clean | cls.rule_help | cls.rule_photo).write({"self_declare": True})
        cls.rule_other = cls.env["credit.rule"].create(
            {
                "code": "T09",
                "name": "Never-deduct community deed",
                "category_id": cls.category.id,
                "points": 1,
                "self_declare": True,
                "community_id": cls.community_nd.id,
            }
        )
        cls.user_resident_a2 = new_test_user(
            cls.env,
            "t_resident_a2",
            groups=RESIDENT,
            partner_id=cls.res_a2.id,
            name=cls.res_a2.name,
        )
        cls.user_resident_nd = new_test_user(
            cls.env,
            "t_resident_nd",
            groups=RESIDENT,
            partner_id=cls.res_nd.id,
            name=cls.res_nd.name,
        )
        cls.group_a = cls.env["credit.review.group"].create(
            {
                "name": "Estate A group",
                "community_id": cls.community.id,
                "place_ids": [Command.set(cls.estate_a.ids)],
                "user_ids": [Command.set(cls.user_reviewer.ids)],
                "leader_id": cls.user_reviewer.id,
            }
        )
        cls.user_organiser = new_test_user(
            cls.env, "t_organiser", groups="base.group_user,event.group_event_registration_desk"
        )
        cls.rule_patrol = cls.env["credit.rule"].create(
            {"code": "T05", "name": "Patrol", "category_id": cls.category.id, "points": 4}
        )
        tomorrow = datetime.combine(fields.Date.today() + timedelta(days=1), time(1, 0))
        Event = cls.env["event.event"]
        cls.event = Event.create(
            {
                "name": "Stairwell patrol",
                "date_begin": tomorrow,
                "date_end": tomorrow + timedelta(hours=3),
                "credit_rule_id": cls.rule_patrol.id,
                "credit_community_id": cls.community.id,
                "seats_limited": True,
                "seats_max": 5,
            }
        )
        cls.event_other = Event.create(
            {
                "name": "Other community's clean-up",
                "date_begin": tomorrow,
                "date_end": tomorrow + timedelta(hours=2),
                "credit_rule_id": cls.rule_patrol.id,
                "credit_community_id": cls.community_nd.id,
            }
        )
        cls.noodle_shop = cls.env["res.partner"].create({"name": "Old Wang's", "is_company": True})
        cls.noodles = cls.env["product.template"].create(
            {
                "name": "Bowl of noodles",
                "credit_is_reward": True,
                "credit_points_price": 6,
                "credit_donated_value": 6.0,
                "credit_merchant_id": cls.noodle_shop.id,
                "credit_stock_ids": [
                    Command.create(
                        {
                            "collection_point": "Old Wang's noodle shop",
                            "community_id": cls.community.id,
                            "quantity": 3,
                        }
                    ),
                    Command.create(
                        {
                            "collection_point": "Far away shop",
                            "community_id": cls.community_nd.id,
                            "quantity": 3,
                        }
                    ),
                ],
            }
        )
        cls.stock, cls.stock_other = cls.noodles.credit_stock_ids
        cls.Claim = cls.env["credit.claim"]

    def url_open(self, *args, **kwargs):
        response = super().url_open(*args, **kwargs)
        self.env.invalidate_all()  # the request changed records behind this test's cache
        return response

    def csrf(self, url="/my/credit/declare"):
        page = self.url_open(url).text
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def declare(self, rule, date=None, description="Helped", files=None, token=None):
        data = {
            "rule_id": rule.id if hasattr(rule, "id") else rule,
            "date": fields.Date.to_string(date or fields.Date.today()),
            "description": description,
            "csrf_token": token or self.csrf("/my/credit/declare"),
        }
        return self.url_open("/my/credit/declare", data=data, files=files or {})

    def claims_of(self, partner):
        return self.Claim.search([("partner_ids", "in", partner.ids)])
