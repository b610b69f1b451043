"""Disconnection requests: cases, the two-person workflow, order tracking and retention of detection data."""
