"""A Jira connection made through OAuth 2.0 (3LO), end to end in memory: the consent's return
makes the connection (site and cloud id from accessible-resources); calls go through
Atlassian's gateway (``/ex/jira/<cloud id>``); the project's dynamic webhook calls the app's
one URL with a JWT signed with the client secret; a webhook nearing its 30-day expiry is
refreshed (checked with a GET, since refresh answers 200 whatever it did) and one Jira no
longer has is registered again."""

from __future__ import annotations

from datetime import timedelta

from tether_connector_runtime.pipeline import reconcile
from tether_events import ProviderItemChanged

from .conftest import ADMIN, Harness


def ada(h: Harness) -> str:
    return next(u.account_id for u in h.emu.store.users.values() if u.email == ADMIN["email"])


async def test_a_consented_connection_exports_through_the_gateway(harness: Harness) -> None:
    connection = await harness.consent(ada(harness))
    assert connection["account_id"].endswith("@tether-emulated.atlassian.net")
    assert connection["delivery"] == "webhook"
    issue_id = await harness.export(connection["id"])
    created = [
        r for r in harness.emu.requests if r["method"] == "POST" and r["path"].endswith("/issue")
    ]
    assert [r["path"] for r in created] == [
        f"/ex/jira/{harness.emu.site.cloud_id}/rest/api/3/issue"
    ]
    assert harness.emu.store.issues[issue_id].summary == "Plan the launch"


async def test_a_dynamic_webhooks_jwt_delivery_is_taken(harness: Harness) -> None:
    connection = await harness.consent(ada(harness))
    issue_id = await harness.export(connection["id"])
    (hook,) = harness.emu.webhooks.values()
    assert (hook.kind, hook.url, hook.jql) == (
        "dynamic",
        "http://tether.test/webhooks/jira",
        "project = OPS",
    )
    await harness.person_edits(issue_id, summary="Launch day")
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    (change,) = harness.tap.of(ProviderItemChanged)
    assert change.new_values == {"title": "Launch day"}
    deliveries = (await harness.jira.get("/_emulator/webhooks/deliveries")).json()
    assert [d["status"] for d in deliveries] == ["delivered"]


async def test_a_webhook_near_its_expiry_is_refreshed_and_checked(harness: Harness) -> None:
    connection = await harness.consent(ada(harness))
    await harness.export(connection["id"])
    (hook,) = harness.emu.webhooks.values()
    first_expiry = hook.expires_at
    # Sixteen days on, here and at Jira: less than the fifteen-day margin is left.
    await harness.jira.post("/_emulator/clock/advance", json={"seconds": 16 * 86400})
    pipeline = harness.state.pipeline
    real_now = pipeline.now
    pipeline.now = lambda: real_now() + timedelta(days=16)

    await reconcile.reconcile_once(pipeline)

    assert list(harness.emu.webhooks.values()) == [hook]
    assert hook.expires_at is not None
    assert first_expiry is not None
    # Thirty days from Jira's clock at the refresh (which the test moved sixteen days on).
    assert timedelta(days=16) <= hook.expires_at - first_expiry < timedelta(days=16, minutes=1)
    calls = [(r["method"], r["path"].rsplit("/rest/api/3", 1)[-1]) for r in harness.emu.requests]
    assert ("PUT", "/webhook/refresh") in calls


async def test_a_webhook_jira_dropped_is_registered_again(harness: Harness) -> None:
    connection = await harness.consent(ada(harness))
    issue_id = await harness.export(connection["id"])
    harness.emu.webhooks.clear()  # expired, or deleted by an administrator
    pipeline = harness.state.pipeline
    real_now = pipeline.now
    pipeline.now = lambda: real_now() + timedelta(days=16)

    await reconcile.reconcile_once(pipeline)

    (hook,) = harness.emu.webhooks.values()
    assert hook.jql == "project = OPS"
    await harness.person_edits(issue_id, summary="Heard again")
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))


def later(h: Harness, hours: float) -> None:
    """The connector's clock moved on (its access token expired); Jira's is not."""
    real = h.state.pipeline.now
    h.state.pipeline.now = h.state.connections.now = lambda: real() + timedelta(hours=hours)


async def test_a_rotation_whose_answer_was_lost_recovers(harness: Harness) -> None:
    """Jira rotated the refresh token but the answer never arrived (a crash mid-refresh, as
    the connector sees it): the stored, now spent, token is offered again within Atlassian's
    reuse leeway and the connection goes on."""
    connection = await harness.consent(ada(harness))
    issue_id = await harness.export(connection["id"])
    await harness.person_edits(issue_id, summary="Edited while the token expired")
    await harness.until(lambda: bool(harness.tap.of(ProviderItemChanged)))
    harness.to_jira.lose.add("/oauth/token")
    later(harness, 2)

    await reconcile.reconcile_once(harness.state.pipeline)  # the refresh's answer is lost
    assert "/oauth/token" not in harness.to_jira.lose
    await harness.person_edits(issue_id, summary="After the lost answer")
    await reconcile.reconcile_once(harness.state.pipeline)  # the spent token, reused

    await harness.until(lambda: len(harness.tap.of(ProviderItemChanged)) == 2)
    listed = await harness.api.get(f"/internal/v1/tenants/acme/connections/{connection['id']}")
    assert listed.json()["status"] == "active"


async def test_a_spent_token_reused_after_the_leeway_breaks_the_connection(
    harness: Harness,
) -> None:
    """Past the leeway Atlassian revokes the whole chain: the connection breaks, visibly,
    until the person connects again."""
    connection = await harness.consent(ada(harness))
    await harness.export(connection["id"])
    harness.to_jira.lose.add("/oauth/token")
    later(harness, 2)
    await reconcile.reconcile_once(harness.state.pipeline)  # the refresh's answer is lost
    await harness.jira.post("/_emulator/clock/advance", json={"seconds": 11 * 60})

    await reconcile.reconcile_once(harness.state.pipeline)

    listed = await harness.api.get(f"/internal/v1/tenants/acme/connections/{connection['id']}")
    assert listed.json()["status"] == "broken"
    assert "invalid_grant" in listed.json()["error"]
