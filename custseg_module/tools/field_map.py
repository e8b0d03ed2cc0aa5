# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one declared map from the engine's result columns to stored fields.

The run's loader (wire types, rounding), its change detection, the storable
checks and the figure table all derive what they need from FIELD_MAP; adding a
figure is one line here plus its field. No Odoo import.

Where a figure is stored:
- ``res_partner``: what changes only when the customer's situation changes
  (segment, tier, stage, scores, purchase figures); a run rewrites a partner
  only when one of these differs (docs/performance.md).
- ``custseg_partner_figure``: the figures that move every day (likelihood,
  CLV, profit), one row per commercial partner, built to be rewritten nightly.
- ``custseg_partner_recommendation``: each customer's recommended products,
  one row per commercial partner holding them as arrays (not a field of this
  map: the recommendation phase writes it; models/custseg_recommendation.py).
"""

from collections import namedtuple

PARTNER_TABLE = "res_partner"
FIGURE_TABLE = "custseg_partner_figure"
RECOMMENDATION_TABLE = "custseg_partner_recommendation"

StoredFigure = namedtuple("StoredFigure", "column field sql_type decimals table")

FIELD_MAP = (
    StoredFigure("value_tier", "value_tier", "varchar", 0, PARTNER_TABLE),
    StoredFigure("lifecycle_stage", "lifecycle_stage", "varchar", 0, PARTNER_TABLE),
    StoredFigure("frequency", "rfm_frequency", "integer", 0, PARTNER_TABLE),
    # Decimals kept of each amount: an identical re-run compares equal.
    StoredFigure("monetary", "rfm_monetary", "numeric", 2, PARTNER_TABLE),
    StoredFigure("r_score", "rfm_r_score", "integer", 0, PARTNER_TABLE),
    StoredFigure("f_score", "rfm_f_score", "integer", 0, PARTNER_TABLE),
    StoredFigure("m_score", "rfm_m_score", "integer", 0, PARTNER_TABLE),
    StoredFigure("rfm_code", "rfm_code", "varchar", 0, PARTNER_TABLE),
    StoredFigure("first_purchase", "first_purchase_date", "date", 0, PARTNER_TABLE),
    StoredFigure("last_purchase", "last_purchase_date", "date", 0, PARTNER_TABLE),
    StoredFigure("cluster_label", "customer_cluster", "varchar", 0, PARTNER_TABLE),
    StoredFigure(
        "purchase_probability", "purchase_probability", "numeric", 4, FIGURE_TABLE
    ),
    StoredFigure("predicted_clv", "predicted_clv", "numeric", 2, FIGURE_TABLE),
    # Moves only with a new invoice, but read with the figures it explains.
    StoredFigure("purchase_gap", "purchase_gap_days", "numeric", 1, FIGURE_TABLE),
    # The profit phase's figures over the lookback window (models/
    # custseg_run_profit.py), in the run company's currency.
    StoredFigure("profit_revenue", "profit_revenue", "numeric", 2, FIGURE_TABLE),
    StoredFigure("profit_cost", "profit_cost", "numeric", 2, FIGURE_TABLE),
    StoredFigure("profit_margin", "profit_margin", "numeric", 2, FIGURE_TABLE),
    StoredFigure(
        "profit_cost_to_serve", "profit_cost_to_serve", "numeric", 2, FIGURE_TABLE
    ),
    StoredFigure("profit_amount", "profit_amount", "numeric", 2, FIGURE_TABLE),
)

# The write-back's COPY: a column type -> its wire type in the temp table.
# Text and dates travel as 1-based codes into a label array (0 = NULL),
# amounts as integers in units of their last decimal, so that every row has
# the same fixed width and no float is ever turned into a decimal.
WIRE_TYPES = {
    "integer": ("integer", ">i4"),
    "numeric": ("bigint", ">i8"),
    "varchar": ("integer", ">i4"),
    "date": ("integer", ">i4"),
}


def stored_in(table):
    """The figures stored in ``table``, in map order."""
    return [figure for figure in FIELD_MAP if figure.table == table]


def fields_in(table):
    """The field names stored in ``table``, in map order."""
    return [figure.field for figure in stored_in(table)]


def figure_of(field):
    """The map entry of the stored ``field``."""
    return next(figure for figure in FIELD_MAP if figure.field == field)


# The res.partner fields a run writes: its res_partner figures, the segment
# and the day the customer entered it.
WRITTEN_FIELDS = ["customer_segment_id", *fields_in(PARTNER_TABLE), "segment_date"]
