# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The few differences between Odoo 18.0 and 19.0 the module depends on, in one place.

Models, views and tests use these names instead of testing the version
themselves. See docs/odoo-versions.md for the table of differences.
"""

from odoo import models, release

ODOO_MAJOR = release.version_info[0]

# Domains that match every record / no record, without odoo.osv.expression
# (deprecated in 19.0).
TRUE_DOMAIN = [(1, "=", 1)]
FALSE_DOMAIN = [(0, "=", 1)]


class _SqlConstraint:
    """18.0 stand-in for 19.0's ``models.Constraint``: declared the same way, as
    a class attribute ``_name = Constraint(definition, message)``, it adds
    ``(name, definition, message)`` to the class's ``_sql_constraints``, which
    19.0 ignores and 18.0 requires. Both give the constraint the same name in
    the database: ``<table>_<name>``."""

    def __init__(self, definition, message=""):
        self.definition = definition
        self.message = message

    def __set_name__(self, owner, name):
        declared = list(owner.__dict__.get("_sql_constraints", []))
        declared.append((name.lstrip("_"), self.definition, self.message))
        owner._sql_constraints = declared


Constraint = getattr(models, "Constraint", _SqlConstraint)


def groups_field(model):
    """Name of the many2many to res.groups on users, actions, views, menus:
    ``groups_id`` in 18.0, ``group_ids`` in 19.0."""
    return "group_ids" if "group_ids" in model._fields else "groups_id"


def group_users_field(env):
    """Name of a group's users: ``users`` in 18.0, ``user_ids`` in 19.0."""
    return "user_ids" if "user_ids" in env["res.groups"]._fields else "users"


def has_group_privileges(env):
    """19.0 puts groups under a privilege (res.groups.privilege) of an
    application category; 18.0 puts them directly in the category."""
    return "res.groups.privilege" in env
