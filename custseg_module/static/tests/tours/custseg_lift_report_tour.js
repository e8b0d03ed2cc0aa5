/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * A manager opens the follow-up lift report, then reads the plain-words lift
 * summary on the At Risk segment's Follow-up tab, then the model-quality card
 * of the latest run (the fixtures are thin: it says why the run fell back).
 */

import { registry } from "@web/core/registry";
import { odooStepUtils } from "./custseg_tour_utils";

registry.category("web_tour.tours").add("custseg_lift_report_tour", {
    url: "/odoo",
    steps: () => [
        odooStepUtils().showAppsMenuItem(),
        {
            content: "Open the Customer Segmentation app",
            trigger: ".o_app[data-menu-xmlid='custseg_module.menu_custseg_root']",
            run: "click",
        },
        {
            content: "Open Analysis",
            trigger: ".o_main_navbar [data-menu-xmlid='custseg_module.menu_custseg_analysis']",
            run: "click",
        },
        {
            content: "Open Follow-up Lift",
            trigger: ".dropdown-item[data-menu-xmlid='custseg_module.menu_custseg_lift']",
            run: "click",
        },
        {
            content: "The pivot compares treated and held-out customers of At Risk",
            trigger: ".o_pivot:has(th:contains('Treated')):has(th:contains('Held out')) th:contains('At Risk')",
        },
        {
            content: "with the purchase rate",
            trigger: ".o_pivot th:contains('Purchase Rate')",
        },
        {
            content: "Open Configuration",
            trigger: ".o_main_navbar [data-menu-xmlid='custseg_module.menu_custseg_config']",
            run: "click",
        },
        {
            content: "Open Segments",
            trigger: ".dropdown-item[data-menu-xmlid='custseg_module.menu_custseg_segments']",
            run: "click",
        },
        {
            content: "Open At Risk",
            trigger: ".o_data_row .o_data_cell:contains('At Risk')",
            run: "click",
        },
        {
            content: "Open the Follow-up tab",
            trigger: ".o_notebook .nav-link:contains('Follow-up')",
            run: "click",
        },
        {
            content: "The summary says honestly that it cannot conclude yet",
            trigger: ".o_custseg_lift_summary:contains('too small to conclude yet')",
        },
        {
            content: "Open Runs",
            trigger: ".o_main_navbar [data-menu-xmlid='custseg_module.menu_custseg_runs']",
            run: "click",
        },
        {
            content: "Open the latest run",
            trigger: ".o_list_view .o_data_row:first .o_data_cell",
            run: "click",
        },
        {
            content: "Open the Model quality tab",
            trigger: ".o_notebook .nav-link:contains('Model quality')",
            run: "click",
        },
        {
            content: "The card says in plain words why the run used the simpler model",
            trigger: ".o_custseg_quality_summary:contains('simpler BG/NBD model')",
        },
    ],
});
