#!/usr/bin/env python3
"""Counts meson's test results (testlog.json) and prints the closing line
"N passed, N failed". Exits 1 when a test failed, when none ran, or when a
test was skipped in CI (a skipped tier is a failure there)."""
import json
import os
import sys

passed = failed = skipped = 0
failures = []
with open(sys.argv[1], encoding="utf-8") as log:
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

for name in failures:
    print(f"failed: {name}")
summary = f"{passed} passed, {failed} failed"
if skipped:
    summary += f", {skipped} skipped"
print(summary)
if failed or passed == 0 or (skipped and os.environ.get("CI")):
    sys.exit(1)
