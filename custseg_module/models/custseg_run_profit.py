# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The profit phases of a run: cost per invoice from the best cost source
installed, customer profit, tiers and CLV on profit when the value basis is
profit, the whale curve and the segment P&L.

Kept apart from custseg_run.py (same model) so that the run's restructuring
and this feature merge without touching the same lines.
"""

import datetime
import hashlib

import pandas as pd
from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import table_exists

from ..engine.profit import (
    customer_profit,
    profit_tiers,
    shrunk_profit_rates,
    whale_curve,
)
from ..tools.posted_moves import LINE_COST_TABLE, posted_customer_moves
from ..tools.xid import written_since

COST_SOURCES = [
    ("cogs", "Cost of goods sold journal items"),
    ("sale", "Sale order line cost"),
    ("standard", "Product cost × quantity"),
    ("none", "No cost known"),
]
VALUE_BASES = [("revenue", "Revenue"), ("profit", "Profit")]
# work_mem of the line-cost and move-cost queries: their aggregates hold a
# row per invoice or customer.
MOVE_COST_WORK_MEM = "256MB"
# Invoice ids per statement when the line costs are built whole: the
# invoices of a million ids aggregate within MOVE_COST_WORK_MEM; ten
# million in one statement spilled to disk (at 1M customers the build took
# 70.8 s in one statement, 54.3-61.9 s in parts: docs/performance.md,
# Round 13).
LINE_COST_BUILD_MOVES = 1_000_000


def _columns(alias, names):
    """SQL of ``alias.name, ...`` for the given column names."""
    return SQL(", ").join(SQL.identifier(alias, name) for name in names)


def _names(names):
    """SQL of ``name, ...`` for the given column names."""
    return SQL(", ").join(SQL.identifier(name) for name in names)


class CustsegRun(models.Model):
    _inherit = "custseg.run"

    value_basis = fields.Selection(
        VALUE_BASES,
        readonly=True,
        help="What the value tiers and the predicted CLV of this run measure.",
    )
    cost_source = fields.Selection(
        COST_SOURCES,
        string="Main Cost Source",
        readonly=True,
        help="Where the cost of most invoices of this run came from: cost of "
        "goods sold journal items (perpetual valuation, anglo-saxon), the cost "
        "on the sale order line, or the product's cost times the quantity.",
    )
    cost_source_summary = fields.Text(string="Cost Sources", readonly=True)
    total_revenue = fields.Monetary(string="Net Revenue", readonly=True)
    total_cost = fields.Monetary(string="Cost of Goods", readonly=True)
    total_cost_to_serve = fields.Monetary(string="Cost to Serve", readonly=True)
    total_profit = fields.Monetary(string="Profit", readonly=True)
    whale_top20_share = fields.Float(
        string="Top 20 % Share of Profit",
        readonly=True,
        digits=(16, 4),
        aggregator="avg",
    )
    whale_peak_share = fields.Float(
        string="Whale Curve Peak", readonly=True, digits=(16, 4), aggregator="avg"
    )
    whale_peak_customer_share = fields.Float(
        string="Peak Reached At", readonly=True, digits=(16, 4), aggregator="avg"
    )
    whale_given_away = fields.Monetary(
        string="Profit Given Away After the Peak", readonly=True
    )
    negative_profit_count = fields.Integer(
        string="Negative-Profit Customers", readonly=True
    )
    whale_summary = fields.Text(
        string="20/80/30 in Plain Words", compute="_compute_whale_summary"
    )
    line_cost_cache = fields.Char(
        readonly=True,
        help="The cost query and the transaction from which this run brought the "
        "cost of each invoice's lines up to date: the next run with the same "
        "query recomputes only the invoices written since.",
    )
    whale_point_ids = fields.One2many(
        "custseg.run.whale.point", "run_id", string="Whale Curve", readonly=True
    )

    @api.depends(
        "whale_top20_share",
        "whale_peak_share",
        "whale_peak_customer_share",
        "whale_given_away",
        "negative_profit_count",
        "total_profit",
        "state",
    )
    def _compute_whale_summary(self):
        for run in self:
            run.whale_summary = run._whale_words()

    def _whale_words(self):
        if self.state != "done" or not self.value_basis:
            return False
        _ = self.env._
        money = self.currency_id.format if self.currency_id else str
        lines = []
        if self.whale_peak_share:
            lines += [
                _(
                    "The most profitable 20 %% of customers earn %(share)s %% of "
                    "the total profit.",
                    share=round(self.whale_top20_share * 100, 1),
                ),
                _(
                    "Cumulative profit peaks at %(peak)s %% of the total, reached "
                    "with the best %(at)s %% of customers.",
                    peak=round(self.whale_peak_share * 100, 1),
                    at=round(self.whale_peak_customer_share * 100, 1),
                ),
            ]
        else:
            lines.append(
                _(
                    "Total profit is %(total)s: no share of it can be shown.",
                    total=money(self.total_profit),
                )
            )
        lines += [
            _(
                "The customers after the peak give away %(amount)s of profit.",
                amount=money(self.whale_given_away),
            ),
            _(
                "%(count)s customers have a negative profit.",
                count=self.negative_profit_count,
            ),
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------------ settings
    @api.model
    def _profit_settings(self):
        """(value basis, CostToServe) from the saved settings."""
        return self.env["res.config.settings"]._custseg_profit_settings()

    # ------------------------------------------------------------------ phases
    def _phase_profit(self, result, config):
        """Cost, margin, cost to serve and profit of every customer of
        ``result``; with the profit basis, rewrite its tiers and CLV in place.
        Adds the customers' profit_* columns to ``result``, which the
        write-back stores with the other daily figures (FIELD_MAP)."""
        value_basis, cost_to_serve = self._profit_settings()
        cr = self.env.cr
        # JIT compiling these queries cost 3.6 s of 20 s at 3.5M invoice lines;
        # with the default work_mem their aggregate and sorts spilled to disk
        # (docs/profit.md, Performance).
        previous_jit = self._set_local_setting("jit", "off")
        previous_work_mem = self._set_local_setting("work_mem", MOVE_COST_WORK_MEM)
        self._refresh_line_costs(config)
        # One pass over the invoices: the sums per customer and the count per
        # cost source (the rows whose partner_id is grouped away).
        cr.execute(
            SQL(
                """
                SELECT GROUPING(mc.partner_id) = 1, mc.partner_id, mc.source,
                       SUM(mc.revenue), SUM(mc.cost),
                       COUNT(*) FILTER (WHERE NOT mc.refund),
                       COUNT(*) FILTER (WHERE mc.refund)
                  FROM (%s) mc
                 GROUP BY GROUPING SETS ((mc.partner_id), (mc.source))
                """,
                self._move_cost_query(config),
            )
        )
        rows = cr.fetchall()
        self._set_local_setting("work_mem", previous_work_mem)
        self._set_local_setting("jit", previous_jit)
        sources = sorted(
            ((row[2], row[5] + row[6]) for row in rows if row[0]),
            key=lambda source: (-source[1], source[0]),
        )
        sums = pd.DataFrame(
            [row[1:2] + row[3:] for row in rows if not row[0]],
            columns=["partner_id", "revenue", "cost", "invoices", "refunds"],
        ).set_index("partner_id")
        sums = sums.astype(float).reindex(result.index, fill_value=0.0)
        figures = customer_profit(
            sums["revenue"],
            sums["cost"],
            sums["invoices"],
            sums["refunds"],
            cost_to_serve,
        )
        purchaser = (result["value_tier"] != "").to_numpy()
        if value_basis == "profit":
            result["value_tier"] = profit_tiers(
                figures.profit, purchaser, config.tier_cuts
            )
            rates = shrunk_profit_rates(
                sums["revenue"], figures.profit, sums["invoices"], purchaser
            )
            result["predicted_clv"] = result["predicted_clv"].to_numpy() * rates
        # Stored by the write-back with the other daily figures (FIELD_MAP).
        profit = {
            "revenue": sums["revenue"].to_numpy(),
            "cost": sums["cost"].to_numpy(),
            "margin": figures.margin,
            "cost_to_serve": figures.cost_to_serve,
            "amount": figures.profit,
        }
        for name, values in profit.items():
            result[f"profit_{name}"] = values
        curve = whale_curve(figures.profit[purchaser])
        self.write(
            {
                "value_basis": value_basis,
                "cost_source": sources[0][0] if sources else "none",
                "cost_source_summary": self._cost_source_words(sources),
                "total_revenue": float(profit["revenue"].sum()),
                "total_cost": float(profit["cost"].sum()),
                "total_cost_to_serve": float(profit["cost_to_serve"].sum()),
                "total_profit": float(profit["amount"].sum()),
                "whale_top20_share": curve.top20_share or 0.0,
                "whale_peak_share": curve.peak_share or 0.0,
                "whale_peak_customer_share": curve.peak_customer_share or 0.0,
                "whale_given_away": curve.given_away,
                "negative_profit_count": curve.negative_count,
            }
        )
        cr.execute("UPDATE custseg_run_whale_point SET latest = false WHERE latest")
        self.env["custseg.run.whale.point"].invalidate_model(["latest"])
        self.env["custseg.run.whale.point"].create(
            [
                {
                    "run_id": self.id,
                    "latest": True,
                    "customer_percent": percent,
                    "profit_percent": share * 100,
                }
                for percent, share in curve.points
            ]
        )

    def _cost_source_words(self, sources):
        labels = dict(self._fields["cost_source"]._description_selection(self.env))
        if not sources:
            return self.env._("No invoice in the window.")
        return "\n".join(
            self.env._(
                "%(cost_source)s: %(count)s invoices and refunds",
                cost_source=labels[source],
                count=count,
            )
            for source, count in sources
        )

    def _window_start(self, config):
        """The last day before the lookback window, or None for all history."""
        if not config.lookback_days:
            return None
        return self.as_of - datetime.timedelta(days=config.lookback_days)

    def _window_invoices(self, config, alias="m"):
        """SQL condition on account_move ``alias``: a posted customer invoice
        or refund of the lookback window, with a commercial partner."""
        start = self._window_start(config)
        return SQL(
            """%(posted)s
               AND %(date)s <= %(as_of)s
               AND %(window)s
               AND %(partner)s IS NOT NULL""",
            posted=posted_customer_moves(alias),
            date=SQL.identifier(alias, "invoice_date"),
            as_of=self.as_of,
            window=(
                SQL("%s > %s", SQL.identifier(alias, "invoice_date"), start)
                if start
                else SQL("TRUE")
            ),
            partner=SQL.identifier(alias, "commercial_partner_id"),
        )

    def _sale_cost_available(self):
        """sale_margin installed: sale lines carry a stored purchase_price."""
        model = self.env.registry.get("sale.order.line")
        field = model and model._fields.get("purchase_price")
        return bool(field and field.store)

    @api.model
    def _line_unit_cost(self, sale_cost):
        """SQL of one invoice line's unit cost in its company's currency:
        the cost of the sale line it came from (sale_margin), else the
        product's cost; 0 for a line without either."""
        # pc: the product's cost in the invoice's company (_line_cost_query).
        standard = SQL("COALESCE(pc.unit_cost, 0)")
        if not sale_cost:
            return standard
        # purchase_price is in the sale order's currency, the invoice's: the
        # line's own balance / amount_currency brings it to company currency.
        return SQL(
            """COALESCE(
                (SELECT MIN(sol.purchase_price)::float8
                   FROM sale_order_line_invoice_rel rel
                   JOIN sale_order_line sol ON sol.id = rel.order_line_id
                  WHERE rel.invoice_line_id = l.id)
                * COALESCE(l.balance::float8 / NULLIF(l.amount_currency, 0)::float8,
                           1.0),
                %s)""",
            standard,
        )

    @api.model
    def _line_source(self, sale_cost):
        if not sale_cost:
            return SQL("'standard'")
        return SQL(
            """CASE WHEN EXISTS (SELECT 1 FROM sale_order_line_invoice_rel rel
                                   WHERE rel.invoice_line_id = l.id)
                    THEN 'sale' ELSE 'standard' END"""
        )

    def _line_cost_query(self, invoices, sale_cost):
        """One row per invoice (account_move ``m``) meeting the SQL condition
        ``invoices``: what the profit needs of it, its commercial partner,
        company, date, refund flag and untaxed revenue (signed, in its
        company's currency); whether it has COGS journal items, half the
        sum of their absolute balances (each cost posts a debit and an equal
        credit), the sum of its product lines' quantity × unit cost
        (:meth:`_line_unit_cost`) and the source of that cost, all in the
        invoice company's currency, unsigned. An invoice without a product
        or COGS line has no row: it has no revenue either (its untaxed
        amount is its product lines'). Overridable: another cost
        source is a change here (or in the two methods it calls); the kept
        line costs are rebuilt when its SQL changes.

        The lines are read in one parallel pass, hash-joined to the invoices
        and to each product's cost, read from its jsonb once per product and
        company (not once per line); the invoice's own columns are taken by
        aggregates (one value per invoice): grouped by the invoice instead,
        PostgreSQL 15 read the lines without parallel workers."""
        return SQL(
            """
            WITH product_cost AS (
                SELECT pp.id AS product_id, c.id AS company_id,
                       (pp.standard_price ->> c.id::text)::float8 AS unit_cost
                  FROM product_product pp
                 CROSS JOIN res_company c
            )
            SELECT l.move_id,
                   MIN(m.commercial_partner_id) AS partner_id,
                   MIN(m.company_id) AS company_id,
                   MIN(m.invoice_date) AS invoice_date,
                   BOOL_OR(m.move_type = 'out_refund') AS refund,
                   MIN(m.amount_untaxed_signed::float8) AS revenue,
                   BOOL_OR(l.display_type = 'cogs') AS cogs,
                   SUM(ABS(l.balance::float8))
                       FILTER (WHERE l.display_type = 'cogs') / 2 AS cogs_cost,
                   SUM(l.quantity::float8 * %(unit_cost)s)
                       FILTER (WHERE l.display_type = 'product') AS product_cost,
                   MIN(%(line_source)s)
                       FILTER (WHERE l.display_type = 'product') AS source
              FROM account_move_line l
              JOIN account_move m ON m.id = l.move_id
              LEFT JOIN product_cost pc
                ON pc.product_id = l.product_id AND pc.company_id = m.company_id
             WHERE l.display_type IN ('product', 'cogs')
               AND %(invoices)s
             GROUP BY l.move_id
            """,
            invoices=invoices,
            unit_cost=self._line_unit_cost(sale_cost),
            line_source=self._line_source(sale_cost),
        )

    def _refresh_line_costs(self, config):
        """Bring LINE_COST_TABLE to one row per invoice of the window (the
        rows of :meth:`_line_cost_query`), computing only the invoices it
        lacks. First out: the invoices written since the last done run
        (posting, resetting to draft and editing all write the invoice),
        those with a line of a product written since (its cost) or, with
        sale_margin, of a sale line written since, and those dated out of
        the window. The table is rebuilt whole when the cost query differs
        from the last run's (a module installed or overriding it). Sets this
        run's line_cost_cache; returns the number of invoices computed.

        An invoice's row goes whenever the invoice is written: its partner,
        date, refund flag and revenue are kept with its cost. Currency rates
        and archived customers are applied when :meth:`_move_cost_query`
        reads the table."""
        cr = self.env.cr
        cache = SQL.identifier(LINE_COST_TABLE)
        sale_cost = self._sale_cost_available()
        window = self._window_invoices(config)
        every_invoice = self._line_cost_query(window, sale_cost)
        key = hashlib.sha256(every_invoice.code.encode()).hexdigest()[:16]
        # Any row written by a transaction at or after the snapshot's oldest
        # running one may be unseen by this run: the next one reads it again.
        cr.execute("SELECT txid_snapshot_xmin(txid_current_snapshot())")
        snapshot_xmin = cr.fetchone()[0]
        self.line_cost_cache = f"{key}|{snapshot_xmin}"
        last = (
            # sudo: the last done run of any company: every company's runs
            # share the line costs, whoever started this one.
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("state", "=", "done"), ("id", "!=", self.id)],
                order="id desc",
                limit=1,
            )
        )
        last_key, _sep, last_xmin = (last.line_cost_cache or "").partition("|")
        since = int(last_xmin) if last_key == key and last_xmin else None
        if (
            since is None
            or not self._transaction_known(since)
            or not table_exists(cr, LINE_COST_TABLE)
        ):
            # Built by CREATE TABLE AS, which reads the lines in parallel,
            # LINE_COST_BUILD_MOVES invoice ids at a time, the lines read
            # by their invoice's index. No index: every statement on it
            # joins most of its rows by hash.
            cr.execute(SQL("DROP TABLE IF EXISTS %s", cache))
            # The primary key's ends, read from its index at once.
            cr.execute("SELECT MIN(id), MAX(id) FROM account_move")
            first, last = cr.fetchone()
            # No invoice: one (empty) part all the same, to create the table.
            starts = range(first or 0, (last or 0) + 1, LINE_COST_BUILD_MOVES)
            computed = 0
            for index, start in enumerate(starts):
                part = self._line_cost_query(
                    SQL(
                        """%(window)s
                           AND m.id >= %(start)s AND m.id < %(end)s
                           AND l.move_id >= %(start)s AND l.move_id < %(end)s""",
                        window=window,
                        start=start,
                        end=start + LINE_COST_BUILD_MOVES,
                    ),
                    sale_cost,
                )
                if index:
                    computed += self._insert_line_costs(part)
                else:
                    cr.execute(SQL("CREATE UNLOGGED TABLE %s AS %s", cache, part))
                    computed = cr.rowcount
            cr.execute(SQL("ANALYZE %s", cache))
            return computed
        stale = SQL(
            """SELECT m.id FROM account_move m WHERE %s
               UNION
               SELECT l.move_id FROM account_move_line l
                WHERE l.product_id IN (SELECT p.id FROM product_product p
                                        WHERE %s)""",
            written_since("m", since),
            written_since("p", since),
        )
        if sale_cost:
            stale = SQL(
                """%s
                   UNION
                   SELECT l.move_id FROM account_move_line l
                     JOIN sale_order_line_invoice_rel rel
                       ON rel.invoice_line_id = l.id
                     JOIN sale_order_line sol ON sol.id = rel.order_line_id
                    WHERE %s""",
                stale,
                written_since("sol", since),
            )
        cr.execute(
            SQL(
                """
                DELETE FROM %(cache)s c
                 WHERE c.move_id IN (%(stale)s)
                    OR c.invoice_date > %(as_of)s
                    OR c.invoice_date <= %(start)s
                """,
                cache=cache,
                stale=stale,
                as_of=self.as_of,
                start=self._window_start(config) or datetime.date.min,
            )
        )
        # The invoices the table lacks.
        computed = self._insert_line_costs(
            self._line_cost_query(
                SQL(
                    "%s AND NOT EXISTS (SELECT 1 FROM %s c WHERE c.move_id = m.id)",
                    window,
                    cache,
                ),
                sale_cost,
            )
        )
        cr.execute(SQL("ANALYZE %s", cache))
        return computed

    def _insert_line_costs(self, query):
        """Add the rows of ``query`` (a :meth:`_line_cost_query`) to
        LINE_COST_TABLE; return how many. Through a temp table: CREATE
        TABLE AS reads the lines in parallel, INSERT … SELECT would not."""
        cr = self.env.cr
        new = SQL.identifier("custseg_run_line_cost_new")
        cr.execute(SQL("DROP TABLE IF EXISTS %s", new))
        cr.execute(SQL("CREATE TEMP TABLE %s ON COMMIT DROP AS %s", new, query))
        computed = cr.rowcount
        cr.execute(
            SQL(
                "INSERT INTO %s SELECT * FROM %s",
                SQL.identifier(LINE_COST_TABLE),
                new,
            )
        )
        cr.execute(SQL("DROP TABLE %s", new))
        return computed

    def _transaction_known(self, txid):
        """Whether PostgreSQL still knows transaction ``txid``: not so old
        that its status is gone (xmin, 32 bits, could have wrapped around
        since) nor in the future (the database restored into another
        cluster). Only then can :func:`written_since` compare with it."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT txid_status(%s)", [txid], log_exceptions=False
                )
                return self.env.cr.fetchone()[0] is not None
        except pg_errors.InvalidParameterValue:
            return False

    def _move_cost_query(self, config):
        """One query, one row per posted customer invoice or refund of the
        lookback window: partner, date, refund flag, net revenue and cost
        (both signed, refunds negative, in the run company's currency) and
        the cost's source. Overridable.

        The cost of an invoice is, best first: its COGS journal items, else
        the sum of its product lines' quantity × unit cost. Everything but
        the currency rate comes from the row LINE_COST_TABLE keeps for the
        invoice (:meth:`_line_cost_query`, brought up to date by
        :meth:`_refresh_line_costs`): a narrow table, not account_move.
        """
        start = self._window_start(config)
        return SQL(
            """
            WITH rate AS (
                SELECT r.currency_id, r.name, r.rate
                  FROM res_currency_rate r
                 WHERE r.currency_id <> %(currency)s
                   AND (r.company_id = %(root)s
                        OR (r.company_id IS NULL AND NOT EXISTS (
                            SELECT 1 FROM res_currency_rate own
                             WHERE own.currency_id = r.currency_id
                               AND own.company_id = %(root)s)))
            ),
            company_rate AS (
                SELECT r.currency_id,
                       CASE WHEN LAG(r.name) OVER w IS NULL THEN DATE '0001-01-01'
                            ELSE r.name END AS valid_from,
                       COALESCE(LEAD(r.name) OVER w, DATE '9999-12-31') AS valid_to,
                       r.rate
                  FROM rate r
                WINDOW w AS (PARTITION BY r.currency_id ORDER BY r.name)
            ),
            moves AS (
                SELECT lc.*,
                       CASE WHEN c.currency_id = %(currency)s THEN 1.0
                            ELSE COALESCE(cr.rate, 1.0)::float8 END AS rate
                  FROM %(line_cost)s lc
                  JOIN res_company c ON c.id = lc.company_id
                  LEFT JOIN company_rate cr
                    ON cr.currency_id = c.currency_id
                   AND lc.invoice_date >= cr.valid_from
                   AND lc.invoice_date < cr.valid_to
                 WHERE lc.invoice_date <= %(as_of)s
                   AND lc.invoice_date > %(start)s
            )
            SELECT moves.partner_id, moves.invoice_date, moves.refund,
                   moves.revenue / moves.rate AS revenue,
                   CASE WHEN moves.refund THEN -1 ELSE 1 END
                   * COALESCE(moves.cogs_cost, moves.product_cost, 0)
                   / moves.rate AS cost,
                   CASE WHEN moves.cogs THEN 'cogs'
                        WHEN COALESCE(moves.product_cost, 0) <> 0 THEN moves.source
                        ELSE 'none' END AS source
              FROM moves
             WHERE NOT EXISTS (SELECT 1 FROM res_partner cp
                                WHERE cp.id = moves.partner_id AND NOT cp.active)
            """,
            currency=self.company_id.currency_id.id,
            root=self.company_id.root_id.id,
            as_of=self.as_of,
            start=start or datetime.date.min,
            line_cost=SQL.identifier(LINE_COST_TABLE),
        )

    def _phase_segment_pnl(self, config):
        """Recompute the segment P&L and write the rows that changed: every
        invoice of the window counts for the segment its customer was in on
        the invoice date: the segment entered by the last transition on or
        before that date, else the one left by the first transition after it,
        else the customer's segment today. Returns the rows written."""
        _value_basis, cost_to_serve = self._profit_settings()
        cr = self.env.cr
        previous_jit = self._set_local_setting("jit", "off")
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE custseg_run_pnl_new ON COMMIT DROP AS
                WITH moves AS MATERIALIZED (%(moves)s),
                -- The segment of a date is looked up once per customer and
                -- invoice date, and only for customers with a transition:
                -- looked up per invoice, with few transitions the planner
                -- scanned the whole history for each one (130 s at 1M invoices).
                dated_segment AS MATERIALIZED (
                    SELECT d.partner_id, d.invoice_date,
                           COALESCE(
                               (SELECT h.new_segment_id
                                  FROM custseg_partner_history h
                                 WHERE h.partner_id = d.partner_id
                                   AND h.date <= d.invoice_date
                                 ORDER BY h.date DESC, h.id DESC LIMIT 1),
                               (SELECT h.old_segment_id
                                  FROM custseg_partner_history h
                                 WHERE h.partner_id = d.partner_id
                                   AND h.date > d.invoice_date
                                 ORDER BY h.date, h.id LIMIT 1)) AS segment_id
                      FROM (SELECT DISTINCT mc.partner_id, mc.invoice_date
                              FROM moves mc
                             WHERE mc.partner_id IN (
                                   SELECT partner_id FROM custseg_partner_history)
                           ) d
                )
                SELECT %(company)s AS company_id, a.month, a.segment_id,
                       s.owner_id,
                       ROUND(SUM(a.revenue)::numeric, 2) AS revenue,
                       ROUND(SUM(a.cost)::numeric, 2) AS cost,
                       ROUND(SUM(a.revenue - a.cost)::numeric, 2) AS margin,
                       ROUND(SUM(a.serve)::numeric, 2) AS cost_to_serve,
                       ROUND(SUM(a.revenue - a.cost - a.serve)::numeric, 2) AS profit,
                       COUNT(DISTINCT a.partner_id) AS customer_count
                  FROM (
                    SELECT mc.partner_id, mc.revenue, mc.cost,
                           date_trunc('month', mc.invoice_date)::date AS month,
                           CASE WHEN mc.refund THEN %(per_refund)s
                                ELSE %(per_invoice)s END
                           + mc.revenue * %(revenue_rate)s AS serve,
                           COALESCE(dated.segment_id, p.customer_segment_id)
                               AS segment_id
                      FROM moves mc
                      JOIN res_partner p ON p.id = mc.partner_id
                      LEFT JOIN dated_segment dated
                        ON dated.partner_id = mc.partner_id
                       AND dated.invoice_date = mc.invoice_date
                  ) a
                  LEFT JOIN custseg_segment s ON s.id = a.segment_id
                 GROUP BY a.month, a.segment_id, s.owner_id
                """,
                company=self.company_id.id,
                per_invoice=float(cost_to_serve.per_invoice),
                per_refund=float(cost_to_serve.per_refund),
                revenue_rate=float(cost_to_serve.revenue_rate),
                moves=self._move_cost_query(config),
            )
        )
        self._set_local_setting("jit", previous_jit)
        cr.execute("ANALYZE custseg_run_pnl_new")
        written = self._write_segment_pnl()
        cr.execute("DROP TABLE custseg_run_pnl_new")
        self.env["custseg.segment.pnl"].invalidate_model()
        return written

    def _write_segment_pnl(self):
        """Make the company's P&L rows those of custseg_run_pnl_new, touching
        only the rows that differ: a month whose figures did not change keeps
        its row as it is. A row is one (month, segment), the segment possibly
        empty (a customer without one), hence the NULL-safe matches."""
        cr = self.env.cr
        figures = [
            "owner_id",
            "revenue",
            "cost",
            "margin",
            "cost_to_serve",
            "profit",
            "customer_count",
        ]
        names = _names(figures)
        same_row = SQL(
            """r.company_id = n.company_id AND r.month = n.month
               AND r.segment_id IS NOT DISTINCT FROM n.segment_id"""
        )

        cr.execute(
            SQL(
                """
                DELETE FROM custseg_segment_pnl r
                 WHERE r.company_id = %(company)s
                   AND NOT EXISTS (SELECT 1 FROM custseg_run_pnl_new n
                                    WHERE %(same_row)s)
                """,
                company=self.company_id.id,
                same_row=same_row,
            )
        )
        written = cr.rowcount
        written += self._update_changed_rows(
            "custseg_segment_pnl", "custseg_run_pnl_new", same_row, figures
        )
        cr.execute(
            SQL(
                """
                INSERT INTO custseg_segment_pnl (
                    run_id, company_id, month, segment_id, %(names)s,
                    create_uid, create_date, write_uid, write_date)
                SELECT %(run)s, n.company_id, n.month, n.segment_id, %(new)s,
                       %(uid)s, NOW() AT TIME ZONE 'UTC',
                       %(uid)s, NOW() AT TIME ZONE 'UTC'
                  FROM custseg_run_pnl_new n
                 WHERE NOT EXISTS (SELECT 1 FROM custseg_segment_pnl r
                                    WHERE %(same_row)s)
                """,
                names=names,
                new=_columns("n", figures),
                run=self.id,
                uid=self.env.uid,
                same_row=same_row,
            )
        )
        return written + cr.rowcount

    def _update_changed_rows(self, table, new_table, same_row, figures):
        """UPDATE the rows of ``table`` (alias r) whose ``figures`` differ from
        their ``same_row`` match in ``new_table`` (alias n); write_uid,
        write_date and run_id (the run that last changed the row) only on
        those. An upsert would lock, so write, every unchanged row. Returns
        the rows updated."""
        self.env.cr.execute(
            SQL(
                """
                UPDATE %(table)s r
                   SET (run_id, %(names)s, write_uid, write_date)
                       = (%(run)s, %(new)s, %(uid)s, NOW() AT TIME ZONE 'UTC')
                  FROM %(new_table)s n
                 WHERE %(same_row)s
                   AND (%(old)s) IS DISTINCT FROM (%(new)s)
                """,
                table=SQL.identifier(table),
                new_table=SQL.identifier(new_table),
                names=_names(figures),
                new=_columns("n", figures),
                old=_columns("r", figures),
                run=self.id,
                uid=self.env.uid,
                same_row=same_row,
            )
        )
        return self.env.cr.rowcount

    def action_open_whale_curve(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "custseg_module.custseg_run_whale_point_action"
        )
        action["domain"] = [("run_id", "=", self.id)]
        action["display_name"] = self.env._("Whale Curve of %(run)s", run=self.name)
        return action
