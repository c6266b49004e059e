"""Data to model: the bundled labeled sets, training, export and cross-source validation.

``python -m training build-default`` rebuilds ``model/default/`` from ``training/data/``;
``python -m training crossval`` prints the leave-one-source-out table.
"""
