from . import credit_grant_wizard
from . import credit_reverse_wizard
