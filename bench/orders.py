"""Ordering under load: many service centres ordering one scarce part at once.

    .venv/bin/python bench/orders.py                                   # SQLite, a temporary file
    .venv/bin/python bench/orders.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

Places ``--orders`` orders from ``--threads`` threads for a part with ``--stock`` in stock and
prints throughput, latency and whether exactly the stock was reserved. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="")
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--stock", type=int, default=100)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="benchside-orders-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.auth.models import User
    from app.db import make_engine
    from app.orders import services
    from app.orders.models import OrderItem
    from app.roles import Role
    from parts_catalog.importer import import_release
    from parts_catalog.models import StockLevel
    from tests.database import drop_everything, migrate
    from tests.factories import make_user
    from tests.parts_catalog.releases import BASE_PARTS, base_release, part

    drop_everything(url)
    migrate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        parts = [*BASE_PARTS, part("1-555-000-11", "SCARCE BOARD", stock_qty=str(args.stock))]
        import_release(session, path=base_release(workdir / "r", parts=parts), label="bench")
        first = make_user(session, role=Role.TECHNICIAN)
        users = [first.id] + [
            make_user(session, role=Role.TECHNICIAN, centre=first.centre).id
            for _ in range(args.threads - 1)
        ]
        session.commit()

    latencies: list[float] = []
    retries = [0]
    lock = threading.Lock()
    per_thread = args.orders // args.threads

    def work(user_id: int) -> None:
        with Session(engine) as session:
            user = session.get(User, user_id)
            for _ in range(per_thread):
                started = time.perf_counter()
                while True:
                    try:
                        services.place(
                            session,
                            user,
                            [services.Asked("1-555-000-11", 1), services.Asked("A-2072-533-A", 1)],
                        )  # type: ignore[arg-type]
                        session.commit()
                        break
                    except Exception as exc:  # SQLite: "database is locked" under write contention
                        session.rollback()
                        if "locked" not in str(exc):
                            raise
                        with lock:
                            retries[0] += 1
                        time.sleep(0.005)
                with lock:
                    latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        reserved = session.scalar(
            select(func.sum(OrderItem.reserved)).where(OrderItem.part_number == "1-555-000-11")
        )
        left = session.get(StockLevel, "155500011").quantity  # type: ignore[union-attr]
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    verdict = "exact" if reserved == args.stock and left == 0 else "WRONG"
    where = url.split("@")[-1]
    print(f"Ordering benchmark on {where}: {len(ordered)} orders from {args.threads} threads")
    print(f"  throughput {len(ordered) / elapsed:.1f} orders/s; latency p50 {p50:.1f} ms, ")
    print(f"  p99 {p99:.1f} ms; {retries[0]} lock retries")
    print(f"  stock {args.stock}: reserved {reserved}, left {left} -> {verdict}")


if __name__ == "__main__":
    main()
