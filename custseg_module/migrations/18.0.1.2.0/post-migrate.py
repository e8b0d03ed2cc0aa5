# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.2.0.

* res.partner no longer has ``segmentation_run_id``: Odoo keeps the column of
  a removed field, and with it a foreign key that nothing writes any more;
  drop both (a catalogue change, instant on any size).
* The aggregate's index on account_move now leads with the company
  (``account.move.init`` has built it); drop the one it replaces.
"""


def migrate(cr, version):
    cr.execute("ALTER TABLE res_partner DROP COLUMN IF EXISTS segmentation_run_id")
    cr.execute("DROP INDEX IF EXISTS custseg_account_move_customer_day_idx")
