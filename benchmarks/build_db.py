"""Build a benchmark database: N customers and M customer moves, in SQL.

Usage::

    python3 benchmarks/build_db.py --customers 100000 --moves 1000000
    BENCH_ODOO=19 /opt/odoo19-venv/bin/python benchmarks/build_db.py ...

The database (default ``custseg_bench_<N>_<M>``, ``custseg_bench19_<N>_<M>``
on 19.0) is a clone (``CREATE DATABASE … TEMPLATE``) of a base database
(``custseg_bench_base``, ``custseg_bench19_base``): Odoo without demo data,
``account`` with the generic chart, a second company in EUR with its own
chart, EUR rates in the main company, and ``custseg_module`` installed
(``--without-module`` leaves it out, for timing the install). The base is
built once with odoo-bin when it is missing. :func:`populate` then inserts
the rows with INSERT … SELECT generate_series and ANALYZEs; it takes any
DB-API cursor, so the module's smoke test calls it on its test cursor.

What the rows hold, and the shortcuts (the aggregate reads ``account_move``
and ``res_partner`` only):

* partners: N commercial partners (90 % companies, 10 % individuals),
  ``customer_rank`` 1, 1 % archived; plus N/10 contacts (``parent_id`` and
  ``commercial_partner_id`` = a company, ``customer_rank`` 0) to which 30 % of
  that company's invoices are addressed. 3 % of the customers never buy
  (prospects). No addresses, no property or bank rows.
* moves: ``out_invoice`` 85 %, ``out_refund`` 7 %, ``in_invoice`` 8 % (which
  the aggregate must skip); ``posted`` 94 %, ``draft`` 4 %, ``cancel`` 2 %;
  ``invoice_date`` uniform over the 3 years before ``--as-of``; amounts
  lognormal (median 33); every ``amount_*_signed`` column signed as Odoo signs
  it (refunds and vendor bills negative); 10 % in the EUR company (signed
  amounts in EUR, converted by the run through the rates), 5 % of the main
  company's invoices in EUR document currency (signed amounts already in
  USD); names unique per journal with Odoo's sequence prefix.
* products: PRODUCTS (5,000) goods in 100 themes of 50 (product ``k`` is in
  theme ``k % 100``), list price lognormal (median 20), ``standard_price``
  (cost) 40-90 % of the list price, 2 % of them loss-makers (105-130 %).
* invoice lines (customer invoices and refunds only): 3 to 5 ``product``
  lines per move that split its untaxed amount. Each customer has a home
  theme (``k % 100``); 70 % of the lines pick a product of it, the others
  one of all products, both skewed (``u³`` within the theme, ``u⁴`` overall):
  co-purchase structure and a long tail. No tax, receivable or payment lines:
  the run reads product lines only; nothing else that reads lines (payment
  state, reports) is meaningful on these databases; see README.md.
* the first 97 % of the customers get one invoice each, the rest of the moves
  go to customer ``1 + floor(0.97 N · u²)``: a few heavy buyers, many
  one-timers.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import psycopg2
from psycopg2 import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import odoo_env  # noqa: E402
from odoo_env import environment, odoo_bin  # noqa: E402

AS_OF = date(2026, 6, 30)
# CUSTSEG_BENCH_PREFIX: database name prefix, so that several checkouts
# benchmark side by side on one server without sharing databases. Each Odoo
# version has its own databases: a 19.0 registry must never open 18.0's.
BENCH_PREFIX = os.environ.get(
    "CUSTSEG_BENCH_PREFIX",
    "custseg_bench" if odoo_env.SERIES == "18.0" else "custseg_bench19",
)
BASE_DB = f"{BENCH_PREFIX}_base"
BASE_DB_NO_MODULE = f"{BENCH_PREFIX}_base_nomod"
FILESTORE = Path.home() / ".local/share/Odoo/filestore"
SEED = 0.42

PARTNERS_SQL = """
INSERT INTO res_partner (
    id, name, complete_name, commercial_company_name, type, is_company,
    parent_id, commercial_partner_id, customer_rank, supplier_rank, active,
    partner_share, autopost_bills, lang, email, email_normalized, ref,
    create_uid, write_uid, create_date, write_date)
