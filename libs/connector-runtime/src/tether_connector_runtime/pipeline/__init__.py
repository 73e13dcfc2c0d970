"""The sync pipeline every connector runs, whatever its provider.

- exports: one item per export, recovered by marker after a crash;
- writes: core -> provider, per link in its turn, parked on provider failure;
- observations: provider -> core, change and new base committed together (outbox);
- removals: deletions both ways through the burst brake;
- parking / retries: a failing link waits and retries alone, visibly;
- reconcile: polling repairs missed webhooks.
"""

from tether_connector_runtime.pipeline.context import Pipeline, RetrySchedule

__all__ = ["Pipeline", "RetrySchedule"]
