"""Web forms built from the form definitions of ``bpmn/forms`` (see ``workflows.forms``)."""
