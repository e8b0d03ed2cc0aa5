/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * The chatter's Mark Done popover (activity list and activity popover, the same
 * component on Odoo 18 and 19): a segment follow-up asks for its outcome in the
 * module's Done dialog, with the feedback typed in the popover. Other
 * activities keep Odoo's behaviour.
 */

import { ActivityMarkAsDone } from "@mail/core/web/activity_markasdone_popover";
import { patch } from "@web/core/utils/patch";

patch(ActivityMarkAsDone.prototype, {
    async onClickDone() {
        if (!this.props.activity.custseg_segment_id) {
            return super.onClickDone(...arguments);
        }
        return this.custsegOpenDoneDialog(false);
    },

    async onClickDoneAndScheduleNext() {
        if (!this.props.activity.custseg_segment_id) {
            return super.onClickDoneAndScheduleNext(...arguments);
        }
        return this.custsegOpenDoneDialog(true);
    },

    async custsegOpenDoneDialog(scheduleNext) {
        const activity = this.props.activity;
        const { res_id, res_model } = activity;
        const thread = this.env.services["mail.store"].Thread.insert({
            model: res_model,
            id: res_id,
        });
        const action = await this.env.services.orm.call(
            "mail.activity",
            "action_custseg_done_dialog",
            [[activity.id]],
            { feedback: activity.feedback || false, schedule_next: scheduleNext }
        );
        if (scheduleNext && this.props.onClickDoneAndScheduleNext) {
            this.props.onClickDoneAndScheduleNext();
        }
        if (this.props.close) {
            this.props.close();
        }
        await new Promise((resolve) => {
            this.env.services.action.doAction(action, { onClose: resolve });
        });
        this.props.onActivityChanged(thread);
        await thread.fetchNewMessages();
    },
});
