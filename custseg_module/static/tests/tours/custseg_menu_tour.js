/** @odoo-module **/

import { registry } from "@web/core/registry";
import { odooStepUtils } from "./custseg_tour_utils";

registry.category("web_tour.tours").add("custseg_menu_tour", {
    url: "/odoo",
    steps: () => [
        odooStepUtils().showAppsMenuItem(),
        {
            content: "Open the Customer Segmentation app",
            trigger: ".o_app[data-menu-xmlid='custseg_module.menu_custseg_root']",
            run: "click",
        },
        {
            content: "The kanban shows the Champions column",
            trigger: ".o_kanban_group .o_column_title:contains('Champions')",
        },
        {
            content: "and the Can't Lose Them column",
            trigger: ".o_kanban_group .o_column_title:contains('Can\\'t Lose Them')",
        },
    ],
});
