"""The case engine over SpiffWorkflow: spec registry, script environment, instance store,
timers and their sweep, history and replay. Imports no Flask and nothing from ``app``."""
