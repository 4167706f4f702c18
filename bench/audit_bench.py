"""Audit log benchmark: durable appends/s (1 writer batched and unbatched, 4 writer processes),
streaming verify entries/s, and peak memory of verifying 1,000,000 entries.

    .venv/bin/python bench/audit_bench.py            # full run (a few minutes)
    .venv/bin/python bench/audit_bench.py --quick    # smoke run
PostgreSQL rows run when SIGILLO_BENCH_POSTGRES_URL is set (a database this script may fill; it
creates and drops sigillo_audit_bench_<random> inside it), e.g.
postgresql+psycopg2://postgres@127.0.0.1:5432/test. Targets: >= 2,000 appends/s for one batched
SQLite writer; verify >= 100,000 entries/s; < 200 MB to verify 1M entries.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from compliance.audit import AuditLog, NewEntry, verify_database  # noqa: E402
from compliance.storage import create_engine_from_url, migrate  # noqa: E402

SEED = bytes(range(32))
SUBJECT = "p1:" + "5a" * 32


def _entry(i: int) -> NewEntry:
    return NewEntry(
        "channel",
        "inbound_message",
        SUBJECT,
        {"message_type": "text", "turn_seq": i, "status": "received"},
    )


def _append(url: str, count: int, batch: int) -> float:
    engine = create_engine_from_url(url)
    log = AuditLog(engine, SEED)
    start = time.perf_counter()
    for i in range(0, count, batch):
        log.append_many([_entry(j) for j in range(i, min(i + batch, count))])
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def _writer(url: str, count: int, ready, go) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(url)
    log = AuditLog(engine, SEED)
    log.append(_entry(-1))  # warm the pool before the clock starts
    ready.release()
    go.wait()
    for i in range(count):
        log.append(_entry(i))
    engine.dispose()


def _concurrent(url: str, writers: int, per_writer: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Semaphore(0), ctx.Event()
    procs = [ctx.Process(target=_writer, args=(url, per_writer, ready, go)) for _ in range(writers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    return time.perf_counter() - start


def _verify_child(url: str, queue) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine_from_url(url)
    public_key = AuditLog(engine, SEED).public_key
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    report = verify_database(engine, public_key)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((report.ok, report.entries, elapsed, before / 1024, after / 1024))


def _verify(url: str) -> tuple[bool, int, float, float, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_verify_child, args=(url, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _fresh_sqlite(directory: str, name: str) -> str:
    url = f"sqlite:///{directory}/{name}.db"
    migrate(create_engine_from_url(url))
    return url


class _Postgres:
    def __init__(self, base: str) -> None:
        self.base = base
        self.admin = create_engine(base, future=True, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def fresh(self) -> str:
        name = f"sigillo_audit_bench_{secrets.token_hex(4)}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        url = make_url(self.base).set(database=name).render_as_string(hide_password=False)
        engine = create_engine_from_url(url)
        migrate(engine)
        engine.dispose()
        return url

    def drop(self) -> None:
        with self.admin.connect() as c:
            for name in self.names:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, for CI smoke runs")
    args = parser.parse_args()
    n_batched, n_single, per_writer, n_verify = (
        (2_000, 200, 100, 20_000) if args.quick else (20_000, 2_000, 500, 1_000_000)
    )
    rows: list[tuple[str, str, str]] = []
    backends: list[tuple[str, object]] = [("SQLite", None)]
    pg_base = os.environ.get("SIGILLO_BENCH_POSTGRES_URL")
    pg = _Postgres(pg_base) if pg_base else None
    if pg:
        backends.append(("PostgreSQL", pg))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for label, server in backends:

                def fresh(name: str, server=server) -> str:  # type: ignore[no-untyped-def]
                    return server.fresh() if server else _fresh_sqlite(tmp, name)

                secs = _append(fresh("batched"), n_batched, 100)
                rows.append(
                    (
                        label,
                        f"append, 1 writer, 100/txn ({n_batched:,})",
                        f"{n_batched / secs:,.0f} entries/s",
                    )
                )
                secs = _append(fresh("single"), n_single, 1)
                rows.append(
                    (
                        label,
                        f"append, 1 writer, 1/txn ({n_single:,})",
                        f"{n_single / secs:,.0f} entries/s",
                    )
                )
                url = fresh("concurrent")
                secs = _concurrent(url, 4, per_writer)
                rows.append(
                    (
                        label,
                        f"append, 4 writer processes, 1/txn ({4 * per_writer:,})",
                        f"{4 * per_writer / secs:,.0f} entries/s",
                    )
                )
                ok, count, secs, _, _ = _verify(url)
                assert ok and count == 4 * per_writer + 4
            url = _fresh_sqlite(tmp, "verify")
            gen = _append(url, n_verify, 10_000)
            rows.append(
                (
                    "SQLite",
                    f"generate {n_verify:,} (10,000/txn)",
                    f"{n_verify / gen:,.0f} entries/s",
                )
            )
            ok, count, secs, base_mb, peak_mb = _verify(url)
            assert ok and count == n_verify, "the benchmark log did not verify"
            rows.append(
                (
                    "SQLite",
                    f"verify {count:,} entries (streaming)",
                    f"{count / secs:,.0f} entries/s ({secs:.1f} s)",
                )
            )
            rows.append(
                (
                    "SQLite",
                    f"verify {count:,}: peak RSS of the verifying process",
                    f"{peak_mb:,.0f} MB total, +{peak_mb - base_mb:,.1f} MB over its "
                    f"baseline after imports",
                )
            )
        finally:
            if pg:
                pg.drop()
    print(
        f"\nAudit log benchmark ({'quick' if args.quick else 'full'}; "
        f"{os.cpu_count()} CPUs; durable commits: SQLite WAL synchronous=FULL)\n"
    )
    print("| backend | measurement | result |\n|---|---|---|")
    for backend, what, result in rows:
        print(f"| {backend} | {what} | {result} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
