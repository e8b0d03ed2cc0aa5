# Copyright 2026 custseg contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Customer Segmentation",
    "summary": "RFM segments, Pareto value tiers, lifecycle stages, purchase "
    "likelihood and CLV on customers, with automated follow-ups",
    # No series prefix: Odoo adds its own (18.0.1.4.5, 19.0.1.4.5); 19.0 refuses
    # to install "18.0.1.4.5" (docs/odoo-versions.md), so OCA's format cannot hold.
    "version": "1.4.5",  # pylint: disable=manifest-version-format
    "category": "Sales/CRM",
    "license": "LGPL-3",
    "author": "custseg contributors",
    "website": "https://github.com/custseg/custseg",
    "maintainers": ["custseg"],
    "development_status": "Beta",
    "depends": ["account", "mail", "sales_team"],
    "external_dependencies": {"python": ["pandas", "scikit-learn", "scipy"]},
    "data": [
        "security/custseg_security.xml",
        "security/ir.model.access.csv",
        "data/custseg_segment_data.xml",
        "data/ir_cron.xml",
        "views/custseg_segment_views.xml",
        "views/custseg_grid_editor_views.xml",
        "views/custseg_run_views.xml",
        "views/custseg_run_whale_point_views.xml",
        "views/custseg_segment_pnl_views.xml",
        "views/custseg_partner_history_views.xml",
        "views/res_partner_views.xml",
        "views/res_config_settings_views.xml",
        "views/custseg_segment_followup_views.xml",
        "views/mail_activity_views.xml",
        "views/custseg_followup_done_views.xml",
        "views/custseg_lift_report_views.xml",
        "views/res_partner_best_list_views.xml",
        "views/menus.xml",
    ],
    "demo": ["demo/custseg_demo.xml"],
    "assets": {
        "web.assets_backend": [
            "custseg_module/static/src/**/*.js",
            "custseg_module/static/src/**/*.xml",
            "custseg_module/static/src/**/*.scss",
        ],
        "web.assets_tests": ["custseg_module/static/tests/tours/**/*"],
    },
    "uninstall_hook": "uninstall_hook",
    "application": True,
    "installable": True,
}
