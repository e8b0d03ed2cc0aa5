/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * A segmentation manager opens the segments, then Loyal Customers, and
 * sees the recency × frequency grid: eleven rule segments, Loyal Customers'
 * rectangle (R 3-4 × F 4-5) highlighted.
 */

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("custseg_segment_grid_tour", {
    url: "/odoo/action-custseg_module.custseg_segment_action",
    steps: () => [
        {
            content: "The segment list shows the rule ranges and the KPIs",
            trigger: ".o_list_view th[data-name=revenue_share]",
        },
        {
            content: "Open Loyal Customers",
            trigger: ".o_list_view .o_data_cell[name=name]:contains(Loyal Customers)",
            run: "click",
        },
        {
            content: "The form shows the rule ranges and the key figures",
            trigger: ".o_form_view .o_field_widget[name=r_score_min] input:value(3)",
        },
        {
            content: "and the customers KPI",
            trigger: ".o_form_view .oe_stat_button .o_stat_value",
        },
        {
            content: "The R×F grid is rendered",
            trigger: ".o_field_widget[name=rule_grid_html] table.o_custseg_rule_grid",
        },
        {
            content: "Loyal Customers' cells are highlighted",
            trigger: ".o_custseg_rule_grid td.o_custseg_grid_current:contains(Loyal Customers)",
        },
        {
            content: "The grid has one cell per rule segment and one current rectangle",
            trigger: ".o_custseg_rule_grid",
            run() {
                const grid = document.querySelector(".o_custseg_rule_grid");
                const cells = grid.querySelectorAll("td.o_custseg_grid_cell");
                const current = grid.querySelectorAll("td.o_custseg_grid_current");
                const gaps = grid.querySelectorAll(".o_custseg_grid_gap, .o_custseg_grid_overlap");
                if (cells.length !== 11 || current.length !== 1 || gaps.length) {
                    throw new Error(
                        `Unexpected grid: ${cells.length} cells, ${current.length} current, ${gaps.length} gaps`
                    );
                }
                const [cell] = current;
                if (cell.rowSpan !== 2 || cell.colSpan !== 2) {
                    throw new Error(`Unexpected Loyal Customers cell: ${cell.outerHTML}`);
                }
                const champions = grid.querySelector("td.o_custseg_grid_color_10");
                if (!champions || !champions.textContent.includes("Champions")) {
                    throw new Error("Champions should own the top-right cells, in its colour");
                }
            },
        },
    ],
});