SELECT %(base)s + k,
       name, name, CASE WHEN k %% 10 <> 0 THEN name END, 'contact', k %% 10 <> 0,
       NULL, %(base)s + k, 1, 0, k %% 100 <> 50,
       true, 'ask', 'en_US', email, email, 'BENCH-' || k,
       %(editor)s, %(editor)s, %(now)s::timestamp, %(now)s::timestamp
  FROM (SELECT k,
               CASE WHEN k %% 10 <> 0 THEN 'Bench Company ' ELSE 'Bench Person ' END
                   || k AS name,
               'customer' || k || '@bench.example' AS email
          FROM generate_series(1, %(customers)s) k) s
UNION ALL
-- Contact j works for company k = 10 j - 9 (k %% 10 = 1: always a company).
SELECT %(base)s + %(customers)s + j,
       'Contact ' || j, 'Bench Company ' || (10 * j - 9) || ', Contact ' || j,
       'Bench Company ' || (10 * j - 9), 'invoice', false,
       %(base)s + 10 * j - 9, %(base)s + 10 * j - 9, 0, 0, true,
       true, 'ask', 'en_US', NULL, NULL, NULL,
       %(editor)s, %(editor)s, %(now)s::timestamp, %(now)s::timestamp
  FROM generate_series(1, %(contacts)s) j
"""

# One materialised CTE draws every random value and computes the costly
# expressions once: an inlined CTE would re-evaluate them at each reference.
MOVES_SQL = """
WITH draw AS MATERIALIZED (
    SELECT n, k, u_type, u_state, u_company, u_contact,
           %(as_of)s::date - floor(u_day * 1095)::int AS day,
           untaxed, round(untaxed * 0.15, 2) AS tax
      FROM (SELECT n,
                   CASE WHEN n <= %(first_buyers)s THEN n
                        ELSE 1 + floor(%(first_buyers)s * power(random(), 2))::int
                   END AS k,
                   random() AS u_type, random() AS u_state, random() AS u_company,
                   random() AS u_day, random() AS u_contact,
                   -- lognormal (Box-Muller), median 33, rounded to cents
                   round(exp(3.5 + sqrt(-2 * ln(1 - random()))
                                   * cos(2 * pi() * random()))::numeric,
                         2) AS untaxed
              FROM generate_series(1, %(moves)s) n) r
), shaped AS (
    SELECT n, k, day, untaxed, tax,
           CASE WHEN u_type < 0.85 THEN 'out_invoice'
                WHEN u_type < 0.92 THEN 'out_refund'
                ELSE 'in_invoice' END AS move_type,
           CASE WHEN u_state < 0.94 THEN 'posted'
                WHEN u_state < 0.98 THEN 'draft'
                ELSE 'cancel' END AS state,
           (%(foreign_company)s::int IS NOT NULL AND u_company < 0.10) AS foreign_co,
           (%(foreign_company)s::int IS NOT NULL
            AND u_company >= 0.10 AND u_company < 0.15) AS foreign_doc,
           CASE WHEN k %% 10 = 1 AND (k + 9) / 10 <= %(contacts)s
                     AND u_contact < 0.3
                THEN %(base_partner)s + %(customers)s + (k + 9) / 10
                ELSE %(base_partner)s + k END AS partner_id
      FROM draw
), priced AS MATERIALIZED (
    SELECT s.*,
           CASE WHEN foreign_co THEN %(foreign_company)s::int
                ELSE %(main_company)s::int END AS company_id,
           CASE WHEN move_type = 'in_invoice' THEN 'BILL'
                WHEN move_type = 'out_refund' THEN 'RINV'
                ELSE 'INV' END || '/' || extract(year FROM day) || '/' AS prefix,
           CASE WHEN move_type = 'out_invoice' THEN 1 ELSE -1 END AS sign,
           CASE WHEN foreign_doc AND NOT foreign_co THEN round(untaxed * 0.92, 2)
                ELSE untaxed END AS doc_untaxed
      FROM shaped s
)
INSERT INTO account_move (
    id, name, sequence_prefix, sequence_number, ref, state, move_type,
    auto_post, date, invoice_date, invoice_date_due, journal_id, company_id,
    currency_id, partner_id, commercial_partner_id, invoice_user_id,
    invoice_partner_display_name, invoice_currency_rate, payment_state,
    amount_untaxed, amount_tax, amount_total, amount_residual,
    amount_untaxed_signed, amount_untaxed_in_currency_signed, amount_tax_signed,
    amount_total_signed, amount_total_in_currency_signed, amount_residual_signed,
    {flag_columns},
    create_uid, write_uid, create_date, write_date)
