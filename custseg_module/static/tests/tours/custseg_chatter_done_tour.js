/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * On the customer's form, the salesperson marks activities done from the
 * chatter: an ordinary to-do is done at once (Odoo's behaviour); the segment
 * follow-up's "Done & Schedule Next" asks for the outcome first, keeps the
 * feedback typed in the popover, then offers to schedule the next activity.
 */

import { registry } from "@web/core/registry";

const activity = (summary) => `.o-mail-Activity:has(.o-mail-Activity-info:contains("${summary}"))`;

registry.category("web_tour.tours").add("custseg_chatter_done_tour", {
    steps: () => [
        {
            content: "Mark the ordinary to-do done",
            trigger: `${activity("Send the brochure")} .o-mail-Activity-markDone`,
            run: "click",
        },
        {
            content: "Feedback in the popover",
            trigger: ".o-mail-ActivityMarkAsDone textarea",
            run: "edit Brochure sent by post",
        },
        {
            content: "Done",
            trigger: ".o-mail-ActivityMarkAsDone button[aria-label=Done]",
            run: "click",
        },
        {
            content: "Done at once, no outcome asked",
            trigger: `.o-mail-Message:contains("Brochure sent by post")`,
        },
        {
            content: "Mark the segment follow-up done",
            trigger: `.o-mail-Chatter:not(:has(.modal)) ${activity("Welcome call")} .o-mail-Activity-markDone`,
            run: "click",
        },
        {
            content: "Feedback in the popover",
            trigger: ".o-mail-ActivityMarkAsDone textarea",
            run: "edit Call back in May",
        },
        {
            content: "Done & Schedule Next",
            trigger: ".o-mail-ActivityMarkAsDone button[aria-label='Done and Schedule Next']",
            run: "click",
        },
        {
            content: "The Done dialog asks for the outcome",
            trigger: ".modal .o_field_widget[name=outcome] input[data-value=reached]",
            run: "click",
        },
        {
            content: "and keeps the feedback typed in the popover",
            trigger: ".modal .o_field_widget[name=feedback] textarea",
            run() {
                if (this.anchor.value !== "Call back in May") {
                    throw new Error(`feedback lost: "${this.anchor.value}"`);
                }
            },
        },
        {
            content: "Confirm",
            trigger: ".modal button[name=action_confirm]:contains(Schedule Next)",
            run: "click",
        },
        {
            content: "Odoo's form for the next activity follows",
            trigger: ".modal .o_form_view .o_field_widget[name=activity_type_id]",
        },
        {
            content: "Discard it",
            trigger: ".modal .modal-footer button:contains(Discard)",
            run: "click",
        },
        {
            content: "The follow-up's feedback is in the chatter",
            trigger: `body:not(:has(.modal)) .o-mail-Message:contains("Call back in May")`,
        },
        {
            content: "and the follow-up left the activities",
            trigger: `.o-mail-Chatter:not(:has(${activity("Welcome call")}))`,
        },
    ],
});
