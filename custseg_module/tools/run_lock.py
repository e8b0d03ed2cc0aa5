# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The run's advisory lock, and what happens to it when Odoo dies mid-run.

After a ``kill -9`` of Odoo, PostgreSQL only notices that its client is gone
when it next talks to it: the run's last statement runs on (30-40 s for the
write-back at 1M customers) and keeps the lock, so new runs are refused. A run
therefore asks PostgreSQL (14+, on Linux) to check the client's socket every
CONNECTION_CHECK_INTERVAL while a statement runs, and to cancel the statement,
roll back and release the lock as soon as the socket is closed.
"""

# pg advisory lock key ("custsg" in ASCII): one run at a time per database.
RUN_LOCK_KEY = 0x637573747367
# How often PostgreSQL checks, during a run's statements, that Odoo is still
# connected (client_connection_check_interval, a per-session setting).
CONNECTION_CHECK_SETTING = "client_connection_check_interval"
CONNECTION_CHECK_INTERVAL = "1s"


def bound_to_connection(cr):
    """Until the end of ``cr``'s transaction: a statement of a client that
    died is cancelled within CONNECTION_CHECK_INTERVAL."""
    # PostgreSQL 13 and older have no such setting: nothing to set there.
    cr.execute(
        "SELECT set_config(%s, %s, true) WHERE current_setting(%s, true) IS NOT NULL",
        (CONNECTION_CHECK_SETTING, CONNECTION_CHECK_INTERVAL, CONNECTION_CHECK_SETTING),
    )


def lock_holder(cr):
    """(database session id, seconds its transaction has lasted or None) of
    the session holding the run lock, or None."""
    # pg_locks is live; pg_stat_activity is a snapshot taken once per
    # transaction unless cleared, hence the clear and the LEFT JOIN.
    cr.execute("SELECT pg_stat_clear_snapshot()")
    cr.execute(
        """
        SELECT l.pid,
               GREATEST(EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start), 0)::int
          FROM pg_locks l
          LEFT JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory'
           AND l.granted
           AND l.database = (SELECT oid FROM pg_database
                              WHERE datname = current_database())
           AND l.classid = %s AND l.objid = %s AND l.objsubid = 1
         LIMIT 1
        """,
        (RUN_LOCK_KEY >> 32, RUN_LOCK_KEY & 0xFFFFFFFF),
    )
    row = cr.fetchone()
    return tuple(row) if row else None
