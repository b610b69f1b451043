"""Simulator: stands in for the radios (emitters, propagation, receivers) in tests, CI and the demo."""
