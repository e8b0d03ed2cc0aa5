/** @odoo-module **/

// Odoo's tour step helpers moved from @web_tour/tour_service/tour_utils (18.0) to
// @web_tour/tour_utils (19.0). A static import can name only one of them, so the
// tours look the module up when their steps are built, after every bundle loaded.
export function odooStepUtils() {
    const modules = odoo.loader.modules;
    const utils =
        modules.get("@web_tour/tour_utils") || modules.get("@web_tour/tour_service/tour_utils");
    return utils.stepUtils;
}
