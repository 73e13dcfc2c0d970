"""Local Apache Kafka and PostgreSQL for development, make up and the test suite"""
