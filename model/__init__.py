"""Comment text to spam and abuse scores: plain Python shared by serving and training.

Entry points: ``model.scorer.load_default_model()`` / ``load_model(path)`` give a ``Scorer``;
``model.text`` has ``strip_invisible()`` and ``visible_length()``; ``model.language`` has
``detect_language()``. Nothing here imports Flask or loads anything at import time.
"""
