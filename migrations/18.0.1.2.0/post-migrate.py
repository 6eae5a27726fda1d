from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Rule versions (18.0.1.2.0): every rule gets v1, its terms of today, and
    the lines posted before are hung on it."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["credit.rule.version"]._create_missing_versions()
