"""The connector pipeline under a hostile schedule: the machinery of the hypothesis simulation
in ``libs/connector-runtime/tests/test_runtime_pipeline_simulation.py`` (which holds its design,
its strategies and the deliberate bugs it must catch).

- :mod:`~.constants`: tenant, tasks, providers, topics and consumers, crash points, drain bounds;
- :mod:`~.steps`: the steps a schedule is made of, and :class:`~.steps.Crash`;
- :mod:`~.log`: the bus, a durable log read by offset;
- :mod:`~.core`: task-core's part, over the real merge engine;
- :mod:`~.side`: one connector, its crash points and restarts;
- :mod:`~.world`: everything together, a step at a time, then drained;
- :mod:`~.interleavings`: two things at once for one link, the first held in a provider call;
- :mod:`~.checks`: what must hold once drained;
- :mod:`~.bench`: the rigs kept for a test, and running one schedule.

Nothing here imports hypothesis or pytest.
"""
