from . import test_ledger
