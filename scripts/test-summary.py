#!/usr/bin/env python3
"""Counts meson's test results (testlog.json of one or more build folders)
and prints the closing line "N passed, N failed" over all of them, after one
line per build folder when there are several. A missing log, or one without
a test that passed or failed, counts as one failure: a run that did not
happen is not a pass. Exits 1 when anything failed, or when a test was
skipped in CI (a skipped tier is a failure there)."""
import json
import os
import sys


def count(path):
    """(passed, failed, skipped, failure names) of one testlog.json."""
    passed = failed = skipped = 0
    failures = []
    with open(path, encoding="utf-8") as log:
        for line in log:
            line = line.strip()
            if not line:
                continue
            entry = json.loads(line)
            result = entry.get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                failures.append(f"{entry.get('name')} ({result})")
    return passed, failed, skipped, failures


def line(passed, failed, skipped):
    text = f"{passed} passed, {failed} failed"
    if skipped:
        text += f", {skipped} skipped"
    return text


logs = sys.argv[1:]
if not logs:
    sys.exit("usage: test-summary.py TESTLOG.JSON...")
total = [0, 0, 0]
per_build = []
for path in logs:
    # build/meson-logs/testlog.json is named after its build folder.
    build = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))
    if os.path.exists(path):
        passed, failed, skipped, failures = count(path)
    else:
        passed, failed, skipped, failures = 0, 0, 0, []
    if passed + failed == 0:
        # A run that did not happen, or ran nothing, counts as a failure.
        failed += 1
        failures.append(f"no test ran ({path})")
    for name in failures:
        print(f"failed: {build}: {name}")
    per_build.append(f"{build}: {line(passed, failed, skipped)}")
    total = [total[0] + passed, total[1] + failed, total[2] + skipped]

if len(logs) > 1:
    for text in per_build:
        print(text)
print(line(*total))
if total[1] or (total[2] and os.environ.get("CI")):
    sys.exit(1)
