"""The /v1/tasks endpoints: authenticated, tenant-scoped proxies to task-core."""
