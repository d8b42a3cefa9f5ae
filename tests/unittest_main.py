"""One exit policy for every Python test script ctest runs.

unittest.main() exits 0 when every test skipped, so a run on a machine that
lacks qemu, an image tool or a client would look green while nothing ran.
Here a skip is never a pass in CI:

- a failure or error exits 1;
- no test at all exits 1;
- with CI set (CI=true, as .ci/run runs), any skipped test exits 1 after
  naming each skip and its reason (the missing tool);
- locally, skips are printed loudly; a run where every test skipped exits 77,
  which ctest reports as "Not Run" (SKIP_RETURN_CODE), never as "Passed".
"""

import os
import sys
import unittest

SKIP_EXIT_CODE = 77


def in_ci():
    """True when the run is CI's: skips must fail it."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def exit_code(result):
    """The exit status for a finished unittest result, by the policy above."""
    if not result.wasSuccessful():
        return 1
    if result.testsRun == 0:
        print("no tests ran", file=sys.stderr)
        return 1
    if not result.skipped:
        return 0
    print(f"\n{len(result.skipped)} of {result.testsRun} tests SKIPPED:", file=sys.stderr)
    for test, reason in result.skipped:
        print(f"  SKIPPED {test.id()}: {reason}", file=sys.stderr)
    if in_ci():
        print("CI is set: a skipped test fails the run (install what the reasons above name)", file=sys.stderr)
        return 1
    if result.testsRun <= len(result.skipped):
        return SKIP_EXIT_CODE
    return 0


def run(after=None):
    """Runs the tests of __main__ and exits by the policy above.

    `after(ok)` runs before exiting (cleanup, printing logs on failure); if it
    returns False the run fails even though every test passed."""
    import warnings
    # Unclosed-socket ResourceWarnings from clients are noise; other warnings keep Python's defaults.
    warnings.filterwarnings("ignore", category=ResourceWarning)
    prog = unittest.main(exit=False, verbosity=2, warnings=False)
    if after is not None and after(prog.result.wasSuccessful()) is False:
        sys.exit(1)
    sys.exit(exit_code(prog.result))
