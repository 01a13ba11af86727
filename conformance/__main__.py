import sys

from lossmask.cli import main

sys.exit(main())
