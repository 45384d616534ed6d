"""Helpers shared by the tests and the benchmarks (not part of the package): ``from tests.support import ...`` with
the repository root on ``sys.path`` (pytest puts it there; the benchmarks insert it)."""
