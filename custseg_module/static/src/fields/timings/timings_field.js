/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/** The seconds a segmentation run spent in each phase (custseg.run.timings). */

import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { formatFloat } from "@web/core/utils/numbers";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

export class TimingsField extends Component {
    static template = "custseg_module.TimingsField";
    static props = { ...standardFieldProps };

    get phases() {
        const timings = this.props.record.data[this.props.name] || {};
        const labels = {
            aggregate: _t("SQL aggregate"),
            engine: _t("Engine"),
            write_back: _t("Write-back"),
            history: _t("History"),
            total: _t("Total"),
        };
        return Object.entries(timings)
            .filter(([, seconds]) => typeof seconds === "number")
            .map(([phase, seconds]) => ({
                phase,
                label: labels[phase] || phase,
                seconds: formatFloat(seconds, { digits: [16, 3] }),
                isTotal: phase === "total",
            }));
    }
}

export const timingsField = {
    component: TimingsField,
    displayName: _t("Run Timings"),
    supportedTypes: ["json"],
};

registry.category("fields").add("custseg_timings", timingsField);
