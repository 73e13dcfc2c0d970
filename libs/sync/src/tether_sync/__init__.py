"""The sync engine: per-link clocks, echo suppression, three-way field merge, conflicts (no I/O)"""
