# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Rows written since a transaction id, by the age of their xmin: a quick
scan, no column or trigger needed (docs/reliability.md, docs/profit.md)."""

from odoo.tools import SQL

# Transaction ids wrap around at 2^32 (xmin holds the low 32 bits).
XID_SPAN = 2**32


def written_since(alias, txid):
    """SQL condition: the row ``alias`` was last written by transaction
    ``txid`` (64-bit, as txid_current() gives it) or a later one. Exact for
    transactions less than 2^31 apart: xmin holds 32 bits."""
    return SQL(
        "age(%s) <= age(%s::text::xid)",
        SQL.identifier(alias, "xmin") if alias else SQL.identifier("xmin"),
        str(txid % XID_SPAN),
    )