SELECT %(base_move)s + n,
       CASE WHEN state = 'draft' THEN '/'
            ELSE prefix || lpad((%(base_move)s + n)::text, 8, '0') END,
       prefix, %(base_move)s + n, NULL, state, move_type,
       'no', day, day, day + 30,
       CASE WHEN foreign_co THEN
                CASE WHEN move_type = 'in_invoice' THEN %(foreign_purchase)s::int
                     ELSE %(foreign_sale)s::int END
            ELSE CASE WHEN move_type = 'in_invoice' THEN %(main_purchase)s::int
                      ELSE %(main_sale)s::int END END,
       company_id,
       CASE WHEN foreign_co OR foreign_doc THEN %(eur)s::int
            ELSE %(main_currency)s::int END,
       partner_id, %(base_partner)s + k, 2,
       'Bench Company ' || k,
       CASE WHEN foreign_doc AND NOT foreign_co THEN 0.92 ELSE 1.0 END,
       CASE WHEN state = 'posted' AND n %% 10 < 7 THEN 'paid' ELSE 'not_paid' END,
       -- document currency amounts (EUR for the foreign_doc slice)
       doc_untaxed,
       tax, untaxed + tax,
       CASE WHEN state = 'posted' AND n %% 10 < 7 THEN 0 ELSE untaxed + tax END,
       -- company currency, signed
       sign * untaxed,
       sign * doc_untaxed,
       sign * tax, sign * (untaxed + tax), sign * (untaxed + tax),
       CASE WHEN state = 'posted' AND n %% 10 < 7 THEN 0
            ELSE sign * (untaxed + tax) END,
       {flag_values},
       1, 1, day::timestamp, day::timestamp
  FROM priced
"""

# Stored boolean columns of account_move and their values, inserted when the
# installed Odoo has them (19.0 dropped is_storno's column).
MOVE_FLAGS = {
    "checked": "state = 'posted'",
    "posted_before": "state <> 'draft'",
    "is_move_sent": "state = 'posted'",
    "is_storno": "false",
    "always_tax_exigible": "false",
    "made_sequence_gap": "false",
    "is_manually_modified": "false",
}


def moves_sql(cr):
    """MOVES_SQL with the flag columns this database's account_move has."""
    cr.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'account_move' AND column_name = ANY(%s)",
        (list(MOVE_FLAGS),),
    )
    present = {row[0] for row in cr.fetchall()}
    flags = [name for name in MOVE_FLAGS if name in present]
    return sql.SQL(MOVES_SQL).format(
        flag_columns=sql.SQL(", ").join(map(sql.Identifier, flags)),
        flag_values=sql.SQL(", ").join(sql.SQL(MOVE_FLAGS[name]) for name in flags),
    )


PRODUCTS = 5_000


def products_sql(cr):
    """PRODUCTS_SQL with the purchase unit column where this database's
    product_template has it (19.0 dropped uom_po_id)."""
    cr.execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_name = 'product_template' AND column_name = 'uom_po_id'"
    )
    present = bool(cr.fetchone())
    return PRODUCTS_SQL.format(
        uom_po_column="uom_po_id," if present else "",
        uom_po_value="%(uom)s," if present else "",
    )


THEMES = 100

