"""What each service of a distributed deployment is told about the others."""

from __future__ import annotations

from pathlib import Path

from tether_devinfra.services import SERVICES, Deployment


def test_trello_calls_the_connector_back_and_browsers_return_to_the_gateway(
    tmp_path: Path,
) -> None:
    ports = {spec.name: 9000 + n for n, spec in enumerate(SERVICES)}
    deployment = Deployment(
        kafka_bootstrap_servers="127.0.0.1:19092",
        database_url="postgresql+asyncpg://tether@127.0.0.1:15432/tether",
        run_dir=tmp_path,
        ports=ports,
    )
    [trello] = [spec for spec in SERVICES if spec.name == "trello-connector"]
    env = deployment.env(trello)
    assert env["TETHER_TRELLO_PUBLIC_URL"] == f"http://127.0.0.1:{ports['trello-connector']}"
    assert env["TETHER_TRELLO_OAUTH_CALLBACK_URL"] == (
        f"http://127.0.0.1:{ports['api-gateway']}/v1/connections/trello/callback"
    )


def test_a_read_replica_is_given_to_task_core_and_the_gateway_only(tmp_path: Path) -> None:
    deployment = Deployment(
        kafka_bootstrap_servers="127.0.0.1:19092",
        database_url="postgresql+asyncpg://tether@127.0.0.1:15432/tether",
        run_dir=tmp_path,
        read_database_url="postgresql+asyncpg://tether@127.0.0.1:15433/tether",
    )
    told = {
        spec.name: value
        for spec in SERVICES
        if (value := deployment.env(spec).get(f"{spec.env_prefix}READ_DATABASE_URL"))
    }
    replica = "postgresql+asyncpg://tether@127.0.0.1:15433/tether"
    assert told == {"task-core": replica, "api-gateway": replica}
    without = Deployment("127.0.0.1:19092", deployment.database_url, tmp_path)
    assert not any("READ_DATABASE_URL" in name for s in SERVICES for name in without.env(s))
