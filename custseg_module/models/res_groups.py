# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Security records whose fields differ between Odoo 18.0 and 19.0.

The groups themselves are plain XML (security/custseg_security.xml); the XML
calls these methods at each install and update to file them under the
application in the user-rights form (an ir.module.category in 18.0, a
res.groups.privilege of that category in 19.0), to make the administrators
managers, and to keep All Follow-ups for managers.
"""

from odoo import api, models
from odoo.fields import Command
from odoo.tools import SQL

from ..tools import compat

USER_GROUP_XMLID = "custseg_module.group_custseg_user"
MANAGER_GROUP_XMLID = "custseg_module.group_custseg_manager"
CATEGORY_XMLID = "custseg_module.module_category_custseg"
PRIVILEGE_XMLID = "custseg_module.res_groups_privilege_custseg"
FIRST_MANAGER_XMLIDS = ("base.user_root", "base.user_admin")


class ResGroups(models.Model):
    _inherit = "res.groups"

    @api.model
    def _custseg_setup_groups(self):
        category = self.env.ref(CATEGORY_XMLID)
        manager_group = self.env.ref(MANAGER_GROUP_XMLID)
        groups = self.env.ref(USER_GROUP_XMLID) | manager_group
        if compat.has_group_privileges(self.env):
            privilege = self.env["res.groups.privilege"]._load_records(
                [
                    {
                        "xml_id": PRIVILEGE_XMLID,
                        "values": {"name": category.name, "category_id": category.id},
                    }
                ],
                update=True,
            )
            # The privilege shows the category's name in every language.
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    "UPDATE res_groups_privilege SET name = %s FROM ir_module_category "
                    "WHERE res_groups_privilege.id = %s AND ir_module_category.id = %s",
                    SQL.identifier("ir_module_category", "name"),
                    privilege.id,
                    category.id,
                )
            )
            privilege.invalidate_recordset(["name"])
            groups.write({"privilege_id": privilege.id})
        else:
            groups.write({"category_id": category.id})
        managers = [
            Command.link(user.id)
            for xmlid in FIRST_MANAGER_XMLIDS
            if (user := self.env.ref(xmlid, raise_if_not_found=False))
        ]
        manager_group.write({compat.group_users_field(self.env): managers})

    @api.model
    def _custseg_restrict_action(self, action_xmlid, group_xmlid):
        action = self.env.ref(action_xmlid)
        group = self.env.ref(group_xmlid)
        action.write({compat.groups_field(action): [Command.link(group.id)]})
