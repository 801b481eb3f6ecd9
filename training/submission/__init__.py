"""The Kaggle submission: ``package`` builds ``submission/`` and ``submission.tar.gz`` and proves them
in a protocol game (``python scripts/package.py``); ``kaggle_api`` uploads the archive
(``python scripts/submit.py``).
"""
