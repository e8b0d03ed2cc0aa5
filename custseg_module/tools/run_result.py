# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The carrier of one run's result between its phases: a temp table that this
object creates, names and hands over. Phases receive it as an argument and
read ``result.table`` (an SQL identifier); no file spells the table's name.

Columns: ``partner_id`` (commercial partner), ``segment_id`` (the new one, a
locked segment kept), every field of tools/field_map.FIELD_MAP, and the
partner's previous ``old_segment_id``, ``old_value_tier``,
``old_lifecycle_stage``; ``changed`` is true when the commercial partner's
stored segment or res_partner figures differ. Customers deferred by the
write-back (a user edit held their row) are removed from it, so no later phase
treats them as written.
"""

from odoo.tools import SQL

from .copy_codec import COPY_READ_BYTES, CopyBinaryStream
from .field_map import FIELD_MAP, PARTNER_TABLE, WIRE_TYPES, fields_in

RESULT_TABLE = "custseg_run_result"
WIRE_TABLE = "custseg_run_wire"
NEW_SEGMENT = SQL(
    "CASE WHEN p.segment_locked AND p.customer_segment_id IS NOT NULL "
    "THEN p.customer_segment_id ELSE e.segment_id END"
)


def figures_of(alias, names):
    """``alias.name, …`` for row comparisons."""
    return SQL(", ").join(SQL.identifier(alias, name) for name in names)


class RunResult:
    """Owns the run's result temp table (dropped at commit)."""

    table = SQL.identifier(RESULT_TABLE)

    def __init__(self, cr):
        self.cr = cr

    def load(self, columns, labels):
        """Fill the table from the wire ``columns`` (partner_id, segment_id,
        then FIELD_MAP's fields; see custseg.run._wire_columns), next to the
        partners' current values, in one pass."""
        cr = self.cr
        names = ["partner_id", "segment_id", *(f.field for f in FIELD_MAP)]
        types = ["integer", "integer", *(f.sql_type for f in FIELD_MAP)]
        cr.execute(
            SQL(
                "DROP TABLE IF EXISTS %s, %s",
                SQL.identifier(WIRE_TABLE),
                self.table,
            )
        )
        cr.execute(
            SQL(
                "CREATE TEMP TABLE %s (%s) ON COMMIT DROP",
                SQL.identifier(WIRE_TABLE),
                SQL(", ").join(
                    SQL("%s %s", SQL.identifier(name), SQL(WIRE_TYPES[sql_type][0]))
                    for name, sql_type in zip(names, types, strict=True)
                ),
            )
        )
        cr.copy_expert(
            cr.mogrify(
                SQL(
                    "COPY %s FROM STDIN WITH (FORMAT binary)",
                    SQL.identifier(WIRE_TABLE),
                )
            ),
            CopyBinaryStream(columns),
            size=COPY_READ_BYTES,
        )
        decoded = [SQL("e.partner_id"), SQL("e.segment_id")]
        for figure in FIELD_MAP:
            column = SQL.identifier("e", figure.field)
            if figure.field in labels:
                # Arrays are 1-based and out-of-range is NULL: code 0 is NULL.
                column = SQL(
                    "(%s::%s[])[%s]",
                    labels[figure.field],
                    SQL(figure.sql_type),
                    column,
                )
            elif figure.sql_type == "numeric":
                column = SQL("%s / %s::numeric", column, 10**figure.decimals)
            decoded.append(SQL("%s AS %s", column, SQL.identifier(figure.field)))
        on_partner = fields_in(PARTNER_TABLE)
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE %(table)s ON COMMIT DROP AS
                SELECT e.partner_id,
                       %(new_segment)s AS segment_id,
                       %(figures)s,
                       p.customer_segment_id AS old_segment_id,
                       p.value_tier AS old_value_tier,
                       p.lifecycle_stage AS old_lifecycle_stage,
                       COALESCE((p.customer_segment_id, %(old)s) IS DISTINCT FROM
                                (%(new_segment)s, %(new)s), false) AS changed
                  FROM (SELECT %(decoded)s FROM %(wire)s e) e
                  LEFT JOIN res_partner p ON p.id = e.partner_id
                """,
                table=self.table,
                wire=SQL.identifier(WIRE_TABLE),
                decoded=SQL(", ").join(decoded),
                new_segment=NEW_SEGMENT,
                figures=figures_of("e", [f.field for f in FIELD_MAP]),
                old=figures_of("p", on_partner),
                new=figures_of("e", on_partner),
            )
        )
        cr.execute(SQL("DROP TABLE %s", SQL.identifier(WIRE_TABLE)))
        cr.execute(SQL("ANALYZE %s", self.table))
