"""rasa-sdk custom actions of the reference assistant.

Served by `rasa run actions --actions actions`. Thin by design: each module keeps its logic in
pure functions and wraps them in an Action.
"""
