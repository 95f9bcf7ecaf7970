"""The N slowest tests of a `make test` (default 25), from the JUnit XML each
pytest run writes: each run's own --durations list would tell half, and
the second would scroll the first away (or, side by side, interleave).  A test's time
is its setup, call and teardown together (pytest's junit_duration_report
default), so a module fixture's cost shows on the test that made it.

    python3 tests/slowest.py [-n N] REPORT.xml ..."""
import argparse
import sys
import xml.etree.ElementTree as ET


def cases(path):
    for tc in ET.parse(path).getroot().iter("testcase"):
        name = tc.get("classname", "").replace(".", "/") + ".py::" + tc.get("name", "")
        outcome = "failed" if tc.find("failure") is not None or tc.find("error") is not None \
            else "skipped" if tc.find("skipped") is not None else "passed"
        yield float(tc.get("time", 0)), name, outcome


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=25)
    ap.add_argument("reports", nargs="+")
    a = ap.parse_args()
    found = []
    for r in a.reports:
        try:
            found += cases(r)
        except (OSError, ET.ParseError) as e:
            print(f"slowest: {r}: {e}", file=sys.stderr)
    found.sort(reverse=True)
    total = sum(t for t, _, _ in found)
    print(f"==== {min(a.n, len(found))} slowest of {len(found)} tests "
          f"({total / 60:.1f} min of test time in all) ====")
    for t, name, outcome in found[:a.n]:
        print(f"{t:8.2f}s  {name}" + ("" if outcome == "passed" else f"  [{outcome}]"))


if __name__ == "__main__":
    main()
