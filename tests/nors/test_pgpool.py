from __future__ import annotations

import threading
from typing import Any

import psycopg2
import pytest
from django.db import OperationalError, connection

from nors.lib.pgpool.base import ConnectionPool, PooledConnection

pytestmark = pytest.mark.django_db


@pytest.fixture
def connect() -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's (set DATABASE_URL)")
    # The backend's own parameters, already without its pool options.
    params = connection.get_connection_params()
    return lambda: psycopg2.connect(connection_factory=PooledConnection, **params)


def _backend_pid(conn: PooledConnection) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_it_hands_the_same_connection_to_the_next_request(connect: Any) -> None:
    pool = ConnectionPool(connect, size=2, timeout=1)
    first = pool.getconn()
    pid = _backend_pid(first)
    first.commit()
    pool.putconn(first)
    again = pool.getconn()
    assert _backend_pid(again) == pid
    pool.putconn(again)
    pool.close()


def test_it_rolls_back_what_a_request_left_open(connect: Any) -> None:
    pool = ConnectionPool(connect, size=1, timeout=1)
    conn = pool.getconn()
    with conn.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE leftover (x int)")
    pool.putconn(conn)  # still inside the transaction that created it
    conn = pool.getconn()
    assert conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    with conn.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.leftover')")
        assert cursor.fetchone()[0] is None
    pool.putconn(conn)
    pool.close()


def test_it_waits_for_a_free_connection_then_gives_up(connect: Any) -> None:
    pool = ConnectionPool(connect, size=1, timeout=0.2)
    held = pool.getconn()
    with pytest.raises(OperationalError, match="no database connection came free"):
        pool.getconn()
    released = threading.Timer(0.05, pool.putconn, args=(held,))
    released.start()
    pool.timeout = 2
    conn = pool.getconn()  # waits for the other request to finish
    pool.putconn(conn)
    pool.close()


def test_it_replaces_a_connection_the_server_dropped(connect: Any) -> None:
    pool = ConnectionPool(connect, size=1, timeout=1)
    conn = pool.getconn()
    pid = _backend_pid(conn)
    conn.commit()
    pool.putconn(conn)
    conn._idle_since = 0.0  # idle long enough to be checked before reuse
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    fresh = pool.getconn()
    assert _backend_pid(fresh) != pid
    pool.putconn(fresh)
    pool.close()


def test_a_closed_pool_closes_connections_as_they_come_back(connect: Any) -> None:
    pool = ConnectionPool(connect, size=2, timeout=1)
    idle, busy = pool.getconn(), pool.getconn()
    pool.putconn(idle)
    pool.close()
    assert idle.closed
    pool.putconn(busy)
    assert busy.closed
