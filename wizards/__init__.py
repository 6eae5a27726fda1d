from . import credit_grant_wizard
from . import credit_reverse_wizard
from . import credit_claim_decision_wizard
from . import credit_voucher_honour_wizard
from . import credit_rule_simulation_wizard
from . import credit_rule_simulation_line
from . import base_partner_merge_automatic_wizard
