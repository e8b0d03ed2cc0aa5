/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * A salesperson opens My Follow-ups, finds the welcome call of a new customer
 * scheduled by the segmentation run, and marks it done with the outcome "Order
 * expected" and a feedback. The Python side then checks the database.
 */

import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

const CUSTOMER = "Grid R5 F1";
const row = `.o_list_view .o_data_row:has(.o_data_cell:contains("${CUSTOMER}"))`;

registry.category("web_tour.tours").add("custseg_followup_done_tour", {
    url: "/odoo",
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Customer Segmentation app",
            trigger: ".o_app[data-menu-xmlid='custseg_module.menu_custseg_root']",
            run: "click",
        },
        {
            content: "Open My Follow-ups",
            trigger: ".o_main_navbar [data-menu-xmlid='custseg_module.menu_custseg_my_followups']",
            run: "click",
        },
        {
            content: "The welcome call of the new customer is in the queue",
            trigger: `${row}:has(.o_data_cell:contains("Welcome call")):has(.o_data_cell:contains("New Customers"))`,
        },
        {
            content: "Other follow-ups are there too",
            trigger: `.o_list_view .o_data_row:has(.o_data_cell:contains("Win-back call"))`,
        },
        {
            content: "Mark the welcome call done",
            trigger: `${row} button[name=action_done]`,
            run: "click",
        },
        {
            content: "The Done dialog asks for the outcome",
            trigger: ".modal .o_field_widget[name=outcome] input[data-value=order_expected]",
            run: "click",
        },
        {
            content: "and takes optional feedback",
            trigger: ".modal .o_field_widget[name=feedback] textarea",
            run: "edit Wants a quote for 20 boxes",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name=action_confirm]",
            run: "click",
        },
        {
            content: "It leaves the queue",
            trigger: `.o_list_view:not(:has(.o_data_cell:contains("${CUSTOMER}")))`,
        },
        {
            content: "while the others stay",
            trigger: `.o_list_view .o_data_row:has(.o_data_cell:contains("Win-back call"))`,
        },
    ],
});
