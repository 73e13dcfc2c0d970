"""An in-memory provider for tests of the pipeline, and the pipeline wired over it.

:class:`FakeProvider` implements the port (:class:`~tether_connector_runtime.port.ProviderAdapter`,
its :class:`FakeSession` and its :class:`FakeWebhooks` dialect) over a dictionary of items, under
any provider name the events know ("trello", "asana", "jira"). What a test controls:

- items in containers and places, each with the marker (link id) it was created with, a
  ``closed`` flag (archived, recoverable) and the provider's own edit times, per field too;
- a person's edits, applied straight to the store (:meth:`FakeProvider.edit`, ``move``,
  ``close``, ``reopen``, ``delete``), each returning the :class:`ItemNotice` the provider's
  webhook would carry; ``changes_since`` names each item changed after a cursor once, with the
  time each field got its current value;
- counters of every call made (``calls``), of every call that took effect (``done``), of the
  faults that fired (``faults_fired``), and the updates written (``updates``);
- faults: the next N calls of a kind raise (``fail_next``; before the call's effect, or after it:
  the provider did it and the answer is lost), every call touching one container raises until
  healed (``fail_container``); a 503 by default, or anything a test gives (a crash);
- refusals: every update that sets a field fails for good (a 400) after writing its other
  fields, until accepted (``refuse``, ``accept``);
- holds: a call of a kind stops inside the provider, before or after its effect, until the test
  releases it (``hold``), so a test decides what runs meanwhile with no timing involved.

:class:`OAuthFakeProvider` is one whose access tokens expire on the test's clock and can be
renewed and revoked (``port.CredentialRenewal``), and whose webhooks each have their own URL
and secret, announced by a handshake made inside the registering call (as Asana's).

The provider's clock is its own (``FakeProvider.now``): it moves one second per effect unless a
test moves it, so edit times are deterministic.

:class:`PipelineRig` (:func:`pipeline_rig`) is a connector's pipeline over a fake and an SQLite
file, wired by the app factory itself, driven by hand: its clock is a :class:`ManualClock`
(retries fall due when the test says), its relay publishes to a :class:`RecordingBus` when the
test says, and :meth:`PipelineRig.restart` builds a new pipeline over the same database, as a
process started after a crash would.

:class:`EventTap` keeps what a connector publishes on an in-process bus, :func:`until` waits
for a condition (never for a time), and :func:`serving` runs a connector's app with clients of
it and of a provider emulator: the scaffolding of each connector's flow tests.

The simulation of the whole pipeline (task-core, connectors and the bus; ``tests/simulation``
at the repository's root) builds on these.
"""

from __future__ import annotations

from tether_connector_runtime.testing.event_tap import EventTap, serving, until
from tether_connector_runtime.testing.fake_items import T0, FakeItem, Update
from tether_connector_runtime.testing.fake_oauth import OAuthFakeProvider
from tether_connector_runtime.testing.fake_provider import FakeCredentials, FakeProvider
from tether_connector_runtime.testing.fake_session import FakeSession
from tether_connector_runtime.testing.fake_webhooks import (
    HANDSHAKE_HEADER,
    SIGNATURE_HEADER,
    FakeWebhooks,
)
from tether_connector_runtime.testing.faults import (
    CallKind,
    ErrorFactory,
    Fault,
    Hold,
    When,
    revoked,
    unavailable,
)
from tether_connector_runtime.testing.rig import (
    TEST_TOKEN_KEY,
    ManualClock,
    PipelineRig,
    RecordingBus,
    pipeline_rig,
)

__all__ = [
    "HANDSHAKE_HEADER",
    "SIGNATURE_HEADER",
    "T0",
    "TEST_TOKEN_KEY",
    "CallKind",
    "ErrorFactory",
    "EventTap",
    "FakeCredentials",
    "FakeItem",
    "FakeProvider",
    "FakeSession",
    "FakeWebhooks",
    "Fault",
    "Hold",
    "ManualClock",
    "OAuthFakeProvider",
    "PipelineRig",
    "RecordingBus",
    "Update",
    "When",
    "pipeline_rig",
    "revoked",
    "serving",
    "unavailable",
    "until",
]
