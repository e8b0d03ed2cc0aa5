"""The harness judges Odoo's test log strictly: skipped tours, ERROR lines and
zero tests are failures (Odoo itself only logs them)."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "odoo_log_report.py"
spec = importlib.util.spec_from_file_location("odoo_log_report", SCRIPT)
odoo_log_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(odoo_log_report)

PREFIX = "2026-11-22 13:08:44,142 11730"
SUMMARY = f"{PREFIX} INFO db odoo.tests.result: 0 failed, 0 error(s) of 15 tests when"
CHROME = f"{PREFIX} INFO db odoo.tests.common: Chrome headless temporary user profile"


def judge(*lines):
    return odoo_log_report.judge(list(lines))


def test_clean_log_passes_and_counts():
    report = judge(CHROME, SUMMARY)
    assert report["problems"] == []
    assert (report["run"], report["passed"], report["failed"]) == (15, 15, 0)
    assert report["chrome_started"]


def test_skipped_tour_is_a_failure():
    skipped = (
        f"{PREFIX} INFO db odoo.addons.custseg_module.tests.test_ui_tours: skipped "
        "TestCustsegTours.test_menu : websocket-client module is not installed"
    )
    report = judge(skipped, SUMMARY)
    assert report["failed"] == 1
    assert report["passed"] == 14
    assert any("websocket-client" in problem for problem in report["problems"])


def test_error_line_outside_tests_is_a_failure():
    error = f"{PREFIX} ERROR db odoo.modules.loading: Failed to load module"
    report = judge(error, SUMMARY)
    assert report["problems"] == ["1 ERROR/CRITICAL line(s) in the Odoo log"]


def test_failed_tests_and_zero_tests_are_failures():
    failed = SUMMARY.replace("0 failed, 0 error(s)", "2 failed, 1 error(s)")
    assert judge(failed)["failed"] == 3
    assert judge(CHROME)["problems"] == [
        "no Odoo test ran (no test summary line in the log)"
    ]


def test_deprecation_warning_from_the_module_is_a_failure():
    warning = (
        f"{PREFIX} WARNING db py.warnings: /repo/custseg_module/models/custseg_run.py"
        ":344: DeprecationWarning: Since 19.0, use _commit_progress"
    )
    report = judge(CHROME, warning, SUMMARY)
    assert report["module_warnings"] == [warning]
    assert any("deprecation" in problem for problem in report["problems"])


def test_deprecation_warning_from_another_module_passes():
    warning = (
        f"{PREFIX} WARNING db py.warnings: /opt/odoo19/addons/mail/models/x.py"
        ":12: DeprecationWarning: something else"
    )
    assert judge(CHROME, warning, SUMMARY)["problems"] == []


def test_module_skipped_as_not_installable_is_a_failure():
    warning = (
        f"{PREFIX} WARNING db odoo.modules.module: The module custseg_module has "
        "an incompatible version, setting installable=False"
    )
    report = judge(CHROME, warning, SUMMARY)
    assert report["problems"]
