import sys

from experiment.cli import main

sys.exit(main())
