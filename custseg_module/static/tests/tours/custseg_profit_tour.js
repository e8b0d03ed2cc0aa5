/** @odoo-module **/

import { registry } from "@web/core/registry";
import { odooStepUtils } from "./custseg_tour_utils";

registry.category("web_tour.tours").add("custseg_profit_tour", {
    url: "/odoo",
    steps: () => [
        odooStepUtils().showAppsMenuItem(),
        {
            content: "Open the Customer Segmentation app",
            trigger: ".o_app[data-menu-xmlid='custseg_module.menu_custseg_root']",
            run: "click",
        },
        {
            content: "Open the Analysis menu",
            trigger: ".o_main_navbar [data-menu-xmlid='custseg_module.menu_custseg_analysis']",
            run: "click",
        },
        {
            content: "Open the whale curve",
            trigger: ".dropdown-item[data-menu-xmlid='custseg_module.menu_custseg_whale_curve']",
            run: "click",
        },
        {
            content: "The whale curve is a line chart",
            trigger: ".o_graph_view .o_graph_renderer canvas",
        },
        {
            content: "Open the Analysis menu again",
            trigger: ".o_main_navbar [data-menu-xmlid='custseg_module.menu_custseg_analysis']",
            run: "click",
        },
        {
            content: "Open the segment P&L",
            trigger: ".dropdown-item[data-menu-xmlid='custseg_module.menu_custseg_segment_pnl']",
            run: "click",
        },
        {
            content: "The P&L pivot lists the segments, starting on My Segments",
            trigger: ".o_pivot_view .o_pivot .o_pivot_header_cell_closed, .o_pivot_view .o_pivot th",
        },
        {
            content: "with the My Segments filter on",
            trigger: ".o_searchview .o_facet_value:contains('My Segments')",
        },
    ],
});
