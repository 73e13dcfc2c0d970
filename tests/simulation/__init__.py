"""The sync pipeline under a hostile schedule: the machinery of the hypothesis simulation in
``test_pipeline_simulation.py`` (which holds its design, its strategies and the deliberate bugs
it must catch). It spans task-core and the connector runtime, so it lives with the
cross-service tests rather than in either.

- :mod:`~.constants`: tenant, tasks, providers, topics and consumers, crash points, drain bounds;
- :mod:`~.steps`: the steps a schedule is made of, and :class:`~.steps.Crash`;
- :mod:`~.log`: the bus, the embedded bus's durable log read by consumer groups;
- :mod:`~.core`: task-core's own services over its own SQLite schema;
- :mod:`~.side`: one connector, its crash points and restarts;
- :mod:`~.world`: everything together, a step at a time, then drained;
- :mod:`~.interleavings`: two things at once for one link, the first held in a provider call;
- :mod:`~.checks`: what must hold once drained;
- :mod:`~.bench`: the databases and rigs kept for a test, and running one schedule.

Nothing here but the test module imports hypothesis or pytest.
"""
