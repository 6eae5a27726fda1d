"""Two real database connections for concurrency tests.

The test data is committed (other connections must see it) and removed by each
test class at the end. Each worker uses its own connection from odoo.sql_db, not
the test cursor, and retries on serialization failures with a fresh snapshot, as
Odoo's request loop (odoo.service.model.retrying) does. That helper itself is not
used here because it reloads the registry, which the test runner keeps locked.
"""

import threading

from psycopg2.errors import SerializationFailure

from odoo import api
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.sql_db import db_connect
from odoo.tests import BaseCase, get_db_name


class TwoConnectionsCase(BaseCase):
    """Subclasses commit their data in setUpClass through cls.cursor(), and set
    cls.ids["users"] to the two users that run_pair() acts as."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dbname = get_db_name()
        # The test runner holds the registry lock: hand the registry to worker
        # threads instead of letting them look it up.
        cls.registry = Registry(cls.dbname)

    @classmethod
    def cursor(cls):
        cr = db_connect(cls.dbname).cursor()
        cr.transaction = api.Transaction(cls.registry)
        return cr

    @staticmethod
    def as_request(cr, uid, func):
        """Run func(env) and commit; on a serialization failure roll back and retry."""
        for _attempt in range(5):
            env = api.Environment(cr, uid, {})
            try:
                result = func(env)
                env.flush_all()
                cr.commit()  # pylint: disable=invalid-commit
                return result
            except SerializationFailure:
                cr.rollback()  # also clears the transaction's cache
        raise AssertionError("still conflicting after 5 attempts")

    def run_pair(self, func):
        """func(env, index) in two connections at once; the first holds its
        transaction open until the second has taken its snapshot."""
        outcomes, pids = [None, None], [None, None]
        second_started = threading.Event()

        def work(index):
            with self.cursor() as cr:
                cr.execute("SELECT pg_backend_pid()")
                pids[index] = cr.fetchone()[0]

                def call(env):
                    result = func(env, index)
                    if index == 0:
                        second_started.wait(10)
                        env.flush_all()
                        cr.execute("SELECT pg_sleep(0.3)")
                    return result

                if index == 1:
                    cr.execute("SELECT 1")  # snapshot before the first commits
                    second_started.set()
                try:
                    uid = self.ids["users"][index]
                    outcomes[index] = ("ok", self.as_request(cr, uid, call))
                except UserError as exc:
                    outcomes[index] = ("refused", str(exc))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertFalse([t for t in threads if t.is_alive()], "workers did not finish")
        self.assertNotEqual(pids[0], pids[1], "the two workers must use two connections")
        return outcomes
