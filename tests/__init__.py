from . import test_ledger
from . import test_security
from . import test_concurrency
