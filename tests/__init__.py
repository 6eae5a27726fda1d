from . import test_ledger
from . import test_security
from . import test_concurrency
from . import test_grant_wizard
from . import test_places_import
from . import test_i18n
