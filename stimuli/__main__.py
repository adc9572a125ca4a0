import sys

from stimuli.cli import main

# The guard matters: worker processes (spawn/forkserver) re-import __main__.
if __name__ == "__main__":
    sys.exit(main())
