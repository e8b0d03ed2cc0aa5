/** @odoo-module **/

import { registry } from "@web/core/registry";

// Recompute now queues the run and returns at once: the run form shows Queued.
registry.category("web_tour.tours").add("custseg_run_queue_tour", {
    url: "/odoo/action-custseg_module.custseg_run_action",
    steps: () => [
        {
            content: "Press Recompute now in the runs list",
            trigger: ".o_list_view .o_control_panel button:contains('Recompute now')",
            run: "click",
        },
        {
            content: "The new run opens, queued for a background worker",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Queued')",
        },
        {
            content: "and says so in plain words",
            trigger: ".o_form_view .o_custseg_run_waiting:contains('Queued: a background worker starts this run')",
        },
    ],
});

// While a worker runs it, the form shows Running, the share of phases done and
// the last phase done.
registry.category("web_tour.tours").add("custseg_run_progress_tour", {
    steps: () => [
        {
            content: "The run is running",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Running')",
        },
        {
            content: "two of five phases are done",
            trigger: ".o_form_view .o_custseg_run_progress:contains('40')",
        },
        {
            content: "the last one computed the segments",
            trigger: ".o_form_view .o_custseg_run_waiting:contains('Computing segments')",
        },
    ],
});

// Once done, the form shows the results and no more progress.
registry.category("web_tour.tours").add("custseg_run_done_tour", {
    steps: () => [
        {
            content: "The run is done",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Done')",
        },
        {
            content: "the progress box is gone",
            trigger: ".o_form_view:not(:has(.o_custseg_run_waiting))",
        },
        {
            content: "and the segment distribution is filled",
            trigger: ".o_form_view .o_field_one2many[name='line_ids'] .o_data_row",
        },
    ],
});
