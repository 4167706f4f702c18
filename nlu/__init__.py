"""Custom Rasa NLU components of the reference assistant (see config.yml)."""
