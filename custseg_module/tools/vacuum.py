# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""After a run commits: vacuum the tables it rewrites when autovacuum will not.

A run leaves the old versions of the rows it rewrote behind. Autovacuum
reclaims them, so the next night's updates reuse their room; where it is off
(the server's ``autovacuum`` setting or a table's ``autovacuum_enabled``
storage parameter) nothing does, and res_partner grows by the rows rewritten
every night (docs/performance.md). Then the run vacuums those tables itself,
once committed, on a connection of its own: VACUUM cannot run inside a
transaction. Where autovacuum is on, it is left to it.
"""

import logging
import time
from contextlib import closing

from psycopg2 import Error as PostgresError

from odoo.sql_db import db_connect
from odoo.tools import SQL

from .field_map import FIGURE_TABLE, PARTNER_TABLE, RECOMMENDATION_TABLE

_logger = logging.getLogger(__name__)

# The tables a run rewrites in place, every night.
REWRITTEN_TABLES = (PARTNER_TABLE, FIGURE_TABLE, RECOMMENDATION_TABLE)
# A VACUUM waits for another one on the same table (or a schema change):
# the next run's vacuum will do it rather than hold a worker.
VACUUM_LOCK_TIMEOUT = "5s"


def tables_autovacuum_skips(cr, tables=REWRITTEN_TABLES):
    """Those of ``tables`` that exist and that autovacuum will not vacuum,
    in order."""
    cr.execute(
        """
        SELECT t.name
          FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, position)
          JOIN pg_class c ON c.oid = to_regclass(t.name)
         WHERE current_setting('autovacuum') = 'off'
            OR EXISTS (SELECT 1 FROM pg_options_to_table(c.reloptions) o
                        WHERE o.option_name = 'autovacuum_enabled'
                          AND o.option_value IN ('false', 'off', 'no', '0'))
         ORDER BY t.position
        """,
        [list(tables)],
    )
    return [row[0] for row in cr.fetchall()]


def vacuum_rewritten_tables(dbname):
    """VACUUM the tables of REWRITTEN_TABLES that autovacuum skips, in
    database ``dbname``; returns their names. Never raises: the run is
    committed already, and a table left unvacuumed only grows."""
    vacuumed = []
    try:
        with closing(db_connect(dbname).cursor()) as cr:
            cr._cnx.autocommit = True
            cr.execute(
                "SELECT set_config('lock_timeout', %s, false)", [VACUUM_LOCK_TIMEOUT]
            )
            for table in tables_autovacuum_skips(cr):
                start = time.monotonic()
                cr.execute(SQL("VACUUM %s", SQL.identifier(table)))
                vacuumed.append(table)
                _logger.info(
                    "Vacuumed %s after the segmentation run (autovacuum off) in %.1f s",
                    table,
                    time.monotonic() - start,
                )
    except PostgresError as error:
        _logger.warning("Could not vacuum after the segmentation run: %s", error)
    return vacuumed
