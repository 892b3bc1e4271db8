"""Makes moto's DynamoDB Query read only the queried partition, as DynamoDB does.

Test and benchmark support only. moto 5 answers every base-table Query by sorting every item
of the table (O(n log n) per call, with Python-level comparisons): with tens of thousands of
claims in the table one Query takes over a second, which makes the full-size load test and the
rate-limit benchmark take hours. `partition_query()` hands moto's own Query only the items of the
queried partition: moto still filters, sorts and pages them exactly as before, so the answers
are the same. Index queries, scans and everything else are left as they are.
tests/load/test_moto_partition_query.py checks the answers against moto's own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def partition_query() -> Iterator[None]:
    """moto's Table reads one partition per base-table Query while this block runs (this process)."""
    from moto.dynamodb.models.table import Table

    partition = threading.local()
    all_items, query = Table.all_items, Table.query

    def partition_items(self: Any) -> Any:
        key = getattr(partition, "key", None)
        if key is None:
            return all_items(self)
        items = self.items.get(key)
        if items is None:
            return []
        return list(items.values()) if self.range_key_attr else [items]

    def partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # Table.query(hash_key, range_comparison, range_objs, limit, exclusive_start_key,
        #             scan_index_forward, projection_expressions, index_name, ...)
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or hash_key is None:
            return query(self, hash_key, *args, **kwargs)
        partition.key = hash_key
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            partition.key = None

    Table.all_items = partition_items  # type: ignore[method-assign]
    Table.query = partition_query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.all_items = all_items  # type: ignore[method-assign]
        Table.query = query  # type: ignore[method-assign]
