# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Each customer's "why" in plain words: the facts of engine/explain.py,
worded in the user's language, money with ``format_amount``. Used by the
partner's Segmentation page and by the follow-up note, so both say the same."""

from odoo.tools import format_amount

from ..engine.explain import explain


def customer_figures(recency_days, frequency, monetary, stage, probability, gap):
    """The ``explain`` input from the stored figures of a customer."""
    return {
        "recency_days": recency_days or 0,
        "frequency": frequency or 0,
        "monetary": monetary or 0.0,
        "lifecycle_stage": stage or "prospect",
        "purchase_probability": probability or 0.0,
        "purchase_gap": gap or 0.0,
    }


def why_lines(env, figures, profile, currency):
    """Sentences (2-4; 1 for a prospect) for one customer's ``figures``
    (see :func:`customer_figures`), given a run's population ``profile``."""
    _ = env._

    def money(amount):
        return format_amount(env, amount, currency)

    lines = []
    for fact in explain(figures, profile):
        code = fact["fact"]
        if code == "prospect":
            lines.append(_("No purchase yet."))
        elif code == "churned":
            lines.append(
                _(
                    "Last purchase %(days)s days ago: beyond %(limit)s days, "
                    "a customer counts as churned.",
                    days=fact["recency"],
                    limit=fact["days"],
                )
            )
        elif code == "at_risk_once":
            lines.append(
                _(
                    "Bought once, %(days)s days ago: one-time buyers count as at "
                    "risk after %(limit)s days.",
                    days=fact["recency"],
                    limit=fact["days"],
                )
            )
        elif code == "at_risk":
            lines.append(
                _(
                    "Last purchase %(days)s days ago: they usually buy every "
                    "%(gap)s days, so they count as lapsing after %(limit)s "
                    "days.",
                    days=fact["recency"],
                    gap=fact["gap"],
                    limit=fact["days"],
                )
            )
        elif code == "recency":
            lines.append(
                _(
                    "Last purchase %(days)s days ago, more recently than "
                    "%(share)s %% of customers.",
                    days=fact["recency"],
                    share=fact["share"],
                )
            )
        elif code == "one_purchase":
            lines.append(_("One purchase so far."))
        elif code == "frequency":
            lines.append(
                _(
                    "%(count)s purchases, more than %(share)s %% of customers.",
                    count=fact["frequency"],
                    share=fact["share"],
                )
            )
        elif code == "monetary_top":
            lines.append(
                _(
                    "Net revenue %(amount)s: the top %(top)s %%.",
                    amount=money(fact["amount"]),
                    top=fact["top"],
                )
            )
        elif code == "monetary_low":
            lines.append(
                _(
                    "Net revenue %(amount)s: below the median customer's %(median)s.",
                    amount=money(fact["amount"]),
                    median=money(fact["median"]),
                )
            )
        elif code == "likelihood":
            lines.append(
                _(
                    "%(percent)s %% likely to buy within %(days)s days, higher "
                    "than %(share)s %% of customers.",
                    percent=round(fact["probability"] * 100),
                    days=fact["days"],
                    share=fact["share"],
                )
            )
    return lines
