"""The reference blocker node: obeys signed controller commands to switch one blocker unit's bands."""
