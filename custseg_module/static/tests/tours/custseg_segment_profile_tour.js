/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * A segmentation manager opens Loyal Customers and reads its profile: what its
 * customers buy (product, share, lift), who owns them, the average order value.
 */

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("custseg_segment_profile_tour", {
    url: "/odoo/action-custseg_module.custseg_segment_action",
    steps: () => [
        {
            content: "Open Loyal Customers",
            trigger: ".o_list_view .o_data_cell[name=name]:contains(Loyal Customers)",
            run: "click",
        },
        {
            content: "Open the Profile tab",
            trigger: ".o_notebook .nav-link:contains(Profile)",
            run: "click",
        },
        {
            content: "The average order value is shown",
            trigger: ".o_field_widget[name=profile_order_value]:contains(350)",
        },
        {
            content: "The product its customers buy, with the share of them buying it",
            trigger:
                ".o_custseg_segment_profile tr:has(td:contains(Segmentation Test Product)) td[name=share]:contains(100)",
        },
        {
            content: "The salesperson who owns it",
            trigger: ".o_custseg_segment_profile td[name=name]:contains(Sales Person)",
        },
    ],
});
