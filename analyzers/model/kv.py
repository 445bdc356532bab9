"""KV-cache pages: each page handed out, and the use of each cache's slots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.model.arrays import ADDR_BITS, pair_fifo
from ubscope.analyzers.model.cached import cached_property
from ubscope.probe.event_table import EventTable


class KvModel:
    """The KV pages of one trace; ``params`` are the kernel's (they may declare the
    slots per page)."""

    def __init__(self, table: EventTable, params: Mapping[str, Any]):
        self.table = table
        self.params = params

    @cached_property
    def kv_pages(self) -> pd.DataFrame:
        """[cache, page, sequence, tokens, page_bytes, t_alloc_ps, t_free_ps] per KV
        page handed out (tokens: the most the page held; t_free_ps -1 if never freed)."""
        events = self.table.kv_page_events()
        key = (events.cache.astype(np.int64) << ADDR_BITS) | events.page
        order = np.arange(len(events))
        given, taken = events.allocated, ~events.allocated
        # pairs by position among the page events (program order, like rows)
        free_at = pair_fifo(key[given], key[taken], order[given], order[taken])
        freed = free_at >= 0
        safe = np.where(freed, free_at, 0)
        tokens = events.tokens
        start = self.table.column("start_ps")[events.rows]
        return pd.DataFrame(
            {
                "cache": self.table.labels("tensor")[events.cache[given]].astype(str),
                "page": events.page[given],
                "sequence": events.sequence[given],
                "tokens": np.where(freed, np.maximum(tokens[given], tokens[safe]), tokens[given]),
                "page_bytes": events.page_bytes[given],
                "t_alloc_ps": start[given],
                "t_free_ps": np.where(freed, start[safe], -1),
            }
        )

    @cached_property
    def kv_usage(self) -> pd.DataFrame:
        """Per KV cache: pages handed out, slots_per_page, reserved_bytes, used_bytes
        (slots holding a token), partly_filled pages. Slots per page come from the
        trace parameters (block_size / page_size / tokens_per_page) or, failing
        that, the most tokens any page of that size held."""
        pages = self.kv_pages
        columns = [
            "cache",
            "pages",
            "slots_per_page",
            "reserved_bytes",
            "used_bytes",
            "partly_filled",
        ]
        if pages.empty:
            return pd.DataFrame(columns=columns)
        params = self.params
        declared = next(
            (
                int(params[k])
                for k in ("block_size", "page_size", "tokens_per_page", "page_tokens")
                if isinstance(params.get(k), int) and params[k] > 0
            ),
            None,
        )
        slots = (
            pd.Series(declared, index=pages.index)
            if declared
            else pages.groupby(["cache", "page_bytes"])["tokens"].transform("max").clip(lower=1)
        )
        tokens = pages["tokens"].clip(upper=slots)
        frame = pages.assign(
            slots=slots,
            used=tokens * pages["page_bytes"] // slots,
            partly=(tokens < slots) & (tokens > 0),
        )
        out = frame.groupby("cache", sort=True).agg(
            pages=("page", "size"),
            slots_per_page=("slots", "max"),
            reserved_bytes=("page_bytes", "sum"),
            used_bytes=("used", "sum"),
            partly_filled=("partly", "sum"),
        )
        return out.reset_index()[columns]
