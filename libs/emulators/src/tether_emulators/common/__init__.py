"""What every provider emulator does alike, written once so that each emulator (Trello, Asana,
and the next one) keeps only its provider's facts: wording, shapes, signatures and headers.

- ``deliveries``: the webhook delivery queue (retries, pause/resume, drop-next, flush, the log);
- ``holds``: withheld answers (performed in full, answered only when released);
- ``outages``: the registry of 5xx outages, for one scope (a board, a project) or everything;
- ``request_log``: the log of API calls that tests count;
- ``gate``: the ASGI gate's plumbing (body replay, outage refusals, the request log);
- ``faults_api``: the control routes over all of the above, under ``/_emulator``;
- ``emulator``, ``provider``, ``app``: what the shared parts need of an emulator and of its
  provider, and the app assembled from them;
- ``deps``, ``limits``, ``sandbox``: dependency helpers, limits read and changed at run time,
  and the ``python -m`` sandboxes' common options;
- ``testing``: helpers for tests (a manual clock, an app on a real socket, a sandbox in its
  own process).

The package README (libs/emulators/README.md) says what each provider supplies.
"""
