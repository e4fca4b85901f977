"""The steady phase's maintenance figures on a real PostgreSQL (``bench.maintenance``): the
checkpoints done and the full-page images written while the block ran."""

from __future__ import annotations

import asyncpg
import pytest

from bench.maintenance import watch_maintenance


async def test_a_checkpoint_and_the_full_page_images_after_it_are_counted(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("CREATE TABLE pages AS SELECT g AS n FROM generate_series(1, 2000) g")
        async with watch_maintenance(pg_url, every_s=0.2) as found:
            try:
                await conn.execute("CHECKPOINT")
            except asyncpg.InsufficientPrivilegeError:
                pytest.skip("CHECKPOINT needs a superuser or pg_checkpoint")
            # The first change of each page after the checkpoint writes the whole page.
            await conn.execute("UPDATE pages SET n = n + 1")
            # A busy backend hands its counters over at most once a second; this one now.
            await conn.execute("SELECT pg_stat_force_next_flush()")
    finally:
        await conn.close()
    assert "error" not in found, found
    assert found["checkpoints"] >= 1
    assert found["wal_fpi"] >= 1  # the table's pages, at least
    assert found["wal_bytes"] > found["wal_fpi"]
    assert found["sampled_s"] >= 0
