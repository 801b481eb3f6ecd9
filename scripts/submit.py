"""Submit ``submission.tar.gz`` to Kaggle with the ``kaggle`` package's API.

    python scripts/submit.py [--archive submission.tar.gz] [--competition lux-ai-season-2] [--message ...]

The command line of :mod:`training.submission.kaggle_api`, whose docstring says what it checks and how it fails.
"""

import sys

from training.submission.kaggle_api import main

if __name__ == "__main__":
    sys.exit(main())
