"""A throwaway PostgreSQL database on a server the caller names: for tests and benchmarks that
must not touch the server's own databases. Created with a random name, dropped (forcibly, with
any connection still open) when the block ends."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def throwaway_database(server_url: str, prefix: str = "sigillo_tmp") -> Iterator[str]:
    """The URL of a new empty database on `server_url`'s server. Raises what the server raises
    if it cannot create one (down, refused): the caller decides whether that is a skip."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(server_url, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