PRODUCTS_SQL = """
WITH drawn AS MATERIALIZED (
    SELECT k,
           round(exp(3.0 + 0.8 * sqrt(-2 * ln(1 - random()))
                           * cos(2 * pi() * random()))::numeric, 2) AS price,
           random() AS u_cost, random() AS u_loss
      FROM generate_series(1, %(products)s) k
), template AS (
    INSERT INTO product_template (
        id, name, type, categ_id, uom_id, {uom_po_column} service_tracking,
        list_price, sale_ok, purchase_ok, active, create_uid, write_uid,
        create_date, write_date)
    SELECT %(base_template)s + k,
           jsonb_build_object('en_US', 'Bench Product ' || k), 'consu',
           %(category)s, %(uom)s, {uom_po_value} 'no', price, true, true, true,
           1, 1, %(now)s::timestamp, %(now)s::timestamp
      FROM drawn
)
INSERT INTO product_product (
    id, product_tmpl_id, active, standard_price, create_uid, write_uid,
    create_date, write_date)
SELECT %(base_product)s + k, %(base_template)s + k, true,
       jsonb_build_object(
           %(company)s::text,
           round((price * CASE WHEN u_loss < 0.02 THEN 1.05 + 0.25 * u_cost
                               ELSE 0.4 + 0.5 * u_cost END)::numeric, 2)),
       1, 1, %(now)s::timestamp, %(now)s::timestamp
  FROM drawn
"""

LINES_SQL = """
INSERT INTO account_move_line (
    id, move_id, journal_id, company_id, company_currency_id, currency_id,
    account_id, partner_id, product_id, product_uom_id, name, display_type,
    sequence, quantity, price_unit, discount, price_subtotal, price_total,
    balance, amount_currency, debit, credit, date, parent_state,
    create_uid, write_uid, create_date, write_date)
SELECT %(base_line)s + row_number() OVER (),
       m.id, m.journal_id, m.company_id, c.currency_id, m.currency_id,
       CASE WHEN m.company_id = %(main_company)s THEN %(main_income)s::int
            ELSE %(foreign_income)s::int END,
       m.partner_id, l.product_id, %(uom)s, 'Bench Product', 'product',
       10 + l.i, 1, round(m.amount_untaxed / l.lines, 2), 0,
       round(m.amount_untaxed / l.lines, 2), round(m.amount_untaxed / l.lines, 2),
       -round(m.amount_untaxed_signed / l.lines, 2),
       -round(m.amount_untaxed_in_currency_signed / l.lines, 2),
       GREATEST(-round(m.amount_untaxed_signed / l.lines, 2), 0),
       GREATEST(round(m.amount_untaxed_signed / l.lines, 2), 0),
       m.date, m.state, 1, 1, m.create_date, m.create_date
  FROM account_move m
  JOIN res_company c ON c.id = m.company_id
  CROSS JOIN LATERAL (
      SELECT i, 3 + (m.id %% 3) AS lines,
             %(base_product)s + CASE
                 WHEN random() < 0.7
                 THEN 1 + ((m.commercial_partner_id - %(base_partner)s) %% %(themes)s)
                        + %(themes)s * floor(
                              (%(products)s / %(themes)s) * power(random(), 3))::int
                 ELSE 1 + floor(%(products)s * power(random(), 4))::int
             END AS product_id
        FROM generate_series(1, 3 + (m.id %% 3)) i
  ) l
 WHERE m.id > %(base_move)s AND m.move_type IN ('out_invoice', 'out_refund')
"""


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _one(cr, query, params=None):
    cr.execute(query, params)
    row = cr.fetchone()
    return row[0] if row else None


def companies(cr):
    """The main company (lowest id) and, when present, a company in another
    currency, each with its sale and purchase journal."""
    cr.execute(
        """
        SELECT c.id, c.currency_id,
               (SELECT MIN(j.id) FROM account_journal j
                 WHERE j.company_id = c.id AND j.type = 'sale'),
               (SELECT MIN(j.id) FROM account_journal j
                 WHERE j.company_id = c.id AND j.type = 'purchase')
          FROM res_company c
         ORDER BY c.id
        """
    )
    rows = [row for row in cr.fetchall() if row[2] and row[3]]
    if not rows:
        raise RuntimeError("No company with a sale and a purchase journal.")
    main = rows[0]
    foreign = next((row for row in rows[1:] if row[1] != main[1]), None)
    return main, foreign


