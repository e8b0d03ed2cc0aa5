# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
# The engine (custseg_module.engine) is a library usable without Odoo, in a
# notebook or a script: only under Odoo does the addon load its models.
try:
    import odoo  # noqa: F401
except ImportError:
    odoo = None

if odoo is not None:
    from . import models
    from .hooks import uninstall_hook
