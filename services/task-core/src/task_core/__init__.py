"""Task core: owns tasks, their clocks and history; transactional outbox"""
