"""A single-node Apache Kafka 4 broker in KRaft mode, from jars fetched off Maven Central."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from tether_devinfra.paths import cache_dir, repo_root, state_dir
from tether_devinfra.process import pid_alive, port_open, spawn, terminate, wait_for_port

Say = Callable[[str], None]

HOST = "127.0.0.1"

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{host}:{controller_port}
listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners=PLAINTEXT://{host}:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
num.partitions=6
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests create and join many short-lived groups; don't wait 3 s before each first rebalance.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
"""

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka.server.KafkaRaftServer
logger.kafka.level = INFO
"""


def jars_dir() -> Path:
    return cache_dir() / "kafka" / "libs"


def ensure_jars(say: Say) -> Path:
    """Fetch the broker's jars once per pom version (a stamp file records which)."""
    pom = repo_root() / "deploy" / "kafka" / "pom.xml"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    libs = jars_dir()
    stamp = libs.parent / "pom.sha256"
    if stamp.exists() and stamp.read_text() == digest and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed to fetch Kafka's jars from Maven Central")
    say("fetching Apache Kafka jars from Maven Central (first run only, ~60 MB)...")
    shutil.rmtree(libs, ignore_errors=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-Dstyle.color=never",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
        ],
        check=True,
        # Our stdout is the env lines `make test` evals; Maven's chatter goes to stderr.
        stdout=sys.stderr,
    )
    stamp.write_text(digest)
    return libs


class KafkaBroker:
    def __init__(self, port: int = 19092) -> None:
        self.port = port
        self.controller_port = port + 1
        self.home = state_dir() / f"kafka-{port}"
        self.pid_file = self.home / "kafka.pid"
        self.log = self.home / "kafka.out"

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    def running(self) -> bool:
        return pid_alive(self.pid_file) is not None and port_open(HOST, self.port)

    def start(self, say: Say) -> None:
        if self.running():
            say(f"Kafka already running on {self.bootstrap_servers}")
            return
        if port_open(HOST, self.port):
            raise RuntimeError(f"port {self.port} is taken by another process; set another port")
        libs = ensure_jars(say)
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("Java 17+ is needed to run the Kafka broker")
        self.home.mkdir(parents=True, exist_ok=True)
        data = self.home / "data"
        config = self.home / "server.properties"
        config.write_text(
            SERVER_PROPERTIES.format(
                host=HOST, port=self.port, controller_port=self.controller_port, data=data
            )
        )
        log4j = self.home / "log4j2.properties"
        log4j.write_text(LOG4J2.format(log=self.home / "server.log"))
        classpath = f"{libs}/*"
        if not (data / "meta.properties").exists():
            say("formatting Kafka storage (KRaft)...")
            subprocess.run(
                [
                    java,
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    str(uuid.uuid4()).replace("-", "")[:22],
                    "-c",
                    str(config),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        say(f"starting Kafka on {self.bootstrap_servers}...")
        spawn(
            [
                java,
                "-Xms256m",
                "-Xmx768m",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={log4j}",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(config),
            ],
            self.log,
            self.pid_file,
        )
        wait_for_port(HOST, self.port, 90, "Kafka", self.log)
        asyncio.run(self._wait_ready(90))
        say(f"Kafka ready on {self.bootstrap_servers}")

    async def _wait_ready(self, within: float) -> None:
        # The port opens before the broker has registered with its controller; a metadata
        # round trip proves it can serve clients.
        deadline = time.monotonic() + within
        last: Exception | None = None
        while time.monotonic() < deadline:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except Exception as exc:
                last = exc
                await asyncio.sleep(0.5)
            finally:
                await admin.close()
        raise RuntimeError(f"Kafka did not become ready: {last}")

    def stop(self, say: Say) -> None:
        if terminate(self.pid_file, timeout=30):
            say("Kafka stopped")
