"""Read an Odoo test log and judge it more strictly than Odoo does.

Odoo only logs a skipped browser test (missing Chromium or websocket-client) and
counts it as run, and an install error outside a test is no test failure.  This
report fails on both, on any ERROR/CRITICAL line, on zero tests, and on a warning
about the module's own code: a deprecation (Odoo 19.0 deprecates several 18.0
APIs) or the module being skipped as not installable.

Usage: python3 odoo_log_report.py LOGFILE  -> prints JSON counts, exit 1 if failed.
"""

import json
import re
import sys

SUMMARY = re.compile(
    r"odoo\.tests\.result: (\d+) failed, (\d+) error\(s\) of (\d+) tests"
)
SKIPPED = re.compile(r" odoo\.\S+: skipped (.*)")
LOG_LEVEL = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) ")
CHROME = "Chrome headless"
# A WARNING line naming the module and saying it uses a deprecated API, or that
# Odoo skipped the module (19.0 does that, and exits 0, for an 18.0 version).
MODULE_WARNING = re.compile(
    r"^\S+ \S+ \d+ WARNING .*custseg.*"
    r"(deprecat|no longer supported|not installable|uninstallable"
    r"|incompatible version)",
    re.IGNORECASE,
)


def judge(lines):
    failed = errors = run = 0
    skipped, error_lines, module_warnings = [], [], []
    chrome_started = False
    for line in lines:
        if match := SUMMARY.search(line):
            failed, errors, run = (int(g) for g in match.groups())
        elif match := SKIPPED.search(line):
            skipped.append(match.group(1).strip())
        elif LOG_LEVEL.match(line):
            error_lines.append(line.rstrip())
        elif MODULE_WARNING.match(line):
            module_warnings.append(line.rstrip())
        if CHROME in line:
            chrome_started = True
    problems = []
    if not run:
        problems.append("no Odoo test ran (no test summary line in the log)")
    if failed or errors:
        problems.append(f"{failed} Odoo test(s) failed and {errors} errored")
    if skipped:
        problems.append(
            f"{len(skipped)} Odoo test(s) were SKIPPED, which counts as a failure: "
            + "; ".join(skipped)
        )
    if error_lines:
        problems.append(f"{len(error_lines)} ERROR/CRITICAL line(s) in the Odoo log")
    if module_warnings:
        problems.append(
            f"{len(module_warnings)} deprecation or not-installable warning(s) "
            "about the module: " + "; ".join(module_warnings[:5])
        )
    return {
        "run": run,
        "failed": failed + errors + len(skipped),
        "passed": max(run - failed - errors - len(skipped), 0),
        "skipped": skipped,
        "chrome_started": chrome_started,
        "error_lines": error_lines[:40],
        "module_warnings": module_warnings[:40],
        "problems": problems,
    }


def main(path):
    with open(path, encoding="utf-8", errors="replace") as log:
        report = judge(log)
    print(json.dumps(report, indent=1))
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
