/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * A segmentation manager opens Customers by Segment, finds every segment as a
 * column (in sequence order, coloured, Hibernating and Lost folded), drags a
 * customer from New Customers to Loyal Customers, sees the lock on the card and
 * the Unlock button on the form. The Python side then checks the database.
 */

import { registry } from "@web/core/registry";
import { odooStepUtils } from "./custseg_tour_utils";

// The default segments (data/custseg_segment_data.xml), in sequence order.
const SEGMENTS = [
    "Prospects",
    "Champions",
    "Loyal Customers",
    "Potential Loyalists",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
];
const FOLDED = ["Hibernating", "Lost"];
const CUSTOMER = "Grid R5 F1";
const TARGET = "Loyal Customers";

const column = (name) => `.o_kanban_group:has(.o_column_title:contains("${name}"))`;

registry.category("web_tour.tours").add("custseg_kanban_drag_tour", {
    url: "/odoo",
    steps: () => [
        odooStepUtils().showAppsMenuItem(),
        {
            content: "Open the Customer Segmentation app",
            trigger: ".o_app[data-menu-xmlid='custseg_module.menu_custseg_root']",
            run: "click",
        },
        {
            content: "The customers kanban is grouped by segment",
            trigger: ".o_kanban_renderer.o_kanban_grouped .o_kanban_group",
        },
        ...SEGMENTS.map((name) => ({
            content: `The ${name} column is there`,
            trigger: `.o_kanban_group .o_column_title:contains("${name}")`,
        })),
        {
            content: "Every segment is a column, in sequence order",
            trigger: ".o_kanban_renderer",
            run() {
                const titles = [...document.querySelectorAll(".o_kanban_group .o_column_title")].map(
                    (title) => title.textContent.replace(/\(\d+\)\s*$/, "").trim()
                );
                if (JSON.stringify(titles) !== JSON.stringify(SEGMENTS)) {
                    throw new Error(`Unexpected columns: ${titles.join(", ")}`);
                }
            },
        },
        ...FOLDED.map((name) => ({
            content: `The ${name} column stays folded`,
            trigger: `${column(name)}.o_column_folded`,
        })),
        {
            content: "Columns take the colour of their segment (Champions: 10)",
            trigger: `${column("Champions")}.o_custseg_column.o_custseg_column_color_10`,
        },
        {
            content: "Loyal Customers is coloured 4",
            trigger: `${column(TARGET)}.o_custseg_column_color_4`,
        },
        {
            content: "The card shows the tier, the stage, the RFM code and the likelihood bar",
            trigger: `${column("New Customers")} .o_kanban_record:contains("${CUSTOMER}"):has(.o_field_badge[name=value_tier]):has(.o_custseg_rfm_code):has(.o_custseg_probability_bar)`,
        },
        {
            content: "The customer is not locked yet",
            trigger: `${column("New Customers")} .o_kanban_record:contains("${CUSTOMER}"):not(:has(.o_custseg_lock))`,
        },
        {
            content: "Drag the customer to Loyal Customers",
            trigger: `${column("New Customers")} .o_kanban_record:contains("${CUSTOMER}")`,
            async run(helpers) {
                await helpers.drag_and_drop(column(TARGET));
            },
        },
        {
            content: "The card is now in Loyal Customers, with a lock",
            trigger: `${column(TARGET)} .o_kanban_record:contains("${CUSTOMER}") .o_custseg_lock`,
        },
        {
            content: "and no longer in New Customers",
            trigger: `${column("New Customers")}:not(:has(.o_kanban_record:contains("${CUSTOMER}")))`,
        },
        {
            content: "Open the customer",
            trigger: `${column(TARGET)} .o_kanban_record:contains("${CUSTOMER}")`,
            run: "click",
        },
        {
            content: "Open the Segmentation page",
            trigger: ".o_form_view .o_notebook .nav-link:contains(Segmentation)",
            run: "click",
        },
        {
            content: "The form shows the segment set by hand",
            trigger: `.o_field_widget[name=customer_segment_id] input:value("${TARGET}")`,
        },
        {
            content: "and offers to unlock it",
            trigger: ".o_custseg_locked_alert button[name=action_unlock_segment]",
        },
        {
            content: "The lock toggle is on",
            trigger: ".o_field_widget[name=segment_locked] input:checked",
        },
    ],
});
