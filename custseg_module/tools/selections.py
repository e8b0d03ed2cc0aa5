# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Selection values shared by several models (one definition each)."""

VALUE_TIER_SELECTION = [
    ("key", "Key"),
    ("important", "Important"),
    ("ordinary", "Ordinary"),
    ("small", "Small"),
    ("negative", "Negative"),
]
# Stage labels share no word with the default segment names (one word, one
# meaning): the segments "New Customers", "Loyal Customers" and "At Risk" rank
# customers against each other; a stage follows the customer's own rhythm.
LIFECYCLE_STAGE_SELECTION = [
    ("prospect", "Prospect"),
    ("new", "First Purchase"),
    ("repeat", "Repeat"),
    ("loyal", "Regular"),
    ("at_risk", "Lapsing"),
    ("churned", "Churned"),
    ("reactivated", "Reactivated"),
]
# What the salesperson recorded when closing a segment follow-up.
FOLLOWUP_OUTCOMES = [
    ("reached", "Reached"),
    ("not_reached", "Not reached"),
    ("order_expected", "Order expected"),
    ("not_interested", "Not interested"),
]
# The phases of a run, in order, as custseg.run.progress reports them.
RUN_PHASES = [
    ("aggregate", "Reading invoices"),
    ("engine", "Computing segments"),
    ("profit", "Computing profit"),
    ("recommendations", "Choosing products to offer"),
    ("write_back", "Writing customers"),
    ("history", "Logging transitions"),
    ("segment_pnl", "Building the segment P&L"),
    ("segment_profiles", "Profiling segments"),
    ("activities", "Scheduling follow-ups"),
]
