"""``python -m gifqa`` is the same as the ``gifqa`` console script."""

import sys

from gifqa.cli.main import main

sys.exit(main())
