"""What the jumpbox tests share: helpers (jbtest, localflow, ...), the
fixtures and test doubles they start, and the stand-ins the programs under
test exec.  pytest.ini puts tests/ on sys.path; a child that imports the
package gets PYTHONPATH=tests, or runs as `python3 -m support.NAME`."""
import sys

# forwarding's checks came out of a test module: pytest keeps explaining
# their asserts (a no-op when the package is used without pytest).
if "pytest" in sys.modules:
    sys.modules["pytest"].register_assert_rewrite("support.forwarding")
