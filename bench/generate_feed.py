"""Not a generator: tests/test_lab_columns.py and tests/test_ingest_parallel.py import `messages` and
`DEFAULT_SEED` from here. `messages(seed, count)` is `hepwatch.synthetic.lab_messages`, the lab messages of
the one synthetic feed generator (`hepwatch generate`). Delete this file once those tests import it there.
"""

from hepwatch.synthetic import lab_messages as messages

DEFAULT_SEED = 20260501

__all__ = ["DEFAULT_SEED", "messages"]
