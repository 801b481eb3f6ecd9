"""Build the Kaggle submission and prove it plays: ``submission/`` and ``submission.tar.gz``.

    python scripts/package.py --weights runs/<name>/<run>/checkpoints/latest.pt
    python scripts/package.py --agent random            # no weights: the random-masked policy
    python scripts/package.py --weights W --full         # prove it on the default 64x64 rules

The command line of :mod:`training.submission.package`, whose docstring lists the steps.
"""

import sys

from training.submission.package import main

if __name__ == "__main__":
    sys.exit(main())
