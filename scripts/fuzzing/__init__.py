"""The fuzzing pipeline behind ./suite fuzz: workers, corpus merges, crash triage, reports."""
