"""The raw stack as the limit, measured in the same run on the same machine: what one hop of
each part our path is made of costs with nothing of ours in it.

- an aiokafka produce -> consume round trip on the same broker (a topic of its own);
- a bare FastAPI endpoint under uvicorn, called with the same HTTP client (httpx);
- one PostgreSQL commit (an insert in a transaction, asyncpg) on the same server.

Each is sampled one at a time (no load), so their sum is a floor for one change's trip:
gateway -> task-core -> PostgreSQL -> Kafka -> connector -> provider is at least one of each.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.stack import connect
from bench.stats import Percentiles, percentiles
from tether_devinfra.process import spawn, terminate
from tether_devinfra.services import free_port, wait_http
from tether_events.kafka import ensure_topics


@dataclass
class RawStack:
    kafka_round_trip: Percentiles
    http_round_trip: Percentiles
    postgres_commit: Percentiles

    @property
    def floor_p50(self) -> float:
        return self.kafka_round_trip.p50 + self.http_round_trip.p50 + self.postgres_commit.p50


async def kafka_round_trip(bootstrap: str, samples: int) -> Percentiles:
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, b"warm-up")
        await consumer.getone()
        times: list[float] = []
        for _ in range(samples):
            start = time.perf_counter()
            await producer.send_and_wait(topic, b"x")
            await consumer.getone()
            times.append(time.perf_counter() - start)
        return percentiles(times)
    finally:
        await consumer.stop()
        await producer.stop()


async def http_round_trip(run_dir: Path, samples: int) -> Percentiles:
    port = free_port()
    log, pid_file = run_dir / "bare-app.log", run_dir / "bare-app.pid"
    spawn([sys.executable, "-m", "bench.bare_app", str(port)], log, pid_file)
    url = f"http://127.0.0.1:{port}/ping"
    try:
        await asyncio.to_thread(wait_http, url, within=30, log=log, pid_file=pid_file)
        async with httpx.AsyncClient() as client:
            await client.get(url)
            times: list[float] = []
            for _ in range(samples):
                start = time.perf_counter()
                (await client.get(url)).raise_for_status()
                times.append(time.perf_counter() - start)
        return percentiles(times)
    finally:
        terminate(pid_file)


async def postgres_commit(database_url: str, samples: int) -> Percentiles:
    connection = await connect(database_url)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS bench_raw (id serial, at float8)")
        times: list[float] = []
        for _ in range(samples):
            start = time.perf_counter()
            async with connection.transaction():
                await connection.execute("INSERT INTO bench_raw (at) VALUES ($1)", start)
            times.append(time.perf_counter() - start)
        await connection.execute("DROP TABLE bench_raw")
        return percentiles(times)
    finally:
        await connection.close()


async def measure(bootstrap: str, database_url: str, run_dir: Path, samples: int) -> RawStack:
    return RawStack(
        await kafka_round_trip(bootstrap, samples),
        await http_round_trip(run_dir, samples),
        await postgres_commit(database_url, samples),
    )
