/** @odoo-module **/
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
/**
 * A probability (0 to 1) as a bar with its percentage. The standard progressbar
 * widget reads values as percentages already, so 0.8 would show as 0.8 %.
 */

import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

// Same threshold as the "High Likelihood" search filter.
export const HIGH_PROBABILITY = 0.6;
export const LOW_PROBABILITY = 0.3;

export class ProbabilityBarField extends Component {
    static template = "custseg_module.ProbabilityBarField";
    static props = { ...standardFieldProps };

    get value() {
        const value = this.props.record.data[this.props.name] || 0;
        return Math.min(Math.max(value, 0), 1);
    }

    get percent() {
        return Math.round(this.value * 100);
    }

    get colorClass() {
        if (this.value > HIGH_PROBABILITY) {
            return "bg-success";
        }
        return this.value >= LOW_PROBABILITY ? "bg-warning" : "bg-primary";
    }
}

export const probabilityBarField = {
    component: ProbabilityBarField,
    displayName: _t("Likelihood Bar"),
    supportedTypes: ["float"],
};

registry.category("fields").add("custseg_probability_bar", probabilityBarField);
