"""Database URLs: the same server, another database (tests and the demo use their own)."""

from __future__ import annotations

import urllib.parse

import asyncpg

__all__ = ["create_database", "drop_database", "with_database"]


def with_database(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (query string, e.g. a socket, kept)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(name)))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_database(url: str, name: str, template: str | None = None) -> str:
    """Create database ``name`` on ``url``'s server (from ``template`` if given); its URL."""
    conn = await asyncpg.connect(with_database(url, "postgres"))
    try:
        clause = f" TEMPLATE {_ident(template)}" if template else ""
        await conn.execute(f"CREATE DATABASE {_ident(name)}{clause}")
    finally:
        await conn.close()
    return with_database(url, name)


async def drop_database(url: str, name: str) -> None:
    conn = await asyncpg.connect(with_database(url, "postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")
    finally:
        await conn.close()
