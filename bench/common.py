"""What more than one benchmark needs. No Django here."""

from __future__ import annotations


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` when it does not exist (others: nothing)."""
    if not url.startswith("postgres"):
        return
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
