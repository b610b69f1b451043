"""cellward's shared package: the CLI, recordings, and (later) the site model, message models and config.

It imports none of the parts (dsp, sensors, controller, sim) at module level; the CLI reaches them lazily.
"""

__version__ = "0.1.0"