def populate(cr, customers, moves, as_of=AS_OF, seed=SEED):
    """Insert the benchmark partners and moves with ``cr``; return counts.

    Ids follow the current maxima and the sequences are moved past them, so
    Odoo keeps creating records normally afterwards.
    """
    if moves < customers:
        raise ValueError("moves must be at least customers")
    main, foreign = companies(cr)
    cr.execute("SELECT setseed(%s)", (seed,))
    base_partner = _one(cr, "SELECT COALESCE(MAX(id), 0) FROM res_partner")
    contacts = customers // 10
    cr.execute(
        PARTNERS_SQL,
        {
            "base": base_partner,
            "customers": customers,
            "contacts": contacts,
            "now": f"{as_of} 00:00:00",
            # People create and edit partners, the cron (user 1) runs: its
            # write_uid differs, so the run pays that foreign-key check too.
            "editor": _one(cr, "SELECT id FROM res_users WHERE login = 'admin'"),
        },
    )
    partner_rows = cr.rowcount
    _log(f"  inserted {partner_rows:,} partners")
    cr.execute(
        "SELECT setval('res_partner_id_seq', %s)", (base_partner + partner_rows,)
    )
    base_move = _one(cr, "SELECT COALESCE(MAX(id), 0) FROM account_move")
    eur = foreign[1] if foreign else main[1]
    cr.execute(
        moves_sql(cr),
        {
            "base_move": base_move,
            "base_partner": base_partner,
            "customers": customers,
            "contacts": contacts,
            "first_buyers": max(1, customers * 97 // 100),
            "moves": moves,
            "as_of": as_of,
            "main_company": main[0],
            "main_currency": main[1],
            "main_sale": main[2],
            "main_purchase": main[3],
            "foreign_company": foreign[0] if foreign else None,
            "foreign_sale": foreign[2] if foreign else None,
            "foreign_purchase": foreign[3] if foreign else None,
            "eur": eur,
        },
    )
    move_rows = cr.rowcount
    _log(f"  inserted {move_rows:,} moves")
    cr.execute("SELECT setval('account_move_id_seq', %s)", (base_move + move_rows,))
    line_counts = populate_lines(cr, main, foreign, base_partner, base_move, as_of)
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE account_move")
    return {
        "partners": partner_rows,
        "moves": move_rows,
        "customers": customers,
        **line_counts,
    }


def _income_account(cr, company_id):
    return _one(
        cr,
        """
        SELECT a.id FROM account_account a
          JOIN account_account_res_company_rel r ON r.account_account_id = a.id
         WHERE a.account_type = 'income' AND r.res_company_id = %s
         ORDER BY a.id LIMIT 1
        """,
        (company_id,),
    )


def populate_lines(cr, main, foreign, base_partner, base_move, as_of=AS_OF):
    """Insert PRODUCTS products and 3-5 product lines per customer move."""
    base_template = _one(cr, "SELECT COALESCE(MAX(id), 0) FROM product_template")
    base_product = _one(cr, "SELECT COALESCE(MAX(id), 0) FROM product_product")
    uom = _one(cr, "SELECT id FROM uom_uom ORDER BY id LIMIT 1")
    cr.execute(
        products_sql(cr),
        {
            "products": PRODUCTS,
            "base_template": base_template,
            "base_product": base_product,
            "category": _one(cr, "SELECT MIN(id) FROM product_category"),
            "uom": uom,
            "company": main[0],
            "now": f"{as_of} 00:00:00",
        },
    )
    cr.execute(
        "SELECT setval('product_template_id_seq', %s)", (base_template + PRODUCTS,)
    )
    cr.execute(
        "SELECT setval('product_product_id_seq', %s)", (base_product + PRODUCTS,)
    )
    base_line = _one(cr, "SELECT COALESCE(MAX(id), 0) FROM account_move_line")
    cr.execute(
        LINES_SQL,
        {
            "base_line": base_line,
            "base_move": base_move,
            "base_partner": base_partner,
            "base_product": base_product,
            "products": PRODUCTS,
            "themes": THEMES,
            "uom": uom,
            "main_company": main[0],
            "main_income": _income_account(cr, main[0]),
            "foreign_income": _income_account(cr, foreign[0]) if foreign else None,
        },
    )
    line_rows = cr.rowcount
    _log(f"  inserted {PRODUCTS:,} products, {line_rows:,} invoice lines")
    cr.execute(
        "SELECT setval('account_move_line_id_seq', %s)", (base_line + line_rows,)
    )
    cr.execute("ANALYZE product_product")
    cr.execute("ANALYZE product_template")
    cr.execute("ANALYZE account_move_line")
    return {"products": PRODUCTS, "lines": line_rows}


@contextlib.contextmanager
def indexes_rebuilt_after(cr, tables):
    """Drop the tables' plain indexes during a bulk load and recreate them
    after: building an index once is much faster than maintaining it per row
    (account_move has three trigram GIN indexes)."""
    cr.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
          FROM pg_index i
          LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
         WHERE i.indrelid = ANY(%s::regclass[]) AND c.oid IS NULL
        """,
        (list(tables),),
    )
    definitions = cr.fetchall()
    for name, _definition in definitions:
        cr.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    cr.execute("SET maintenance_work_mem = '1GB'")
    for name, definition in definitions:
        started = time.monotonic()
        # pg_get_indexdef returns the exact original statement.
        cr.execute(definition)
        _log(f"  index {name}: {time.monotonic() - started:.1f} s")


def connect(dbname):
    return psycopg2.connect(dbname=dbname)


def database_exists(name):
    with contextlib.closing(connect("postgres")) as conn, conn.cursor() as cr:
        return bool(_one(cr, "SELECT 1 FROM pg_database WHERE datname = %s", (name,)))


def drop_database(name):
    with contextlib.closing(connect("postgres")) as conn:
        conn.autocommit = True
        conn.cursor().execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
    shutil.rmtree(FILESTORE / name, ignore_errors=True)


def clone_database(template, name):
    drop_database(name)
    with contextlib.closing(connect("postgres")) as conn:
        conn.autocommit = True
        conn.cursor().execute(
            # FILE_COPY: the default WAL_LOG strategy of PostgreSQL 15 writes
            # the whole template through the WAL (about 30 s for an empty Odoo).
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    if (FILESTORE / template).is_dir():
        shutil.copytree(FILESTORE / template, FILESTORE / name)


def settle():
    """Flush what building and cloning left dirty (kernel page cache and
    PostgreSQL's buffers), so that a timed run does not pay for writing a
    database it did not write: at 100k, 13.0 s without it, 10.6 s with it."""
    os.sync()
    with contextlib.closing(connect("postgres")) as conn:
        conn.autocommit = True
        conn.cursor().execute("CHECKPOINT")
    os.sync()


def prepare_base(dbname):
    """A second company in EUR with the generic chart, and EUR rates in the
    main company (the run refuses to convert without them)."""
    with environment(dbname) as env:
        eur = env.ref("base.EUR")
        eur.active = True
        main = env["res.company"].browse(1)
        company = env["res.company"].search([("name", "=", "Bench Europe")])
        if not company:
            company = env["res.company"].create(
                {"name": "Bench Europe", "currency_id": eur.id}
            )
            env["account.chart.template"].try_loading(
                "generic_coa", company=company, install_demo=False
            )
        # Loading the generic chart resets the currency to the chart's (USD).
        company.currency_id = eur
        if not env["res.currency.rate"].search(
            [("currency_id", "=", eur.id), ("company_id", "=", main.id)]
        ):
            env["res.currency.rate"].create(
                [
                    {
                        "currency_id": eur.id,
                        "company_id": main.id,
                        "name": f"{year}-01-01",
                        "rate": rate,
                    }
                    for year, rate in ((2023, 0.90), (2024, 0.93), (2025, 0.92))
                ]
            )


def ensure_base(with_module):
    name = BASE_DB if with_module else BASE_DB_NO_MODULE
    if database_exists(name):
        return name
    modules = "custseg_module" if with_module else "account,mail,sales_team"
    started = time.monotonic()
    print(f"building base database {name} (odoo-bin -i {modules})", flush=True)
    try:
        subprocess.run(
            odoo_bin(
                "-d",
                name,
                "-i",
                modules,
                *odoo_env.without_demo(),
                "--stop-after-init",
                "--log-level=warn",
            ),
            check=True,
        )
        subprocess.run([sys.executable, __file__, "--prepare-base", name], check=True)
        if with_module:
            # Built from the current code: no update needed before its use.
            store_module_hash(name, module_hash())
    except BaseException:
        drop_database(name)
        raise
    print(f"  base ready in {time.monotonic() - started:.0f} s", flush=True)
    return name


MODULE_HASH_KEY = "custseg_bench.module_hash"


def module_hash():
    """A digest of the addon's files: a database built from other code is
    updated (odoo-bin -u) before it is used."""
    digest = hashlib.sha256()
    addon = odoo_env.ADDONS_DIR / "custseg_module"
    for path in sorted(addon.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".xml", ".csv", ".js", ".po"}:
            digest.update(str(path.relative_to(addon)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_module_current(dbname):
    """Update custseg_module in ``dbname`` when the addon's code changed since
    the database was built or last updated; return the seconds spent."""
    odoo_env.check_database(dbname)
    wanted = module_hash()
    with contextlib.closing(connect(dbname)) as conn, conn.cursor() as cr:
        current = _one(
            cr,
            "SELECT value FROM ir_config_parameter WHERE key = %s",
            (MODULE_HASH_KEY,),
        )
    if current == wanted:
        return 0.0
    started = time.monotonic()
    _log(f"  updating custseg_module in {dbname} (code changed)")
    subprocess.run(
        odoo_bin(
            "-d",
            dbname,
            "-u",
            "custseg_module",
            "--stop-after-init",
            "--log-level=warn",
        ),
        check=True,
    )
    store_module_hash(dbname, wanted)
    return time.monotonic() - started


def store_module_hash(dbname, value):
    with contextlib.closing(connect(dbname)) as conn, conn.cursor() as cr:
        cr.execute(
            """
            INSERT INTO ir_config_parameter (key, value, create_uid, write_uid,
                                             create_date, write_date)
            VALUES (%s, %s, 1, 1, NOW(), NOW())
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
            """,
            (MODULE_HASH_KEY, value),
        )
        conn.commit()


def build(customers, moves, dbname, with_module=True, as_of=AS_OF):
    base = ensure_base(with_module)
    if with_module:
        ensure_module_current(base)
    started = time.monotonic()
    clone_database(base, dbname)
    _log(f"  cloned {base}: {time.monotonic() - started:.1f} s")
    with contextlib.closing(connect(dbname)) as conn:
        with conn.cursor() as cr:
            # Bulk load: the rows are consistent by construction, so skip the
            # per-row foreign-key triggers (22 on account_move) and rebuild the
            # indexes once at the end. Needs a superuser, as the local role is.
            cr.execute("SET session_replication_role = replica")
            with indexes_rebuilt_after(
                cr, ["res_partner", "account_move", "account_move_line"]
            ):
                counts = populate(cr, customers, moves, as_of=as_of)
            cr.execute("SET session_replication_role = DEFAULT")
            analyzed = time.monotonic()
            cr.execute("ANALYZE")
            _log(f"  ANALYZE: {time.monotonic() - analyzed:.1f} s")
        conn.commit()
        # As on a live database, where old invoices are long vacuumed: hint
        # bits set and the visibility map current (index-only scans need it).
        conn.autocommit = True
        vacuumed = time.monotonic()
        with conn.cursor() as cr:
            cr.execute("VACUUM (ANALYZE) res_partner, account_move, account_move_line")
            _log(f"  VACUUM: {time.monotonic() - vacuumed:.1f} s")
            size = _one(cr, "SELECT pg_database_size(current_database())")
    counts["seconds"] = round(time.monotonic() - started, 1)
    counts["size_mb"] = round(size / 2**20)
    return counts


def default_name(customers, moves, with_module=True):
    suffix = "" if with_module else "_nomod"
    return f"{BENCH_PREFIX}_{customers}_{moves}{suffix}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--moves", type=int, default=100_000)
    parser.add_argument("--db", help="target database (dropped and rebuilt)")
    parser.add_argument(
        "--without-module",
        action="store_true",
        help="clone the base without custseg_module (for timing its install)",
    )
    parser.add_argument("--as-of", type=date.fromisoformat, default=AS_OF)
    parser.add_argument("--prepare-base", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    odoo_env.check_tree()
    odoo_env.check_python()
    if args.prepare_base:
        prepare_base(args.prepare_base)
        return
    with_module = not args.without_module
    dbname = args.db or default_name(args.customers, args.moves, with_module)
    counts = build(args.customers, args.moves, dbname, with_module, args.as_of)
    print(
        f"{dbname}: {counts['partners']:,} partners, {counts['moves']:,} moves "
        f"in {counts['seconds']} s, {counts['size_mb']:,} MB"
    )


if __name__ == "__main__":
    main()
