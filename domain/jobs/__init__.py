"""Jobs: the kinds of asynchronous work (kinds.py) and their lifecycle rules (service.py)."""
