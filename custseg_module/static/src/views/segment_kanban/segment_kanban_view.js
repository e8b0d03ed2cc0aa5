/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * Customers by segment: the standard kanban, whose columns take the colour of
 * their segment when the view is grouped by customer_segment_id.
 *
 * The model loads the segment of each column as the group's record (the same
 * mechanism as <groupby> in list views); the renderer turns its colour index
 * into a class styled in segment_kanban.scss.
 */

import { registry } from "@web/core/registry";
import { makeActiveField } from "@web/model/relational_model/utils";
import { kanbanView } from "@web/views/kanban/kanban_view";
import { KanbanController } from "@web/views/kanban/kanban_controller";
import { KanbanRenderer } from "@web/views/kanban/kanban_renderer";

export const SEGMENT_FIELD = "customer_segment_id";

export class SegmentKanbanController extends KanbanController {
    get modelParams() {
        const params = super.modelParams;
        params.groupByInfo = {
            ...(params.groupByInfo || {}),
            [SEGMENT_FIELD]: {
                activeFields: { color: makeActiveField() },
                fields: { color: { name: "color", type: "integer" } },
            },
        };
        return params;
    }
}

export class SegmentKanbanRenderer extends KanbanRenderer {
    getGroupClasses(group, isGroupProcessing) {
        const classes = super.getGroupClasses(group, isGroupProcessing);
        const color = group.groupByField?.name === SEGMENT_FIELD && group.record?.data.color;
        if (!color) {
            return classes;
        }
        return `${classes} o_custseg_column o_custseg_column_color_${color}`;
    }
}

export const segmentKanbanView = {
    ...kanbanView,
    Controller: SegmentKanbanController,
    Renderer: SegmentKanbanRenderer,
};

registry.category("views").add("custseg_segment_kanban", segmentKanbanView);
