"""The cases of a `qecloud run` integration script (run_tests.py, recover_tests.py): each case is a function
(name, home) run where it is defined, with a fresh $QECLOUD_HOME under the script's work directory; a check
that fails is printed at once and counted, an exception fails its case, and finish() says how many passed."""
import os
import shutil
import sys
import traceback


class Cases:
    def __init__(self, work):
        self.work = work
        self.failures, self.passed = [], []

    def check(self, case, cond, what):
        if not cond:
            self.failures.append(f"{case}: {what}")
            print(f"  FAIL {case}: {what}", flush=True)

    def home_for(self, case):
        h = os.path.join(self.work, "home-" + case)
        os.makedirs(h)
        return h

    def case(self, fn):
        name = fn.__name__
        before = len(self.failures)
        try:
            fn(name, self.home_for(name))
        except Exception as e:
            traceback.print_exc()
            self.failures.append(f"{name}: {type(e).__name__}: {e}")
        if len(self.failures) == before:
            self.passed.append(name)
            print(f"ok   {name}", flush=True)

    def finish(self, title):
        shutil.rmtree(self.work, ignore_errors=True)
        failed = len(set(f.split(":")[0] for f in self.failures))
        print(f"{title}: {len(self.passed)} passed, {failed} failed")
        sys.exit(1 if self.failures else 0)
