#!/usr/bin/env python3
"""
run_all.py: runs every test_*.py in this directory and ends with exactly
one line

    integration: N passed, N failed[, N skipped]

that tests/run.sh adds up.  Exit status 1 when a test failed.

    python3 tests/integration/run_all.py [-q] [test name pattern ...]

A pattern (unittest's -k) selects tests by substring.  GHP_BIN and
GHPCTL_BIN choose the binaries (an ASan build, say); GHP_KEEP=1 keeps the
temporary directories of the daemons for a look afterwards.
"""

import os
import sys
import time
import unittest

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    quiet = "-q" in argv
    patterns = [a for a in argv if a != "-q"]
    sys.path.insert(0, HERE)
    import harness      # noqa: E402  (after the path is set)

    for name, path in (("ghp", harness.GHP_BIN),
                       ("ghpctl", harness.GHPCTL_BIN)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print("integration: %s binary %s is missing (run make)" %
                  (name, path))
            print("integration: 0 passed, 1 failed")
            return 1
    print("integration: ghp %s, ghpctl %s, %s" %
          (harness.GHP_BIN, harness.GHPCTL_BIN,
           "as root" if harness.IS_ROOT else
           "not as root: root-only tests skip"))

    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    t0 = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout,
                                     verbosity=1 if quiet else 2)
    try:
        result = runner.run(suite)
    finally:
        harness._cleanup_all()
    took = time.monotonic() - t0

    def tid(t):
        # A failed subtest counts once, for its test; a failed
        # setUpClass (an _ErrorHolder) counts as one failure.
        return getattr(t, "test_case", t).id() if hasattr(t, "id") else \
            str(t)
    failed = {tid(t) for t, _ in result.failures + result.errors}
    failed |= {tid(t) for t in result.unexpectedSuccesses}
    if harness.TROUBLE_SEEN:
        print("integration: sanitizer or sandbox reports in daemon logs:")
        for line in harness.TROUBLE_SEEN[:40]:
            print("  " + line)
        failed.add("daemon logs")
    ran_failed = {tid(t) for t, _ in result.failures + result.errors
                  if isinstance(getattr(t, "test_case", t),
                                unittest.TestCase) and
                  type(getattr(t, "test_case", t)).__name__ !=
                  "_ErrorHolder"}
    skipped = len(result.skipped)
    passed = max(result.testsRun - skipped - len(ran_failed), 0)
    print("integration: ran in %.1fs" % took)
    line = "integration: %d passed, %d failed" % (passed, len(failed))
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
