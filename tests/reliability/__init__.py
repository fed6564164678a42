"""Reliability: the system as separate processes, killed and cut off from its database."""
