/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * A segmentation manager opens the segments, clicks Edit Grid, moves the
 * R 3 × F 4-5 cells from Loyal Customers to Need Attention (two edits that
 * the per-segment check would refuse one at a time), reads the preview of
 * how many customers move, and saves the whole grid once. The Python side
 * then checks the database.
 */

import { registry } from "@web/core/registry";

const row = (segment) =>
    `.modal .o_data_row:has(.o_data_cell[name=segment_id]:contains("${segment}"))`;

registry.category("web_tour.tours").add("custseg_grid_editor_tour", {
    url: "/odoo/action-custseg_module.custseg_segment_action",
    steps: () => [
        {
            content: "Open the grid editor from the segment list",
            trigger: ".o_control_panel button[name=action_open_grid_editor]",
            run: "click",
        },
        {
            content: "The editor shows the grid, valid, with no customer moving",
            trigger: ".modal .o_field_widget[name=grid_html] table.o_custseg_rule_grid",
        },
        {
            content: "Nobody moves yet",
            trigger: ".modal .o_field_widget[name=moving_count]:contains(0)",
        },
        {
            content: "Edit Loyal Customers' recency range",
            trigger: `${row("Loyal Customers")} .o_data_cell[name=r_score_min]`,
            run: "click",
        },
        {
            content: "Loyal Customers now starts at recency 4",
            trigger: `${row("Loyal Customers")} .o_data_cell[name=r_score_min] input`,
            run: "edit 4",
        },
        {
            content: "Edit Need Attention's frequency range",
            trigger: `${row("Need Attention")} .o_data_cell[name=f_score_max]`,
            run: "click",
        },
        {
            content: "The gap left by Loyal Customers is named while half done",
            trigger: ".modal .o_custseg_grid_problems:contains(R3 F4, R3 F5)",
        },
        {
            content: "Need Attention now runs to frequency 5",
            trigger: `${row("Need Attention")} .o_data_cell[name=f_score_max] input`,
            run: "edit 5",
        },
        {
            content: "Leave the row so the change applies",
            trigger: ".modal .o_field_widget[name=grid_html]",
            run: "click",
        },
        {
            content: "The preview counts the customers who move",
            trigger: ".modal .o_field_widget[name=moving_count]:contains(2)",
        },
        {
            content: "from Loyal Customers to Need Attention",
            trigger:
                ".modal .o_custseg_moves tr.o_custseg_move:contains(Loyal Customers):contains(Need Attention):contains(2)",
        },
        {
            content: "Save the whole grid once",
            trigger: ".modal-footer button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The editor closes after saving",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
