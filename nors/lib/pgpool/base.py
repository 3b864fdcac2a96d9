"""Django's PostgreSQL backend (psycopg2) with a connection pool in each process.

Under ASGI every request runs in a context of its own, with a database connection of its own:
persistent connections are never reused there, so each request would pay for a new
PostgreSQL backend (about a third of a webhook's time). Django pools connections only with
psycopg 3; this plugs a small blocking pool of psycopg2 connections into the same hooks.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psycopg2
import psycopg2.extensions
from django.db import OperationalError
from django.db.backends.postgresql import base

IDLE_CHECK_AFTER_S = 5.0


class PooledConnection(psycopg2.extensions.connection):
    """A psycopg2 connection that knows its pool, as Django's pool hooks expect."""

    _pool: ConnectionPool
    _idle_since: float


class ConnectionPool:
    def __init__(self, connect: Any, *, size: int, timeout: float) -> None:
        self._connect = connect
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[PooledConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.timeout = timeout

    def open(self) -> None:
        """Django calls this before each checkout; connections are made on demand."""

    def getconn(self) -> PooledConnection:
        if not self._slots.acquire(timeout=self.timeout):
            raise OperationalError(f"no database connection came free in {self.timeout:g}s")
        try:
            return self._take_idle() or self._new()
        except BaseException:
            self._slots.release()
            raise

    def close(self) -> None:
        """Closes idle connections now, and the ones in use when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def putconn(self, conn: PooledConnection) -> None:
        try:
            if not self._closed and self._reusable(conn):
                conn._idle_since = time.monotonic()
                with self._lock:
                    self._idle.append(conn)
            else:
                conn.close()
        finally:
            self._slots.release()

    def _new(self) -> PooledConnection:
        conn: PooledConnection = self._connect()
        conn._pool = self
        return conn

    def _take_idle(self) -> PooledConnection | None:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                conn = self._idle.pop()
            if self._alive(conn):
                return conn
            conn.close()

    @staticmethod
    def _alive(conn: PooledConnection) -> bool:
        if conn.closed:
            return False
        if time.monotonic() - conn._idle_since < IDLE_CHECK_AFTER_S:
            return True
        # Idle a while: the server may have restarted or dropped it since.
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except psycopg2.Error:
            return False

    @staticmethod
    def _reusable(conn: PooledConnection) -> bool:
        if conn.closed:
            return False
        status = conn.info.transaction_status
        if status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            return True
        if status in (
            psycopg2.extensions.TRANSACTION_STATUS_INTRANS,
            psycopg2.extensions.TRANSACTION_STATUS_INERROR,
        ):
            # Never hand a half-finished transaction to the next request.
            try:
                conn.rollback()
                return True
            except psycopg2.Error:
                return False
        return False


_pools: dict[tuple[int, str, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> ConnectionPool:
        # One pool per process (a fork starts afresh) and per database (tests switch to theirs).
        key = (os.getpid(), self.alias, str(self.settings_dict["NAME"]))
        with _pools_lock:
            if key not in _pools:
                _pools[key] = self._make_pool()
            return _pools[key]

    def close_pool(self) -> None:
        # Django calls this before creating or dropping a database; by then NAME may already
        # name another database, so every pool of this alias goes.
        with _pools_lock:
            keys = [key for key in _pools if key[1] == self.alias]
            closing = [_pools.pop(key) for key in keys]
        for pool in closing:
            pool.close()

    def _make_pool(self) -> ConnectionPool:
        options = self.settings_dict["OPTIONS"]
        params = self.get_connection_params()

        def connect() -> PooledConnection:
            conn = psycopg2.connect(connection_factory=PooledConnection, **params)
            # Once per connection instead of once per request: time zone and role.
            if self._configure_connection(conn):  # type: ignore[attr-defined]
                conn.commit()
            return conn

        return ConnectionPool(
            connect,
            size=int(options.get("pool_size", 8)),
            timeout=float(options.get("pool_timeout", 10)),
        )

    def get_connection_params(self) -> dict[str, Any]:
        params = dict(super().get_connection_params())
        for key in ("pool_size", "pool_timeout"):
            params.pop(key, None)
        return params
