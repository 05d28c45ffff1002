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

With no pattern, the test files run as GHP_TEST_JOBS processes at a
time (default: 2, or 1 on one CPU), one file per process, largest first
(every daemon a test starts has its own ports and directory); the files
in SERIAL, which measure memory or time under load, run afterwards, one
at a time.  "--module NAME" runs one file (what each process does).
"""

import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))


# Files that measure memory or timing under load: alone, at the end.
SERIAL = ("test_faults",)

COUNTS = re.compile(r"^integration: (\d+) passed, (\d+) failed"
                    r"(?:, (\d+) skipped)?$", re.M)


def jobs():
    try:
        return max(1, int(os.environ.get("GHP_TEST_JOBS", "")))
    except ValueError:
        return 2 if (os.cpu_count() or 1) > 1 else 1


def run_parallel(quiet, n):
    """Each test file in a process of its own, n at a time; one line of
    counts for them all."""
    names = sorted((f[:-3] for f in os.listdir(HERE)
                    if f.startswith("test_") and f.endswith(".py")),
                   key=lambda m: -os.path.getsize(os.path.join(HERE,
                                                               m + ".py")))
    queue = [m for m in names if m not in SERIAL]
    serial = [m for m in names if m in SERIAL]
    running, done = [], []
    t0 = time.monotonic()

    def start(m):
        out = tempfile.TemporaryFile(mode="w+")
        cmd = [sys.executable, os.path.abspath(__file__), "--module", m]
        if quiet:
            cmd.append("-q")
        return m, subprocess.Popen(cmd, stdout=out,
                                   stderr=subprocess.STDOUT), out

    while queue or serial or running:
        while queue and len(running) < n:
            running.append(start(queue.pop(0)))
        if not running and serial:
            running.append(start(serial.pop(0)))
        for item in list(running):
            if item[1].poll() is not None:
                running.remove(item)
                done.append(item)
        time.sleep(0.05)
    passed = failed = skipped = 0
    for m, proc, out in done:
        out.seek(0)
        text = out.read()
        out.close()
        got = COUNTS.findall(text)
        if got:
            p, f, k = got[-1]
            passed, failed = passed + int(p), failed + int(f)
            skipped += int(k or 0)
            text = COUNTS.sub(lambda x: "%s: %s" % (m, x.group(0)[13:]),
                              text)
            if proc.returncode != 0 and int(f) == 0:
                failed += 1
                text += "%s: exit %s with no failed test\n" % (
                    m, proc.returncode)
        else:
            failed += 1
            text += "\n%s: no result line (exit %s)\n" % (
                m, proc.returncode)
        sys.stdout.write(text)
    print("integration: ran in %.1fs (%d at a time)" %
          (time.monotonic() - t0, n))
    line = "integration: %d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    sys.stdout.flush()
    return 1 if failed else 0


def main(argv):
    quiet = "-q" in argv
    argv = [a for a in argv if a != "-q"]
    module = None
    if len(argv) >= 2 and argv[0] == "--module":
        module, argv = argv[1], argv[2:]
    patterns = argv
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

    if module is None and not patterns and jobs() > 1:
        return run_parallel(quiet, jobs())
    loader = unittest.TestLoader()
    if patterns:
        loader.testNamePatterns = ["*%s*" % p for p in patterns]
    if module is not None:
        suite = loader.loadTestsFromName(module)
    else:
        suite = loader.discover(HERE, pattern="test_*.py",
                                top_level_dir=HERE)
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
